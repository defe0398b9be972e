#!/usr/bin/env bash
# Installs what the tests need on Debian, as root, only when something is missing:
# a D-Bus daemon, gnome-keyring (the real Secret Service), Chromium (the real browser of the
# sign-in test), and for the tray: Xvfb, dunst (notifications), xclip (the tests read the
# clipboard the tray owns), a headless StatusNotifierWatcher and desktop-file-validate (the
# autostart entry); CopyQ, sway, weston and wl-clipboard for the clipboard tests.
# xfce4-panel: a real panel as the tray host (e2e/trayhost_test.go; also `make screenshot`).
# `deps.sh screenshot` also installs what `make screenshot` needs: xdotool (the mouse) and
# ImageMagick (the picture).
# KeePassXC, python3-pykeepass and kwalletd5 (the other Secret Service providers).
# Wine (make test-wine): wine, wine64, mingw binutils, xdotool and ImageMagick.
# `deps.sh packages` installs what `make test-packages` needs: lintian, rpm (rpm -qpl), man-db
# (man -w), systemd (systemd-analyze) and unzip (unzip -Z1).
# Node.js/npm come with the machine; the conformance and realtime tests install homey-api and
# the reference Socket.IO 2 server (npm socket.io 2.5.1) themselves (internal/officialjs).
set -euo pipefail
need=()
command -v dbus-daemon >/dev/null || need+=(dbus-daemon dbus-bin)
command -v dbus-monitor >/dev/null || need+=(dbus-bin)
command -v gdbus >/dev/null || need+=(libglib2.0-bin)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v chromium >/dev/null || need+=(chromium)
command -v secret-tool >/dev/null || need+=(libsecret-tools)
command -v Xvfb >/dev/null || need+=(xvfb)
command -v dunst >/dev/null || need+=(dunst)
command -v xclip >/dev/null || need+=(xclip)
command -v status-notifier-watcher >/dev/null || need+=(haskell-status-notifier-item-utils)
# A tray host that comes late or restarts (e2e/trayhost_test.go): xfce4-panel with its xfconfd.
command -v xfce4-panel >/dev/null || need+=(xfce4-panel)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
# The other Secret Service providers (e2e/keychain_providers_test.go, .ci/keychain-provider.sh):
# KeePassXC with Debian's python3-pykeepass to expose a group of its database, and KWallet.
command -v keepassxc >/dev/null || need+=(keepassxc)
/usr/bin/python3 -c 'import pykeepass' 2>/dev/null || need+=(python3-pykeepass)
command -v kwalletd5 >/dev/null || need+=(libkf5wallet-bin)
# make test-wine (.ci/wine.sh): the Windows build under Wine, a linker for its test-only
# bcryptprimitives.dll, and the tray's mouse and screenshot.
command -v wine >/dev/null || need+=(wine)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v x86_64-w64-mingw32-ld >/dev/null || need+=(binutils-mingw-w64-x86-64)
command -v xdotool >/dev/null || need+=(xdotool)
[ -x /usr/bin/import ] || need+=(imagemagick)
command -v curl >/dev/null || need+=(curl) # the Windows setup page, driven over HTTP
command -v python3 >/dev/null || need+=(python3)
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion) # the completion test sources it, as a shell does
command -v jq >/dev/null || need+=(jq) # e2e/apikeys_test.go: homeytray api | jq, the issue's own check
# The in-process clipboard owners (internal/desktop and its x11clip, wlclip) and the tray's copy
# (e2e/tray_clipboard_test.go) against real clipboard programs: CopyQ (a clipboard manager that
# honours the secret mark), headless sway (a wlroots compositor with data-control, run as nobody
# by the test), wl-clipboard (wl-copy/wl-paste; wl-copy execs cat; also the tray's way onto a
# compositor without data-control), weston (a compositor without data-control, as GNOME has
# none). setpriv (util-linux) drops to nobody.
command -v copyq >/dev/null || need+=(copyq)
command -v sway >/dev/null || need+=(sway)
command -v wl-paste >/dev/null || need+=(wl-clipboard)
command -v weston >/dev/null || need+=(weston)
command -v setpriv >/dev/null || need+=(util-linux)
if [ "${1:-}" = screenshot ]; then
  command -v xdotool >/dev/null || need+=(xdotool) # also for Wine, above
  # /usr/bin: some machines have a stand-in `convert` elsewhere on PATH.
  [ -x /usr/bin/convert ] || need+=(imagemagick)
fi
if [ "${1:-}" = packages ]; then
  command -v lintian >/dev/null || need+=(lintian)
  command -v rpm >/dev/null || need+=(rpm)
  command -v man >/dev/null || need+=(man-db)
  command -v systemd-analyze >/dev/null || need+=(systemd)
  command -v unzip >/dev/null || need+=(unzip)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: missing ${need[*]}: install them (Debian: apt-get install ${need[*]})" >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
