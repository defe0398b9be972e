#!/usr/bin/env bash
# make screenshot: the real tray, signed in to the demo emulator, in a real panel (xfce4-panel
# under Xvfb), with its menu and the Devices submenu open, written as a PNG.
# Run it inside the panel variant of the harness:
#   HOMEYTRAY_DESKTOP_PANEL=1 bash .ci/desktop.sh bash .ci/screenshot.sh BINARY OUT.png
set -euo pipefail
bin=$(realpath "$1")
out=$2
run=$HOMEYTRAY_TEST_RUN

wait_for() { # wait_for SECONDS TEST...
  local n=$(( $1 * 20 )); shift
  while ! "$@" >/dev/null 2>&1; do
    n=$((n-1)); [ $n -gt 0 ] || { echo "screenshot: timed out waiting for: $*" >&2; return 1; }
    sleep 0.05
  done
}

# Sign in to the demo (headless Chromium plays the browser), then run the demo tray.
"$bin" demo login >"$run/demo-login.log" 2>&1 || { cat "$run/demo-login.log" >&2; exit 1; }
"$bin" demo >"$run/tray.log" 2>&1 &
tray=$!
trap 'kill "$tray" 2>/dev/null; wait "$tray" 2>/dev/null; true' EXIT
name="org.kde.StatusNotifierItem-$tray-1"
signed_in() {
  gdbus call --session --dest "$name" --object-path /StatusNotifierItem/menu \
    --method com.canonical.dbusmenu.GetLayout -- 0 1 '[]' | grep -q "Signed in as"
}
wait_for 15 signed_in || { cat "$run/tray.log" >&2; exit 1; }
registered() {
  gdbus call --session --dest org.kde.StatusNotifierWatcher --object-path /StatusNotifierWatcher \
    --method org.freedesktop.DBus.Properties.Get org.kde.StatusNotifierWatcher RegisteredStatusNotifierItems |
    grep -q ':'
}
wait_for 10 registered

# The panel's tray plugin runs in its own window (wrapper-2.0): the icon is in its middle.
plugin() { xdotool search --onlyvisible --name wrapper-2.0 | head -n1; }
wait_for 10 plugin
eval "$(xdotool getwindowgeometry --shell "$(plugin)")"
icon_x=$((X + WIDTH / 2)) icon_y=$((Y + HEIGHT / 2))
top=$((Y + HEIGHT + 2)) # below the panel and its border
sleep 0.5 # the panel draws the icon

# A right click opens the menu (a left click copies a bearer).
xdotool mousemove "$icon_x" "$icon_y" click 3
# Wait for the menu: something below the panel that is not the backdrop.
menu_box() {
  import -window root png:- | convert - -crop "1024x$((600 - top))+0+$top" +repage \
    -fuzz 2% -trim -format '%w %h' info:
}
has_menu() { read -r w h <<<"$(menu_box)"; [ "${w:-1}" -gt 50 ] && [ "${h:-1}" -gt 100 ]; }
wait_for 10 has_menu
# Open the Devices submenu with the keyboard, as a user could: the status line is disabled, so
# the first Down is Copy bearer token; the third is Devices.
xdotool key Down Down Down Right
sleep 0.5 # GTK maps the submenu

import -window root "$run/screen.png"
read -r bw bh bx by <<<"$(convert "$run/screen.png" -crop "1024x$((600 - top))+0+$top" +repage \
  -fuzz 2% -trim -format '%w %h %X %Y' info:)"
bx=${bx#+} by=${by#+}
left=$((bx > 24 ? bx - 24 : 0))
height=$((top + by + bh + 24))
mkdir -p "$(dirname "$out")"
convert "$run/screen.png" -crop "$((1024 - left))x${height}+${left}+0" +repage "$out"
echo "screenshot: wrote $out ($((1024 - left))x$height)"
