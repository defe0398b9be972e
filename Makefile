# homeytray — `make demo` runs the app on the built-in emulator; `make test` runs every test.
GO      ?= go
BIN     := bin/homeytray
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Fuzz/bench knobs
BENCHTIME ?= 40x

.PHONY: all build build-windows cross test deps demo bench vet clean

all: build

# Pure Go on Linux and Windows: a static binary starts ~3 ms faster than one that loads libc,
# and start-up is most of what a warm `homeytray token` costs.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# Cross build for Windows: a console program for now (the command-line face); the tray release
# decides how the GUI build (-H=windowsgui) and the console coexist.
build-windows:
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN).exe .

# Installs what is missing (Debian, as root), starts a private D-Bus session with a real unlocked
# gnome-keyring and headless Chromium as the browser, then runs every test with the race detector.
test: deps vet cross
	bash .ci/desktop.sh $(GO) test -race -count=1 -timeout 15m ./...

# The other platforms must keep compiling (per-OS files are only checked when built for them).
cross: build-windows
	GOOS=windows $(GO) vet ./...
	CGO_ENABLED=0 GOOS=darwin $(GO) vet ./...

deps:
	bash .ci/deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed" >&2; exit 1; }
	$(GO) vet ./...

# The whole flow against the emulator, with its own config folder and keychain namespace: sign in
# in your browser, print a bearer, list the devices. Nothing touches a real sign-in.
demo: build
	./$(BIN) demo login
	./$(BIN) demo status
	./$(BIN) demo token --format json
	./$(BIN) demo devices

# Benchmarks of the token path (whole processes, HTTP calls counted), inside the same private
# desktop session as the tests.
bench: deps
	bash .ci/desktop.sh $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 1 .

clean:
	rm -rf bin
