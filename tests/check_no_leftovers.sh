#!/usr/bin/env bash
# Fails when a redis-server or redis-sentinel started by this test run (working directory
# under the run's temporary directory, $1) is still running. Lists them by pid; stops none.
set -u
root="${1:?usage: check_no_leftovers.sh RUN_TMPDIR}"
left=()
for pid in $(pgrep -x redis-server; pgrep -x redis-sentinel); do
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
  case "$cwd" in
    "$root"/*) left+=("$pid ($cwd)") ;;
  esac
done
if [ ${#left[@]} -gt 0 ]; then
  echo "processes left behind by the tests:"; printf '  %s\n' "${left[@]}"; exit 1
fi
echo "no test process left behind"
