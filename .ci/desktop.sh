#!/usr/bin/env bash
# Runs a command inside a private desktop session made of real components:
#   a private D-Bus session bus (no service activation, so nothing starts behind our back),
#   gnome-keyring-daemon as the Secret Service, unlocked with a throwaway password,
#   headless Chromium as $BROWSER (and as xdg-open, for pkg/browser).
# HOME and the XDG folders point into a temp folder, so the tests never touch the real
# user's keychain or config. Every process is killed by PID on exit.
set -euo pipefail
ci=$(cd "$(dirname "$0")" && pwd)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/homeytray-test.XXXXXX")
pids=()
cleanup() {
  set +e # a failing clean-up must not turn a green run red
  if [ -f "$RUN/chromium.pids" ]; then
    while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null; done < "$RUN/chromium.pids"
  fi
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null; done
  wait 2>/dev/null
  # Chromium's helpers may take a moment to let go of their profile folders.
  for _ in 1 2 3 4 5 6 7 8 9 10; do rm -rf "$RUN" 2>/dev/null && break; sleep 0.2; done
}
trap cleanup EXIT

# Keep Go's caches where they are before HOME moves.
export GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
export npm_config_cache="${npm_config_cache:-$(npm config get cache 2>/dev/null || echo "$HOME/.npm")}"
export HOMEYTRAY_NPM_CACHE="${HOMEYTRAY_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homeytray-conformance}"
export HOME=$RUN/home XDG_RUNTIME_DIR=$RUN/xdg XDG_CONFIG_HOME=$RUN/home/.config \
       XDG_DATA_HOME=$RUN/home/.local/share XDG_CACHE_HOME=$RUN/home/.cache NO_AT_BRIDGE=1
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS BROWSER

wait_for() { # wait_for SECONDS TEST...
  local n=$(( $1 * 20 )); shift
  while ! "$@" >/dev/null 2>&1; do
    n=$((n-1)); [ $n -gt 0 ] || { echo "desktop: timed out waiting for: $*" >&2; return 1; }
    sleep 0.05
  done
}

dbus-daemon --nofork --config-file="$ci/session-bus.conf" --address="unix:path=$XDG_RUNTIME_DIR/bus" >"$RUN/dbus.log" 2>&1 &
pids+=($!)
export DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG_RUNTIME_DIR/bus"
wait_for 10 test -S "$XDG_RUNTIME_DIR/bus"

# The password must reach the daemon's own stdin (bash gives background jobs /dev/null), with no
# trailing newline (it would become part of the password).
export HOMEYTRAY_TEST_KEYRING_PASSWORD=homeytray-test
gnome-keyring-daemon --foreground --unlock --components=secrets \
  < <(printf %s "$HOMEYTRAY_TEST_KEYRING_PASSWORD") >"$RUN/keyring.log" 2>&1 &
pids+=($!)
has_secrets() {
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets | grep -q true
}
wait_for 10 has_secrets

export HOMEYTRAY_TEST_RUN=$RUN CHROMIUM_PIDFILE=$RUN/chromium.pids
export BROWSER="$ci/browser" PATH="$ci/bin:$PATH"
export HOMEYTRAY_TEST_DESKTOP=1
"$@"
