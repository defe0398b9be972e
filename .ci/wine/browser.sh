#!/bin/sh
# $BROWSER for the Windows build under Wine (.ci/wine.sh): the same headless Chromium as
# .ci/browser. A Unix path works as $BROWSER under Wine (Wine starts a non-PE file as a Unix
# program), but Go's os/exec on Windows only runs a file whose name has an extension: hence
# this wrapper's ".sh".
exec "$(dirname "$0")/../browser" "$@"
