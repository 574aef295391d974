#!/usr/bin/env bash
# Starts a topology, runs the C harness against it (the command line given, e.g. the binary
# or valgrind and the binary), and stops the topology even on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export TOPOLOGY_SCRIPT="$here/../topology.py"
export TOPOLOGY_DIR="$(mktemp -d "${TMPDIR:-/tmp}/redis-sentinel-c.XXXXXX")"
cleanup() { python3 "$TOPOLOGY_SCRIPT" down --dir "$TOPOLOGY_DIR"; rm -rf "$TOPOLOGY_DIR"; }
trap cleanup EXIT
while IFS='=' read -r key value; do export "$key=$value"; done \
  < <(python3 "$TOPOLOGY_SCRIPT" up --dir "$TOPOLOGY_DIR" --names mymaster --replicas 2 --sentinels 3)
"$@"
