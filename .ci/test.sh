#!/usr/bin/env bash
# `make test`: every step of the test suite, in order. Each step's output goes to the terminal
# and to bin/test-logs/<step>.log; a failing step does not stop the ones after it (a CI run shows
# every failure at once). At the end:
#   - the leak check: no process that the run started is still running (they are all in a pids
#     cgroup of their own, or, where none can be made, carry a marker in their environment), and
#     none holds a listening socket;
#   - a summary on stdout: each failing step, the failing tests by name with their own output,
#     and the tail of the logs that explain them (the Wine run's, the desktop daemons'), so that a
#     CI failure can be diagnosed from the run's output alone.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
logs=$root/bin/test-logs
rm -rf "$logs" "$root/bin/wine-log"
mkdir -p "$logs"
export HOMEYTRAY_TEST_LOGS=$logs # .ci/desktop.sh keeps its daemons' logs here when a run fails

# --- Every process of this run, for the leak check.
mark=homeytray-test-$$-$RANDOM
export HOMEYTRAY_TEST_RUN_ID=$mark
cgroup=
for base in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
  if [ -w "$base" ] && mkdir "$base/$mark" 2>/dev/null; then
    if echo $$ >"$base/$mark/cgroup.procs" 2>/dev/null; then cgroup=$base/$mark; break; fi
    rmdir "$base/$mark" 2>/dev/null
  fi
done

# run_pids lists the live processes of this run (not zombies: PID 1 of a sandbox may never reap
# them, and they hold nothing), without this script and the commands it is running right now.
run_pids() {
  local pids=() p line st
  if [ -n "$cgroup" ]; then
    mapfile -t pids <"$cgroup/cgroup.procs"
  else
    mapfile -t pids < <(grep -lsa "HOMEYTRAY_TEST_RUN_ID=$mark" /proc/[0-9]*/environ | cut -d/ -f3)
  fi
  for p in "${pids[@]}"; do
    [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
    # Bash builtins only from here: the field after the command name (which may hold spaces).
    read -r line 2>/dev/null <"/proc/$p/stat" || continue # gone meanwhile
    st=${line##*) }
    st=${st%% *}
    [ "$st" = Z ] && continue
    echo "$p"
  done
}

failed=()
step() { # step NAME COMMAND...: run one step, log it, remember a failure
  local name=$1; shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS-start)) s"
  [ "$rc" = 0 ] || failed+=("$name")
  return "$rc"
}

started=$SECONDS
if step deps bash .ci/deps.sh; then
  step vet make --no-print-directory vet
  step cross make --no-print-directory cross
  step go-test bash .ci/desktop.sh go test -race -count=1 -timeout 15m ./...
  step wine bash .ci/wine.sh
  step fuzz make --no-print-directory fuzz
  step packages make --no-print-directory test-packages
fi

# --- The leak check: after the last step, nothing of this run may be left.
leaks=$(run_pids)
if [ -n "$leaks" ]; then
  # A process that is still exiting gets a moment (a test's clean-up may be ending it now).
  for _ in $(seq 1 50); do sleep 0.1; leaks=$(run_pids); [ -z "$leaks" ] && break; done
fi
if [ -n "$leaks" ]; then
  {
    echo "Processes this run started that are still running:"
    # shellcheck disable=SC2086
    ps -o pid=,ppid=,stat=,etime=,args= -p "$(echo $leaks | tr ' ' ,)" | cut -c1-200
    ports=$(ss -Hltunp 2>/dev/null | grep -E "pid=($(echo $leaks | tr ' ' '|'))," || true)
    if [ -n "$ports" ]; then echo "Sockets they still listen on:"; echo "$ports"; fi
  } | tee "$logs/leaks.log"
  failed+=("leak-check")
  # shellcheck disable=SC2086
  kill -9 $leaks 2>/dev/null
fi
if [ -n "$cgroup" ]; then
  echo $$ >"$(dirname "$cgroup")/cgroup.procs" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cgroup" 2>/dev/null && break; sleep 0.2; done
fi

if [ ${#failed[@]} = 0 ]; then
  echo "make test: every step passed in $((SECONDS-started)) s; nothing left running"
  exit 0
fi
bash .ci/summary.sh "$logs" "${failed[@]}"
exit 1
