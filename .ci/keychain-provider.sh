#!/usr/bin/env bash
# Starts one Secret Service provider, headless, in the foreground, on the session bus in
# $DBUS_SESSION_BUS_ADDRESS (a private one: e2e/keychain_providers_test.go starts a bus per
# provider and this script as a child, and ends it by PID with SIGKILL; KeePassXC ignores
# SIGTERM while a hidden dialog is open).
#   keychain-provider.sh keepassxc DIR          a new database with an exposed group (unlocked)
#   keychain-provider.sh keepassxc-nogroup DIR  a new database with Secret Service on, no group exposed
#   keychain-provider.sh kwallet DIR            kwalletd5 with the committed empty-password wallet
#   keychain-provider.sh kwallet-nowallet DIR   kwalletd5 with its Secret Service API on, no wallet yet
# DIR is the provider's own HOME (config, data). What each needs is in docs/desktop-tests.md#providers.
# The python is Debian's (/usr/bin/python3: python3-pykeepass).
set -euo pipefail
ci=$(cd "$(dirname "$0")" && pwd)
provider=$1 dir=$2
export HOME=$dir XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data XDG_CACHE_HOME=$dir/cache
export QT_QPA_PLATFORM=offscreen # no X needed
unset DISPLAY WAYLAND_DISPLAY
# XDG_RUNTIME_DIR too: KeePassXC keeps its single-instance socket there, and a second instance
# would hand its database to the first one and exit.
export XDG_RUNTIME_DIR=$dir/run
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
: "${DBUS_SESSION_BUS_ADDRESS:?a private session bus}"

case $provider in
keepassxc|keepassxc-nogroup)
  pw=homeytray-test # a throwaway database of this test alone
  mkdir -p "$XDG_CONFIG_HOME/keepassxc"
  # Secret Service on, no confirmation dialogs (the default asks for every new process), no
  # notifications, no update check, nothing remembered from earlier runs.
  cat >"$XDG_CONFIG_HOME/keepassxc/keepassxc.ini" <<'EOF'
[General]
OpenPreviousDatabasesOnStartup=false
RememberLastDatabases=false
RememberLastKeyFiles=false

[GUI]
CheckForUpdates=false
ApplicationTheme=classic

[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmAccessItem=false
ConfirmDeleteItem=false
EOF
  printf '%s\n%s\n' "$pw" "$pw" | keepassxc-cli db-create -p "$dir/homeytray.kdbx" >/dev/null
  if [ "$provider" = keepassxc ]; then
    # KeePassXC 2.7 keeps the exposed group in the database: Meta/CustomData item
    # FDO_SECRETS_EXPOSED_GROUP = "{<group UUID>}".
    PW=$pw DB=$dir/homeytray.kdbx /usr/bin/python3 - <<'EOF'
import os
from lxml import etree
from pykeepass import PyKeePass
kp = PyKeePass(os.environ["DB"], password=os.environ["PW"])
group = kp.add_group(kp.root_group, "homeytray")
meta = kp.tree.find("Meta")
data = meta.find("CustomData")
if data is None:
    data = etree.SubElement(meta, "CustomData")
item = etree.SubElement(data, "Item")
etree.SubElement(item, "Key").text = "FDO_SECRETS_EXPOSED_GROUP"
etree.SubElement(item, "Value").text = "{%s}" % group.uuid
kp.save()
EOF
  fi
  exec keepassxc --pw-stdin "$dir/homeytray.kdbx" <<<"$pw"
  ;;
kwallet|kwallet-nowallet)
  # A wallet is made by kwalletd's creation dialog, once; the committed one (created under Xvfb
  # with xdotool: "Classic, blowfish" → Finish → empty password → OK) has an empty password, which
  # go-keyring's Unlock opens without a prompt.
  mkdir -p "$XDG_DATA_HOME/kwalletd"
  if [ "$provider" = kwallet ]; then
    cp "$ci/kwallet/kdewallet.kwl" "$ci/kwallet/kdewallet.salt" "$XDG_DATA_HOME/kwalletd/"
  fi
  cat >"$XDG_CONFIG_HOME/kwalletrc" <<'EOF'
[Wallet]
Enabled=true
First Use=false
Use One Wallet=true
Default Wallet=kdewallet
Close When Idle=false
Prompt on Open=false
Launch Manager=false

[org.freedesktop.secrets]
apiEnabled=true
EOF
  exec kwalletd5
  ;;
*)
  echo "keychain-provider: unknown provider $provider" >&2
  exit 2
  ;;
esac
