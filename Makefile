# homeytray — `make demo` runs the app on the built-in emulator; `make test` runs every test.
GO      ?= go
BIN     := bin/homeytray
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DATE    ?= $(shell date -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s) +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
# A Web API client built in by whoever ships the binary (README: "Packaging with a built-in
# client"): make build (or dist) BUILTIN_CLIENT_ID=<id> BUILTIN_CLIENT_SECRET_FILE=<path>
# [BUILTIN_REDIRECT_URI=<uri>, default http://localhost:47719/callback]. The shell reads the
# secret from its file inside the build command, so make never prints it.
BUILTIN_CLIENT_ID ?=
BUILTIN_CLIENT_SECRET_FILE ?=
BUILTIN_REDIRECT_URI ?=
ifneq ($(BUILTIN_CLIENT_ID),)
ifeq ($(wildcard $(BUILTIN_CLIENT_SECRET_FILE)),)
$(error BUILTIN_CLIENT_ID needs BUILTIN_CLIENT_SECRET_FILE, a file that holds the client secret)
endif
LDFLAGS += -X main.builtinClientID=$(BUILTIN_CLIENT_ID) -X main.builtinRedirectURI=$(BUILTIN_REDIRECT_URI) -X main.builtinClientSecret=$$(tr -d '\r\n' < $(BUILTIN_CLIENT_SECRET_FILE))
endif
# Fuzz/bench knobs
BENCHTIME ?= 40x

.PHONY: all build build-linux build-windows cross test test-wine deps demo bench vet clean icons winres package-linux package-darwin screenshot bench-compare fuzz man dist test-packages

all: build

# Pure Go on Linux and Windows: a static binary starts ~3 ms faster than one that loads libc,
# and start-up is most of what a warm `homeytray token` costs.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

build-linux:
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# Windows: a GUI binary (-H=windowsgui: no console window behind the tray). Icon, manifest and
# version info come from rsrc_windows_amd64.syso (see `make winres`).
build-windows:
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags "$(LDFLAGS) -H=windowsgui" -o $(BIN).exe .

# Every step of the suite (.ci/test.sh): installs what is missing (Debian, as root), vet and the
# cross builds, every Go test with the race detector inside a private desktop session (a D-Bus
# session with a real unlocked gnome-keyring, Xvfb, headless Chromium as the browser), the Windows
# build under Wine, the fuzz targets and the packages; then checks that nothing it started is
# still running. A failing run ends with the names of what failed and the logs that explain it.
test:
	bash .ci/test.sh

# The Windows build for real, under Wine on Xvfb (about 45 s warm): the Windows unit tests, then
# the .exe's commands, the Credential Manager and the tray (.ci/wine.sh; log in bin/wine-log/).
test-wine: deps
	bash .ci/wine.sh

# The other platforms must keep compiling (per-OS files are only checked when built for them).
# macOS: fyne.io/systray needs cgo and the macOS SDK there, so the tray and main cannot be built on
# Linux; the packages without it are vetted for darwin, the rest needs a Mac (make package-darwin).
cross: build-linux build-windows
	GOOS=windows $(GO) vet ./...
	GOOS=windows $(GO) vet -tags wine ./internal/winetest/
	CGO_ENABLED=0 GOOS=darwin $(GO) vet ./auth/... ./homey/... ./assets/... ./internal/fsutil/ ./internal/config/ ./internal/failure/ ./internal/sanitize/ ./internal/ipc/ ./internal/desktop/ ./internal/desktop/macclip/

deps:
	bash .ci/deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed" >&2; exit 1; }
	$(GO) vet ./...

# The tray against the built-in emulator, with its own config folder and keychain namespace:
# "Log in…" signs in through your browser, "Copy bearer token" and "Devices" work, and
# `bin/homeytray demo token` in a terminal is answered by it. Nothing touches a real sign-in.
demo: build
	./$(BIN) demo

# Benchmarks of the token path (whole processes, HTTP calls counted), inside the same private
# desktop session as the tests; realtime: a capability PUT to its event, ours and the official
# client's (median and p90 of 100 changes), in-process and as `homeytray api` -> `homeytray watch`.
bench: deps
	bash .ci/desktop.sh $(GO) test -run '^$$' -bench 'Process|VsKeychainRead|ViaTray' -benchtime $(BENCHTIME) -count 1 ./e2e
	$(GO) test -run '^$$' -bench 'Devices' -benchtime 200x -count 1 ./homey
	$(GO) test -run '^$$' -bench 'RealtimeLatency' -benchtime 100x -count 1 ./homey
	bash .ci/desktop.sh $(GO) test -run '^$$' -bench '^BenchmarkWatchLatency$$' -benchtime 100x -count 1 ./e2e
	$(MAKE) bench-compare

# homeytray against Athom's official JS client (homey-api@3.20.0 under node, installed once from
# npm) on the same emulator: warm token, cold token, sign-in -> devices; medians, HTTP calls, floors.
bench-compare: deps
	bash .ci/desktop.sh $(GO) test -run '^$$' -bench '^BenchmarkOfficialComparison$$' -benchtime 10x -count 1 -timeout 5m ./e2e

# Each fuzz target for FUZZTIME (go test -fuzz takes one target per run); seeds are in testdata/fuzz/.
# An execution count, not a duration: Go 1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when a -fuzztime duration ends while a worker is busy
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
FUZZTIME ?= 20000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCallback$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzParsePaste$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzPasteRoundTrip$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzTokenError$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzSetupForm$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzResponse$$' -fuzztime $(FUZZTIME) ./homey
	$(GO) test -run '^$$' -fuzz '^FuzzHomeyJSON$$' -fuzztime $(FUZZTIME) ./homey
	$(GO) test -run '^$$' -fuzz '^FuzzDiscoverPacket$$' -fuzztime $(FUZZTIME) ./homey
	$(GO) test -run '^$$' -fuzz '^FuzzLine$$' -fuzztime $(FUZZTIME) ./internal/sanitize
	$(GO) test -run '^$$' -fuzz '^FuzzLoadConfig$$' -fuzztime $(FUZZTIME) ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzEvent$$' -fuzztime $(FUZZTIME) ./internal/desktop/wlclip
	$(GO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME) ./internal/desktop/wlclip
	$(GO) test -run '^$$' -fuzz '^FuzzRealtimePacket$$' -fuzztime $(FUZZTIME) ./homey

# The real tray, signed in to the demo, with its menu and Devices submenu open in a real panel
# (xfce4-panel under Xvfb, on the private session of .ci/desktop.sh): writes docs/tray.png.
screenshot: build
	bash .ci/deps.sh screenshot
	HOMEYTRAY_DESKTOP_PANEL=1 bash .ci/desktop.sh bash .ci/screenshot.sh $(BIN) docs/tray.png

# One man page per command, generated from the command tree itself (cobra/doc): docs/man/*.1.
man:
	rm -rf docs/man
	$(GO) run ./internal/mangen docs/man $(VERSION)

# Redraws assets/tray-* and the build/ icons from the shapes of assets/icon.svg (about 12 s).
icons:
	$(GO) run assets/gen/main.go

# Windows icon, manifest and version info -> rsrc_windows_amd64.syso (the committed one says 0.0.0).
winres:
	$(GO) run github.com/tc-hib/go-winres@v0.3.3 make --in build/windows/winres.json --arch amd64 --out rsrc --product-version $(VERSION) --file-version $(VERSION)

package-linux: build-linux
	desktop-file-validate build/linux/homeytray.desktop
	install -Dm755 $(BIN) dist/linux/usr/bin/homeytray
	install -Dm644 build/linux/homeytray.desktop dist/linux/usr/share/applications/homeytray.desktop
	install -Dm644 build/linux/homeytray.png dist/linux/usr/share/icons/hicolor/256x256/apps/homeytray.png

# Release files in dist/: for linux amd64/arm64/armv7 and windows amd64/arm64 the binary (the
# build line above, LDFLAGS included) in a .tar.gz / .zip with README.md and LICENSE; .deb and
# .rpm packages for Linux (nfpm, linked into internal/dist only) with the desktop entry, icons,
# man pages, completions and the systemd user unit of `homeytray serve`; SHA256SUMS.
# The helpers are built as the linux/amd64 binary is (CGO_ENABLED=0 -trimpath): one compile of
# the packages serves both, which matters on a cold build cache.
dist:
	rm -rf dist
	CGO_ENABLED=0 $(GO) run -trimpath ./internal/mangen dist/.man $(VERSION)
	CGO_ENABLED=0 $(GO) run -trimpath ./internal/dist -out dist -man dist/.man -version '$(VERSION)' -date '$(DATE)' -ldflags "$(LDFLAGS)"
	rm -rf dist/.man

# The packages as a user gets them (.ci/packages.sh): lintian, dpkg -i / -r on this machine,
# --version, desktop-file-validate, man, bash completion, systemd-analyze; rpm -qpl; the
# archives' lists and SHA256SUMS. Installs what it needs (Debian, as root): deps.sh packages.
test-packages: dist
	bash .ci/deps.sh packages
	bash .ci/packages.sh dist

# On a Mac only: fyne.io/systray needs cgo there.
package-darwin:
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/homeytray.app/Contents/MacOS/homeytray .
	mkdir -p dist/homeytray.app/Contents/Resources
	sed 's/@VERSION@/$(VERSION)/g' build/darwin/Info.plist > dist/homeytray.app/Contents/Info.plist
	cp build/darwin/homeytray.icns dist/homeytray.app/Contents/Resources/

clean:
	rm -rf bin dist
