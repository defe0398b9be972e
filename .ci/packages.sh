#!/usr/bin/env bash
# The release files of `make dist` as a user gets them (`make test-packages`, part of `make test`):
#   SHA256SUMS verifies; every archive holds exactly the binary, README.md and LICENSE, and the
#   linux/amd64 binary prints its version; the .deb passes lintian with no error and both
#   packages recommend a Secret Service provider and wl-clipboard; the .deb installs
#   with dpkg -i on this machine, where /usr/bin/homeytray --version runs, desktop-file-validate
#   passes on the installed entry, man -w finds the pages, bash completion loads from
#   /usr/share/bash-completion/completions/homeytray and systemd-analyze verify passes on the
#   installed user unit; dpkg -r removes it and leaves no file behind; each .rpm lists the same
#   files (rpm -qpl).
# Needs (deps.sh packages installs them on Debian, as root): lintian, rpm, man-db, systemd,
# desktop-file-utils, unzip. Installing needs root: without it (and outside CI) that part is
# skipped with a message; under CI=true anything missing fails.
# Usage: .ci/packages.sh DIST
set -euo pipefail
dist=${1:?usage: packages.sh DIST}
cd "$dist"
fails=0
ok() { echo "packages: ok   $*"; }
bad() { echo "packages: FAIL $*" >&2; fails=$((fails + 1)); }
missing() {
  echo "packages: cannot check: $*" >&2
  if [ "${CI:-}" = true ]; then fails=$((fails + 1)); fi
}
for tool in sha256sum tar unzip lintian dpkg-deb rpm man desktop-file-validate systemd-analyze; do
  command -v "$tool" >/dev/null || missing "$tool is not installed (bash .ci/deps.sh packages)"
done

# 1. Checksums and archives.
if sha256sum --quiet -c SHA256SUMS; then ok "SHA256SUMS ($(wc -l <SHA256SUMS) files)"; else bad "sha256sum -c SHA256SUMS"; fi
want_files() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
n=0
for a in homeytray_*_linux_*.tar.gz; do
  got=$(tar tzf "$a" | sort | tr '\n' ' ')
  [ "$got" = "$(want_files LICENSE README.md homeytray)" ] && ok "$a: $got" || bad "$a holds: $got"
  n=$((n + 1))
done
for a in homeytray_*_windows_*.zip; do
  got=$(unzip -Z1 "$a" | sort | tr '\n' ' ')
  [ "$got" = "$(want_files LICENSE README.md homeytray.exe)" ] && ok "$a: $got" || bad "$a holds: $got"
  n=$((n + 1))
done
[ "$n" = 5 ] || bad "$n archives, want 5 (linux amd64 arm64 armv7, windows amd64 arm64)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$(uname -m)" = x86_64 ]; then
  tar xzf homeytray_*_linux_amd64.tar.gz -C "$tmp" homeytray
  v=$("$tmp/homeytray" --version)
  [[ $v == "homeytray "*"(commit "*", built "*")" ]] && ok "archive binary: $v" || bad "archive binary --version: $v"
fi

# 2. What both packages hold (besides directories and their format's documents).
man_pages=$(dpkg-deb -c homeytray_*_amd64.deb | awk '{print $6}' | sed -n 's|^\./usr/share/man/man1/\(.\)|\1|p' | sort)
[ -n "$man_pages" ] || bad "no man pages in the .deb"
common=(
  /usr/bin/homeytray
  /usr/share/applications/homeytray.desktop
  /usr/lib/systemd/user/homeytray.service
  /usr/share/bash-completion/completions/homeytray
  /usr/share/zsh/vendor-completions/_homeytray
  /usr/share/fish/vendor_completions.d/homeytray.fish
  /usr/share/man/man1/homeytray.1.gz
  /usr/share/man/man1/homeytray-serve.1.gz
  /usr/share/man/man1/homeytray-token.1.gz
)
for s in 16 24 32 48 64 128 256 512; do common+=("/usr/share/icons/hicolor/${s}x${s}/apps/homeytray.png"); done
deb_only=(/usr/share/doc/homeytray/copyright /usr/share/doc/homeytray/changelog.gz /usr/share/lintian/overrides/homeytray)
rpm_only=(/usr/share/licenses/homeytray/LICENSE /usr/share/doc/homeytray/README.md)
has_all() { # has_all WHAT LISTFILE PATH...
  local what=$1 list=$2 p miss=()
  shift 2
  for p in "$@"; do grep -qxF "$p" "$list" || miss+=("$p"); done
  [ ${#miss[@]} -eq 0 ] && ok "$what: all $# expected files" || bad "$what lacks: ${miss[*]}"
}

# 3. The .deb files: lintian. Errors fail; warnings and info are shown. The one error a pure Go
# binary draws, statically-linked-binary, is overridden inside the package
# (build/linux/lintian-overrides says why), so no tag is suppressed here.
for d in homeytray_*.deb; do
  dpkg-deb -c "$d" | awk '{print $6}' | sed 's|^\.||' | grep -v '/$' | sort >"$tmp/deb.list"
  has_all "$d" "$tmp/deb.list" "${common[@]}" "${deb_only[@]}"
  rc=0
  out=$(lintian --fail-on error --tag-display-limit 0 "$d" 2>&1) || rc=$?
  out=$(grep -v 'running with root privileges' <<<"$out" || true)
  tags=$(grep -c '^[EWIPX]:' <<<"$out" || true)
  [ "$rc" = 0 ] && ok "lintian $d: no error ($tags other tags)" || bad "lintian $d (exit $rc)"
  [ -z "$out" ] || printf '  %s\n' "$out"
  # What the desktop path uses, as weak dependencies: a Secret Service provider and wl-clipboard.
  rec=$(dpkg-deb -f "$d" Recommends)
  [[ $rec == *"gnome-keyring | "*"keepassxc"* && $rec == *wl-clipboard* ]] &&
    ok "$d recommends: $rec" || bad "$d recommends: $rec"
done

# 4. The .rpm files list the same.
for r in homeytray-*.rpm; do
  rpm -qpl "$r" 2>/dev/null | sort >"$tmp/rpm.list"
  has_all "$r" "$tmp/rpm.list" "${common[@]}" "${rpm_only[@]}"
  got=$(sed -n 's|^/usr/share/man/man1/||p' "$tmp/rpm.list" | sort)
  [ "$got" = "$man_pages" ] && ok "$r: the .deb's $(wc -l <<<"$man_pages") man pages" || bad "$r: other man pages than the .deb"
  rec=$(rpm -qp --recommends "$r" 2>/dev/null | tr '\n' ' ')
  [[ $rec == *"(gnome-keyring or "*"keepassxc)"* && $rec == *wl-clipboard* ]] &&
    ok "$r recommends: $rec" || bad "$r recommends: $rec"
done

# 5. Install the amd64 .deb here, use it, remove it.
deb=$(ls homeytray_*_amd64.deb)
if [ "$(uname -m)" != x86_64 ]; then
  missing "dpkg -i $deb: this machine is not amd64"
elif [ "$(id -u)" != 0 ]; then
  missing "dpkg -i $deb needs root"
else
  if dpkg-query -W -f='${db:Status-Status}' homeytray 2>/dev/null | grep -qx installed; then
    echo "packages: removing the homeytray package installed before this test" >&2
    dpkg -r homeytray >/dev/null
  fi
  : >"$tmp/installed"
  nfiles=0
  if dpkg -i "$deb" >"$tmp/dpkg.out" 2>&1; then
    ok "dpkg -i $deb"
    dpkg-query -L homeytray | sort >"$tmp/installed"
    nfiles=0
    while read -r f; do [ -d "$f" ] || nfiles=$((nfiles + 1)); done <"$tmp/installed"
    v=$(/usr/bin/homeytray --version) && [[ $v == "homeytray "*"(commit "*", built "*")" ]] &&
      ok "/usr/bin/homeytray --version: $v" || bad "/usr/bin/homeytray --version: $v"
    desktop-file-validate /usr/share/applications/homeytray.desktop && ok "desktop-file-validate" || bad "desktop-file-validate"
    p=$(man -w homeytray) && [ "$p" = /usr/share/man/man1/homeytray.1.gz ] && man -w homeytray-serve >/dev/null &&
      ok "man -w homeytray: $p" || bad "man -w homeytray: ${p:-not found}"
    c=$(bash --norc --noprofile -c 'source /usr/share/bash-completion/completions/homeytray && complete -p homeytray' 2>&1) &&
      ok "bash completion: $c" || bad "bash completion: $c"
    # systemd-analyze verify in a container whose PID 1 is not systemd: --user needs only a
    # runtime folder of its own (XDG_RUNTIME_DIR), not a running user manager; it loads the
    # installed unit from /usr/lib/systemd/user, checks ExecStart's binary and runs
    # `man homeytray-serve(1)` for the Documentation= line (so man-db must be installed).
    mkdir -m 700 "$tmp/run"
    if out=$(XDG_RUNTIME_DIR=$tmp/run systemd-analyze --user verify /usr/lib/systemd/user/homeytray.service 2>&1); then
      ok "systemd-analyze --user verify homeytray.service"
    else
      bad "systemd-analyze --user verify: $out"
    fi
  else
    bad "dpkg -i $deb: $(cat "$tmp/dpkg.out")"
  fi
  if dpkg -r homeytray >"$tmp/dpkg.out" 2>&1; then
    left=()
    while read -r f; do
      [ -e "$f" ] && [ ! -d "$f" ] && left+=("$f")
    done <"$tmp/installed"
    status=$(dpkg-query -W -f='${db:Status-Status}' homeytray 2>/dev/null || true)
    if [ ${#left[@]} -eq 0 ] && [ "$status" != installed ] && [ "$status" != config-files ]; then
      ok "dpkg -r homeytray: no file left of the $nfiles installed"
    else
      bad "dpkg -r homeytray left: ${left[*]} (status ${status:-none})"
    fi
  else
    bad "dpkg -r homeytray: $(cat "$tmp/dpkg.out")"
  fi
fi

if [ "$fails" -gt 0 ]; then
  echo "packages: $fails check(s) failed" >&2
  exit 1
fi
echo "packages: all checks passed"
