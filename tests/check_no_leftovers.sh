#!/usr/bin/env bash
# Fails when a redis-server or redis-sentinel started by the tests (working directory under a
# test topology's temporary directory) is still running. Lists them by pid; stops none.
set -u
left=()
for pid in $(pgrep -x redis-server; pgrep -x redis-sentinel); do
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
  case "$cwd" in
    */redis-sentinel-rs-*|*/redis-sentinel-py-*|*/redis-sentinel-c.*|*/redis-sentinel-bench-*|*/redis-sentinel-demo-*)
      left+=("$pid ($cwd)") ;;
  esac
done
if [ ${#left[@]} -gt 0 ]; then
  echo "processes left behind by the tests:"; printf '  %s\n' "${left[@]}"; exit 1
fi
echo "no test process left behind"
