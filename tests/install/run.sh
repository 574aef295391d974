#!/usr/bin/env bash
# make install into a temporary prefix; then a C program built with pkg-config and a C++ one
# built with CMake, both against the installed copy, run against a topology; then make
# uninstall, which must leave nothing behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/redis-sentinel-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
lib="$prefix/lib"
make -C "$root" --no-print-directory install PREFIX="$prefix" >/dev/null
version="$(grep -m1 '^version' "$root/Cargo.toml" | cut -d'"' -f2)"
real="libredis_sentinel.so.$version"
major="libredis_sentinel.so.${version%%.*}"
fail() { echo "install test: $*" >&2; exit 1; }
readelf -d "$lib/$real" | grep -q "SONAME.*\[$major\]" || fail "$real has no SONAME $major"
if readelf -S "$lib/$real" | grep -q '\.debug_'; then fail "$real is not stripped"; fi
[ "$(readlink "$lib/$major")" = "$real" ] || fail "$major does not point at $real"
[ "$(readlink "$lib/libredis_sentinel.so")" = "$major" ] || fail "libredis_sentinel.so does not point at $major"

cat > "$work/app.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "redis_sentinel.h"
int main(void) {
  const char *names[] = {"mymaster"};
  const char *ping[] = {"PING"};
  sentinel_error *err = NULL;
  sentinel_client *c = sentinel_client_new("tcp", getenv("SENTINEL_ADDR"), 1, names, 1, &err);
  sentinel_reply *r = c ? sentinel_master_command_argv(c, "mymaster", 1, ping, NULL, &err) : NULL;
  if (!r || strcmp(r->str, "PONG") != 0) {
    fprintf(stderr, "C program: %s\n", sentinel_error_message(err));
    return 1;
  }
  printf("C program (pkg-config, version %s): PONG\n", sentinel_version());
  sentinel_reply_free(r);
  sentinel_client_close(c);
  return 0;
}
EOF
export PKG_CONFIG_PATH="$lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror "$work/app.c" -o "$work/app_c" $(pkg-config --cflags --libs redis-sentinel)

mkdir -p "$work/cpp"
cat > "$work/cpp/app.cpp" <<'EOF'
#include <cstdio>
#include <cstdlib>
#include "redis_sentinel.hpp"
int main() {
  redis_sentinel::Client client("tcp", std::getenv("SENTINEL_ADDR"), 1, {"mymaster"});
  auto reply = client.execute("mymaster", {"PING"});
  std::printf("C++ program (CMake): %.*s\n", static_cast<int>(reply.str().size()), reply.str().data());
  return reply.str() == "PONG" ? 0 : 1;
}
EOF
cat > "$work/cpp/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(app CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(redis_sentinel 0.1 REQUIRED)
add_executable(app_cpp app.cpp)
target_link_libraries(app_cpp redis_sentinel::redis_sentinel)
EOF
cmake -S "$work/cpp" -B "$work/cpp/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cpp/build" >/dev/null

# Both load the installed copy, nothing from the build tree.
for app in "$work/app_c" "$work/cpp/build/app_cpp"; do
  LD_LIBRARY_PATH="$lib" ldd "$app" | grep -q "$lib/$major" || fail "$app does not load $lib/$major"
done
LD_LIBRARY_PATH="$lib" "$root/tests/c/run.sh" sh -c "'$work/app_c' && '$work/cpp/build/app_cpp'"

make -C "$root" --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left="$(find "$prefix" \( -type f -o -type l \) -print)"
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install test: passed"
