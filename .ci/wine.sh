#!/usr/bin/env bash
# The Windows build, run for real under Wine (make test-wine; docs/desktop-tests.md#wine):
#   1. the Windows unit tests of ./tray/ ./auth/ ./homey/ ./assets/ ./internal/fsutil/ ./internal/desktop/
#      (GOOS=windows go test -exec wine; the Win32 clipboard among them);
#   2. the real homeytray.exe, built as `make build-windows` builds it (-H=windowsgui): --version,
#      a usage error, sign-in through $BROWSER (headless Chromium), the Credential Manager items,
#      logout, token, devices, status;
#   3. the tray in Wine's virtual desktop on Xvfb: the icon is up, a left click puts the bearer on
#      the X clipboard, `token` is answered by the tray without reading the Credential Manager,
#      and `autostart on|status|off` shows in the Run key. A screenshot goes to the log folder;
#   4. a new user's first start of the tray (no client, not signed in) against the emulator: it
#      opens the setup page by itself; forged forms are refused and store nothing; the form, the
#      emulator's sign-in and the callback, driven over HTTP, leave it signed in.
# A throwaway WINEPREFIX (and HOME) per run; everything started is ended by PID (wineserver -k for
# the prefix's processes). Exit codes and outputs are checked, never timings. A missing tool
# fails under CI=true, and skips loudly elsewhere (.ci/deps.sh installs them).
# Secrets: the token goes to files in the run folder, which is deleted; the log never has it.
set -euo pipefail
ci=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$ci")
LOG=${HOMEYTRAY_WINE_LOG:-$root/bin/wine-log}
started=$SECONDS

missing=()
for tool in wine wineboot wineserver x86_64-w64-mingw32-as x86_64-w64-mingw32-ld Xvfb xdotool xclip chromium curl python3; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
[ -x /usr/bin/import ] || missing+=(import) # ImageMagick's; /usr/bin, as deps.sh checks convert
if [ ${#missing[@]} -gt 0 ]; then
  echo "wine: missing ${missing[*]} (run .ci/deps.sh)" >&2
  [ "${CI:-}" = true ] && { echo "wine: FAILED: nothing may be skipped under CI=true" >&2; exit 1; }
  echo "wine: SKIPPED: the Windows build was not run" >&2
  exit 0
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/homeytray-wine.XXXXXX")
rm -rf "$LOG" && mkdir -p "$LOG"
pids=()
export WINEPREFIX=$RUN/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=d" WINEARCH=win64
cleanup() {
  set +e
  wineserver -k 2>/dev/null # every process of this prefix, the tray and explorer included
  if [ -f "$RUN/chromium.pids" ]; then
    while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null; done < "$RUN/chromium.pids"
  fi
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null; done
  wait 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do rm -rf "$RUN" 2>/dev/null && break; sleep 0.2; done
}
trap cleanup EXIT

# Keep Go's caches where they are before HOME moves (Wine links the prefix's folders into HOME).
export GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
export HOME=$RUN/home
mkdir -p "$HOME"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR

checks=0
fail() { echo "wine: FAILED: $*" >&2; echo "FAILED: $*" >>"$LOG/wine.log"; echo "wine: the log is in $LOG" >&2; exit 1; }
ok() { checks=$((checks+1)); echo "ok   $*" >>"$LOG/wine.log"; }
step() { echo "wine: $* ($((SECONDS-started)) s)" >&2; echo "== $*" >>"$LOG/wine.log"; }
# redact: the log keeps stderr of the commands, without the sign-in's state parameter.
redact() { sed -E 's/state=[^&[:space:]]*/state=…/g'; }

# hx NAME ARGS...: runs homeytray.exe as a user would (</dev/null: the GUI binary's output and
# exit code still reach us). stdout in $RUN/NAME.out, stderr in $RUN/NAME.err; rc in $rc.
hx() {
  name=$1; shift # global: want_rc and its message name the last command
  set +e
  wine "$RUN/homeytray.exe" "$@" </dev/null >"$RUN/$name.out" 2>"$RUN/$name.err"
  rc=$?
  set -e
  { echo "\$ homeytray $* -> exit $rc"; redact <"$RUN/$name.err"; } >>"$LOG/wine.log"
}
# want_rc WANT: the last hx ended with exit code WANT.
want_rc() { [ "$rc" = "$1" ] || fail "$name: exit $rc, want $1 ($(redact <"$RUN/$name.err" | head -n3 | tr '\n' ' '))"; }
out_has() { grep -q -- "$2" "$RUN/$1.out" || fail "$1: stdout does not say '$2'"; }
err_has() { grep -q -- "$2" "$RUN/$1.err" || fail "$1: stderr does not say '$2'"; }
cred_items() { # the demo's items in the prefix's Credential Manager
  wine reg query 'HKCU\Software\Wine\Credential Manager' 2>/dev/null | grep -c 'Generic: homeytray-demo:' || true
}
run_key() { wine reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' 2>/dev/null || true; }

step "a fresh Wine prefix"
DISPLAY= wineboot -i >"$LOG/wineboot.log" 2>&1
wineserver -w
# Go >= 1.22 binaries need bcryptprimitives.dll!ProcessPrng, which Wine 8 lacks; Windows 10+
# has it. A test-only forwarder DLL (.ci/wine/bcryptprimitives.s) stands in for it.
x86_64-w64-mingw32-as -o "$RUN/bcryptprimitives.o" "$ci/wine/bcryptprimitives.s"
x86_64-w64-mingw32-ld -shared -e DllMain -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  "$RUN/bcryptprimitives.o" "$ci/wine/bcryptprimitives.def"
ok "prefix with the ProcessPrng forwarder"

step "Windows unit tests under Wine"
# -tags wine and -checklinkname=0: internal/winetest's work-around for os.RemoveAll on Wine 8.
set +e
(cd "$root" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -tags wine -ldflags=-checklinkname=0 \
  -exec wine -count=1 -v -timeout 5m ./tray/ ./auth/ ./homey/ ./assets/ ./internal/fsutil/ ./internal/desktop/) >"$LOG/go-test.log" 2>&1
rc=$?
set -e
grep -E '^(ok|FAIL|---)|^panic' "$LOG/go-test.log" | grep -v -- '--- PASS' >&2 || true
[ "$rc" = 0 ] || fail "go test under Wine (exit $rc): see $LOG/go-test.log"
if grep -q -- '--- SKIP' "$LOG/go-test.log"; then
  grep -- '--- SKIP' "$LOG/go-test.log" >&2
  [ "${CI:-}" = true ] && fail "a Windows test was skipped under CI=true"
fi
ok "go test -exec wine: $(grep -c -- '--- PASS' "$LOG/go-test.log") tests passed"

step "build homeytray.exe as make build-windows does"
make -C "$root" --no-print-directory -s build-windows BIN="$RUN/homeytray" >"$LOG/build.log" 2>&1 ||
  fail "make build-windows: see $LOG/build.log"

step "the command line"
export HOMEYTRAY_TEST_RUN=$RUN CHROMIUM_PIDFILE=$RUN/chromium.pids
# free_port: a loopback port nobody listens on now. The demo's sign-in gets one of its own
# rather than its default (47720): another run's tests on this machine may hold that one.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export HOMEYTRAY_REDIRECT_URI="http://localhost:$(free_port)/callback"
export BROWSER="$ci/wine/browser.sh" # a Unix path: Wine starts it as a Unix program
hx version --version; want_rc 0; out_has version '^homeytray '; ok "--version"
hx usage --no-such-flag; want_rc 2; err_has usage "unknown flag"; ok "a usage error: exit 2"
hx token0 demo token; want_rc 4; err_has token0 "not signed in"; ok "demo token, not signed in: exit 4"
[ "$(cred_items)" = 0 ] || fail "Credential Manager items before the sign-in"
hx login demo login; want_rc 0; out_has login "Signed in as"; ok "demo login through \$BROWSER"
grep -q 'browser: http' "$RUN/browser.log" 2>/dev/null || fail "the sign-in did not go through \$BROWSER"
n=$(cred_items); [ "$n" -ge 1 ] || fail "no Credential Manager item after the sign-in"
ok "$n Credential Manager item(s) after the sign-in"
hx logout demo logout; want_rc 0
n=$(cred_items); [ "$n" = 0 ] || fail "$n Credential Manager item(s) left after logout"
ok "logout removed the Credential Manager items"
hx token1 demo token; want_rc 4; ok "demo token after logout: exit 4"
hx login2 demo login; want_rc 0; ok "demo login again"
# The CLI reads the Credential Manager itself when no tray runs: WINEDEBUG=+cred shows it (this
# also proves that the check below can see a read).
WINEDEBUG=+cred hx token2 demo token; want_rc 0
[ "$(grep -c . "$RUN/token2.out")" = 1 ] && [ -s "$RUN/token2.out" ] || fail "demo token printed no single line"
reads=$(grep -c 'CredReadW' "$RUN/token2.err" || true)
[ "$reads" -ge 1 ] || fail "WINEDEBUG=+cred shows no CredReadW from a token without a tray"
ok "demo token: one line, $reads CredReadW calls (no tray)"
hx devices demo devices; want_rc 0; out_has devices '^NAME'
[ "$(grep -c . "$RUN/devices.out")" -ge 2 ] || fail "demo devices listed no device"
ok "demo devices: $(($(grep -c . "$RUN/devices.out")-1)) devices"
hx status demo status; want_rc 0; out_has status "Signed in as"; out_has status "Windows Credential Manager"
ok "demo status"

step "the tray in Wine's virtual desktop on Xvfb"
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$RUN/xvfb.display" >"$LOG/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$RUN/xvfb.display" ] && break; sleep 0.1; done
[ -s "$RUN/xvfb.display" ] || fail "Xvfb did not start"
export DISPLAY=":$(head -n1 "$RUN/xvfb.display")"
wine explorer /desktop=shell,1024x768 "$RUN/homeytray.exe" demo </dev/null >"$LOG/tray.log" 2>&1 &
pids+=($!)
# icon: the notification area is the right end of the 20-pixel taskbar at the bottom; the
# taskbar is grey and white, the icon is not. Prints "PIXELS X Y" (its coloured pixels, centre).
icon() {
  import -window root "$RUN/screen.png" 2>/dev/null || { echo "0 0 0"; return; }
  convert "$RUN/screen.png" -crop 124x20+900+748 +repage txt:- | awk -F'[ ,:()]+' '
    NR > 1 && !($3 == $4 && $4 == $5) { n++; x += $1; y += $2 }
    END { if (n) printf "%d %d %d\n", n, x/n + 900, y/n + 748; else print "0 0 0" }'
}
read -r px ix iy < <(echo 0 0 0)
for _ in $(seq 1 60); do
  read -r px ix iy < <(icon)
  [ "$px" -ge 64 ] && break
  sleep 0.5
done
[ "$px" -ge 64 ] || { cp "$RUN/screen.png" "$LOG/wine-tray.png" 2>/dev/null; fail "no tray icon in the taskbar"; }
ok "the tray icon is up ($px coloured pixels at $ix,$iy)"
# The tray must be serving before the checks below; a ping is what the CLI does first.
for _ in $(seq 1 40); do
  hx status2 demo status
  [ "$rc" = 0 ] && break
  sleep 0.5
done
WINEDEBUG=+cred hx token3 demo token; want_rc 0
[ -s "$RUN/token3.out" ] || fail "demo token with the tray printed nothing"
reads=$(grep -c 'CredReadW' "$RUN/token3.err" || true)
[ "$reads" = 0 ] || fail "demo token read the Credential Manager ($reads CredReadW) although the tray runs"
ok "demo token answered by the tray: no CredReadW"
if xclip -o -selection clipboard 2>/dev/null | cmp -s - <(tr -d '\r\n' <"$RUN/token3.out"); then
  fail "the bearer was on the clipboard before the click"
fi
xdotool mousemove "$ix" "$iy" click 1
copied=
for _ in $(seq 1 40); do
  if xclip -o -selection clipboard 2>/dev/null | cmp -s - <(tr -d '\r\n' <"$RUN/token3.out"); then copied=1; break; fi
  sleep 0.25
done
[ -n "$copied" ] || fail "a left click on the icon did not put the bearer on the X clipboard"
ok "a left click put the bearer on the X clipboard"
import -window root "$LOG/wine-tray.png" && ok "screenshot: $LOG/wine-tray.png"
hx aon demo autostart on; want_rc 0
run_key | grep -q 'homeytray-demo.*homeytray\.exe' || fail "autostart on: no homeytray-demo value in the Run key"
hx astatus demo autostart status; want_rc 0; out_has astatus "starts when you log in"
ok "autostart on: in the Run key, status says so"
hx aoff demo autostart off; want_rc 0
! run_key | grep -q 'homeytray-demo' || fail "autostart off: the Run key still has homeytray-demo"
hx astatus2 demo autostart status; want_rc 0; out_has astatus2 "does not start"
ok "autostart off: gone from the Run key"

step "a new user's first start: the setup page from the tray"
# The tray alone (not the demo), in the real namespace of this throwaway prefix, with no Web API
# client set up and nobody signed in: its first start opens the setup page by itself. The cloud is
# the emulator, run by the Linux build; the page is driven over HTTP, as a browser would.
wineserver -k 2>/dev/null || true # the demo tray and its virtual desktop
wineserver -w
(cd "$root" && CGO_ENABLED=0 go build -o "$RUN/homeytray-linux" .) >>"$LOG/build.log" 2>&1 ||
  fail "go build of the Linux binary: see $LOG/build.log"
port=$(free_port)
"$RUN/homeytray-linux" demo emulator --addr 127.0.0.1:0 --redirect-uri "http://localhost:$port/callback" \
  >"$RUN/emulator.json" 2>"$LOG/emulator.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$RUN/emulator.json" ] && break; sleep 0.1; done
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$RUN/emulator.json" "$1"; }
cloud=$(json cloud) || fail "the emulator printed no JSON line"
client_id=$(json client_id)
json client_secret >"$RUN/client.secret"
printf '#!/bin/sh\nprintf "%%s\\n" "$1" >>"%s"\n' "$RUN/opened" >"$RUN/record.sh"
chmod +x "$RUN/record.sh"
homey_items() { wine reg query 'HKCU\Software\Wine\Credential Manager' 2>/dev/null | grep -c 'Generic: homeytray:' || true; }
[ "$(homey_items)" = 0 ] || fail "Credential Manager items of homeytray before the setup"
ATHOM_CLOUD_API_BASEURL=$cloud HOMEYTRAY_REDIRECT_URI="http://localhost:$port/callback" BROWSER=$RUN/record.sh \
  wine explorer /desktop=shell,1024x768 "$RUN/homeytray.exe" </dev/null >"$LOG/tray-setup.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do [ -s "$RUN/opened" ] && break; sleep 0.5; done
[ -s "$RUN/opened" ] || fail "the tray's first start opened no page"
setup_url=$(head -n1 "$RUN/opened")
token=$(python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["token"][0])' "$setup_url") ||
  fail "the first start opened a page without the setup token"
case $setup_url in "http://localhost:$port/"*) ;; *) fail "the first start opened $(echo "$setup_url" | sed 's/token=.*/token=…/'), not the setup page on the loopback listener" ;; esac
ok "the first start opened the setup page on localhost:$port"
code=$(curl -s -o "$RUN/setup.html" -w '%{http_code}' "$setup_url")
[ "$code" = 200 ] && grep -q 'name="client_secret"' "$RUN/setup.html" || fail "GET of the setup page: $code, no form"
grep -q "http://localhost:$port/callback" "$RUN/setup.html" || fail "the setup page does not show the redirect URL to register"
ok "the setup page: the form and the redirect URL to register"
# post ORIGIN TOKEN [HOST]: the form as a browser would send it; prints the status code.
post() {
  local host=${3:-localhost:$port}
  curl -s -o "$RUN/post.html" -w '%{http_code}' -H "Host: $host" ${1:+-H "Origin: $1"} \
    --data-urlencode "token=$2" --data-urlencode "client_id=$client_id" \
    --data-urlencode "client_secret@$RUN/client.secret" "http://127.0.0.1:$port${setup_url#http://localhost:$port}" || echo 000
}
own="http://localhost:$port"
for c in "no token|$own|" "a wrong token|$own|${token//?/A}" "another origin|http://evil.example|$token" \
         "no origin||$token" "another host|http://evil.example|$token|evil.example"; do
  IFS='|' read -r what origin tok host <<<"$c"
  code=$(post "$origin" "$tok" "$host")
  [ "$code" -ge 400 ] || fail "a form with $what was accepted ($code)"
done
[ "$(homey_items)" = 0 ] || fail "a refused form left a Credential Manager item"
ok "forms with no token, a wrong token, another origin, no origin, another host: refused, nothing stored"
code=$(post "$own" "$token")
[ "$code" = 303 ] || fail "the setup form: $code, want 303 on to the sign-in"
# The browser's part: the page that leads on (a refresh to Athom's authorization page), the
# emulator's consent (a redirect) and the callback on the tray's listener.
next=$(curl -s "$setup_url" | sed -n 's/.*http-equiv="refresh" content="0; url=\([^"]*\)".*/\1/p' | sed 's/&amp;/\&/g')
case $next in "$cloud"/*) ;; *) fail "after the setup, the page does not lead on to the emulator's sign-in" ;; esac
code=$(curl -s -L -o "$RUN/done.html" -w '%{http_code}' "$next")
[ "$code" = 200 ] && grep -q 'Signed in' "$RUN/done.html" || fail "the sign-in after the setup: $code, no 'Signed in' page"
ok "setup → the emulator's sign-in → the callback: signed in"
for _ in $(seq 1 40); do
  hx status3 status
  [ "$rc" = 0 ] && grep -q 'Signed in as' "$RUN/status3.out" && break
  sleep 0.5
done
want_rc 0; out_has status3 "Signed in as"
n=$(homey_items); [ "$n" -ge 2 ] || fail "$n Credential Manager item(s) after the setup and sign-in, want the client secret and the sign-in"
ok "status: signed in; $n Credential Manager items (the client secret among them)"
hx token4 token; want_rc 0
[ "$(grep -c . "$RUN/token4.out")" = 1 ] || fail "token after the setup printed no single line"
ok "token after the setup: one line"
hx devices2 devices; want_rc 0; out_has devices2 '^NAME'; ok "devices after the setup"
if grep -qF "$client_id" "$WINEPREFIX"/drive_c/users/*/AppData/Roaming/homeytray/config.json 2>/dev/null; then
  ok "the settings hold the client id"
else
  fail "the settings do not hold the client id"
fi
if grep -rqF -f "$RUN/client.secret" "$WINEPREFIX/drive_c/users" 2>/dev/null; then
  fail "the client secret is in a file under C:\users"
fi
ok "the client secret is in no file under C:\users"

cp "$RUN/browser.log" "$LOG/" 2>/dev/null || true
# The bearers printed above and the client secret must appear nowhere in the log folder (go test
# output included).
for f in token2 token3 token4; do tr -d '\r\n' <"$RUN/$f.out" >"$RUN/$f.secret"; done
if grep -rqF -f "$RUN/token2.secret" -f "$RUN/token3.secret" -f "$RUN/token4.secret" "$LOG"; then fail "a bearer appears in $LOG"; fi
if grep -rqF -f "$RUN/client.secret" "$LOG"; then fail "the client secret appears in $LOG"; fi
ok "no bearer and no client secret in the log folder"

step "done"
echo "wine: all $checks checks passed in $((SECONDS-started)) s (log: $LOG)" | tee -a "$LOG/wine.log" >&2
