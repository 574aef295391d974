#!/usr/bin/env bash
# `make deps`: what `make test` and `make demo` need that a fresh Debian machine with Rust lacks.
# Usage: tests/install_deps.sh PYTHON
# Debian packages come from apt-get; Python packages go into PYTHON (the interpreter the tests
# run under) with its own pip. Nothing here is only for the benchmarks: .ci/run adds those.
set -euo pipefail
python="${1:-python3}"

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
command -v cc >/dev/null || missing+=(gcc)
command -v c++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v git >/dev/null || missing+=(git)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v cmake >/dev/null || missing+=(cmake)
# The partition tests (make test-partitions) cut links with nftables.
[ -x /usr/sbin/nft ] || command -v nft >/dev/null || missing+=(nftables)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pytest runs the harness; wheel and setuptools>=61 let `pip wheel --no-build-isolation` build
# the binding's wheel (pyproject.toml metadata), which a test checks.
have_python_deps() {
  "$python" - <<'EOF' 2>/dev/null
import pytest, wheel, setuptools
major = int(setuptools.__version__.split(".")[0])
raise SystemExit(0 if major >= 61 else 1)
EOF
}
if ! have_python_deps; then
  echo "installing into $("$python" -c 'import sys; print(sys.prefix)'): pytest wheel setuptools>=61"
  if ! "$python" -m pip --version >/dev/null 2>&1; then
    "$python" -m ensurepip --upgrade >/dev/null 2>&1 || {
      echo "$python has no pip; on Debian: apt-get install python3-pip python3-venv" >&2
      exit 1
    }
  fi
  if ! "$python" -m pip install -q pytest wheel "setuptools>=61"; then
    # Debian's own python3 refuses pip installs (PEP 668): take Debian's packages instead.
    if [ "$(command -v "$python")" = /usr/bin/python3 ]; then
      $sudo apt-get install -y -qq python3-pytest python3-wheel python3-setuptools >/dev/null
    else
      exit 1
    fi
  fi
  have_python_deps || { echo "$python still lacks pytest, wheel or setuptools>=61" >&2; exit 1; }
fi
