#!/usr/bin/env bash
# summary.sh LOGDIR STEP...: what failed in a `make test` run (.ci/test.sh), on stdout: for each
# failing step the failing tests by name with their own output, or the tail of the step's log;
# the Wine run's logs; the logs of the desktop daemons of a failed desktop session.
set -uo pipefail
logs=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)

# failing_tests LOG: the output of each failing test of a `go test` log (plain or -v), at most
# 60 lines each, and any panic or timeout with the tests it names.
failing_tests() {
  python3 - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
fail = re.compile(r"^(\s*)--- FAIL: (\S+)")
shown = 0
for i, l in enumerate(lines):
    m = fail.match(l)
    if not m:
        continue
    name, indent = m.group(2), len(m.group(1))
    # -v logs print a test's output between "=== RUN   name" and its "--- FAIL"; plain logs
    # print it after the "--- FAIL" line, indented.
    start = None
    for j in range(i - 1, -1, -1):
        if lines[j].rstrip() == "=== RUN   " + name:
            start = j
            break
    if start is not None:
        block = [x for x in lines[start:i + 1] if not x.startswith(("=== PAUSE", "=== CONT"))]
    else:
        block = [l]
        for x in lines[i + 1:]:
            if not x.startswith(" " * (indent + 4)) and not x.startswith("\t") or fail.match(x):
                break
            block.append(x)
    if len(block) > 60:
        block = block[:10] + ["    … (%d lines)" % (len(block) - 50)] + block[-40:]
    print("\n".join(block))
    print()
    shown += 1
for i, l in enumerate(lines):
    if l.startswith("panic:") or l.startswith("fatal error:") or "test timed out" in l:
        print("\n".join(lines[i:i + 25]))
        shown += 1
        break
for l in lines:
    if re.match(r"^(FAIL|ok)\s+\S+", l) and l.startswith("FAIL"):
        print(l)
if not shown:
    print("\n".join(lines[-40:]))
PY
}

tail_file() { # tail_file FILE [N]
  [ -s "$1" ] || return 0
  echo "--- ${1#$root/} (last ${2:-20} lines)"
  tail -n "${2:-20}" "$1" | cut -c1-300
}

echo
echo "================ make test FAILED: $* ================"
for s in "$@"; do
  echo
  echo "==== failed step: $s"
  case $s in
    go-test) failing_tests "$logs/go-test.log" ;;
    wine)
      if [ -s "$root/bin/wine-log/go-test.log" ] && grep -qE -- '--- FAIL|^FAIL|^panic' "$root/bin/wine-log/go-test.log"; then
        failing_tests "$root/bin/wine-log/go-test.log"
      fi
      tail_file "$root/bin/wine-log/wine.log" 25
      tail_file "$root/bin/wine-log/tray.log" 15
      tail_file "$logs/wine.log" 15
      ;;
    fuzz) grep -E -B2 -A20 -- '--- FAIL|^FAIL|failing input|panic:' "$logs/fuzz.log" | head -80 || tail_file "$logs/fuzz.log" 40 ;;
    leak-check) cat "$logs/leaks.log" ;;
    *) tail_file "$logs/$s.log" 40 ;;
  esac
done
for d in "$logs"/desktop-*/; do
  [ -d "$d" ] || continue
  echo
  echo "==== the desktop session's daemons (${d#$root/})"
  for f in "$d"*.log; do tail_file "$f" 12; done
done
echo
echo "All logs: ${logs#$root/}/ and bin/wine-log/."
