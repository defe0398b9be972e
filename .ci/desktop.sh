#!/usr/bin/env bash
# Runs a command inside a private desktop session made of real components:
#   a private D-Bus session bus (no service activation, so nothing starts behind our back),
#   gnome-keyring-daemon as the Secret Service, unlocked with a throwaway password,
#   headless Chromium as $BROWSER (and as xdg-open, for pkg/browser),
#   Xvfb (an X display, whose clipboard the tray owns; the tests read it with xclip), dunst
#   (the notification server) and a StatusNotifierWatcher for the tray: the headless
#   status-notifier-watcher, or, with
#   HOMEYTRAY_DESKTOP_PANEL=1, a real xfce4-panel that shows the tray icon (make screenshot).
# HOME and the XDG folders point into a temp folder, so the tests never touch the real
# user's keychain or config. Every process is killed by PID on exit.
set -euo pipefail
ci=$(cd "$(dirname "$0")" && pwd)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/homeytray-test.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  set +e # a failing clean-up must not turn a green run red
  if [ -f "$RUN/chromium.pids" ]; then
    while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null; done < "$RUN/chromium.pids"
  fi
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null; done
  wait 2>/dev/null
  # A failed run keeps its daemons' logs for the summary of .ci/test.sh (HOMEYTRAY_TEST_LOGS).
  if [ "$rc" != 0 ] && [ -n "${HOMEYTRAY_TEST_LOGS:-}" ]; then
    local keep="$HOMEYTRAY_TEST_LOGS/desktop-${RUN##*.}"
    mkdir -p "$keep" && cp "$RUN"/*.log "$keep/" 2>/dev/null
  fi
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

has_name() {
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner "$1" | grep -q true
}

dbus-daemon --nofork --config-file="$ci/session-bus.conf" --address="unix:path=$XDG_RUNTIME_DIR/bus" >"$RUN/dbus.log" 2>&1 &
pids+=($!)
export DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG_RUNTIME_DIR/bus"
wait_for 10 test -S "$XDG_RUNTIME_DIR/bus"

# The tray's desktop: without its tools (.ci/deps.sh installs them) the rest still runs, and the
# tray tests fail under CI=true or skip loudly elsewhere (HOMEYTRAY_TEST_TRAYHOST stays unset).
x_tools=(Xvfb dunst xclip)
if [ -n "${HOMEYTRAY_DESKTOP_PANEL:-}" ]; then x_tools+=(xfce4-panel); else x_tools+=(status-notifier-watcher); fi
x=1
for tool in "${x_tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "desktop: $tool is missing (run .ci/deps.sh): no tray tests" >&2; x=; }
done
if [ -n "$x" ]; then
  # The X server starts while the keyring does (it is the slowest to come up). -displayfd picks
  # a free display number and writes it to fd 3 once the server accepts clients.
  Xvfb -displayfd 3 -screen 0 1024x600x24 -nolisten tcp 3>"$RUN/xvfb.display" >"$RUN/xvfb.log" 2>&1 &
  pids+=($!)
  # The tray host comes before the trays of the tests: a tray registers with a watcher that
  # comes later too (e2e/trayhost_test.go tests that on buses of its own), but the tests here
  # expect the icon registered from the start. The headless watcher needs no X.
  if [ -z "${HOMEYTRAY_DESKTOP_PANEL:-}" ]; then
    status-notifier-watcher >"$RUN/watcher.log" 2>&1 &
    pids+=($!)
  fi
fi

# The password must reach the daemon's own stdin (bash gives background jobs /dev/null), with no
# trailing newline (it would become part of the password).
export HOMEYTRAY_TEST_KEYRING_PASSWORD=homeytray-test
gnome-keyring-daemon --foreground --unlock --components=secrets \
  < <(printf %s "$HOMEYTRAY_TEST_KEYRING_PASSWORD") >"$RUN/keyring.log" 2>&1 &
pids+=($!)
wait_for 10 has_name org.freedesktop.secrets

if [ -n "$x" ]; then
  wait_for 20 test -s "$RUN/xvfb.display"
  export DISPLAY=":$(head -n1 "$RUN/xvfb.display")"
  dunst >"$RUN/dunst.log" 2>&1 &
  pids+=($!)
  if [ -n "${HOMEYTRAY_DESKTOP_PANEL:-}" ]; then
    # xfce4-panel is the StatusNotifierWatcher and the host. Its settings come from xfconfd,
    # which the private bus cannot activate: start it by hand, with a panel that holds only the
    # tray plugin (which runs in a child of the panel, wrapper-2.0, that ends with it).
    mkdir -p "$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml"
    cp "$ci/xfce4-panel.xml" "$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml/"
    xfconfd=$(ls /usr/lib/*/xfce4/xfconf/xfconfd 2>/dev/null | head -n1)
    "$xfconfd" >"$RUN/xfconfd.log" 2>&1 &
    pids+=($!)
    wait_for 10 has_name org.xfce.Xfconf
    xfce4-panel --disable-wm-check >"$RUN/panel.log" 2>&1 &
    pids+=($!)
  fi
  wait_for 10 has_name org.kde.StatusNotifierWatcher
  wait_for 10 has_name org.freedesktop.Notifications
  export HOMEYTRAY_TEST_TRAYHOST=1
fi

export HOMEYTRAY_TEST_RUN=$RUN CHROMIUM_PIDFILE=$RUN/chromium.pids
export BROWSER="$ci/browser" PATH="$ci/bin:$PATH"
export HOMEYTRAY_TEST_DESKTOP=1
"$@"
