# redis-sentinel: build, test, demo, bench, install.
CARGO   ?= cargo
PYTHON  ?= python3
CC      ?= cc
CXX     ?= c++
PREFIX  ?= /usr/local
RELEASE := target/release
LIBDIR  := $(CURDIR)/$(RELEASE)
CFLAGS  ?= -O2 -g
C_WARN  := -std=c99 -Wall -Wextra -pedantic -Werror
BUILD   := build
LDLIBS  := -L$(LIBDIR) -Wl,-rpath,$(LIBDIR) -lredis_sentinel -lpthread

.PHONY: all deps lib header test test-rust test-c test-python test-partitions header-check abi-check test-install memcheck demo bench bench-instructions bench-failover install uninstall lint clean

all: lib

VERSION := $(shell grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
ifeq ($(shell uname -s),Darwin)
# macOS is not tested in CI.
SHLIB       := libredis_sentinel.dylib
SHLIB_MAJOR := libredis_sentinel.$(MAJOR).dylib
SHLIB_REAL  := libredis_sentinel.$(VERSION).dylib
STRIP_SHLIB := strip -x
else
SHLIB       := libredis_sentinel.so
SHLIB_MAJOR := libredis_sentinel.so.$(MAJOR)
SHLIB_REAL  := libredis_sentinel.so.$(VERSION)
STRIP_SHLIB := strip --strip-unneeded
endif

# The library's SONAME is $(SHLIB_MAJOR) (build.rs): programs linked against the build tree
# find it through this link.
lib:
	$(CARGO) build --release
	ln -sf $(SHLIB) $(RELEASE)/$(SHLIB_MAJOR)

# What the demo and the tests need that a fresh Debian machine with Rust lacks: Debian packages
# (apt-get) and pytest, wheel and setuptools, installed with pip into $(PYTHON), the interpreter
# the Python harness runs under (the first python3 on PATH unless PYTHON is given).
deps:
	@tests/install_deps.sh $(PYTHON)

# Regenerates include/redis_sentinel.h from src/ffi.
header:
	REDIS_SENTINEL_WRITE_HEADER=1 $(CARGO) build --release

# Every temporary directory of this run (topologies included) lives under TEST_TMP, so the
# final check can tell this run's processes from anyone else's.
TEST_TMP ?= /tmp/rst-$(shell date +%s)-$(shell echo $$PPID)

# The leftover check and the removal run even when a suite fails; the first failure is kept.
test: deps
	mkdir -p $(TEST_TMP)
	status=0; \
	TMPDIR=$(TEST_TMP) $(MAKE) --no-print-directory test-rust header-check abi-check test-c \
	  test-install test-python \
	  || status=$$?; \
	tests/check_no_leftovers.sh $(TEST_TMP) || [ $$status -ne 0 ] || status=1; \
	rm -rf $(TEST_TMP); \
	exit $$status

test-rust:
	$(CARGO) test

header-check: lib
	$(CARGO) test --test header
	@git diff --exit-code -- include/redis_sentinel.h || (echo "include/redis_sentinel.h differs from the committed one" && exit 1)

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/test_sentinel: tests/c/test_sentinel.c include/redis_sentinel.h lib | $(BUILD)
	$(CC) $(C_WARN) -Wno-overlength-strings $(CFLAGS) -Iinclude $< -o $@ $(LDLIBS)

$(BUILD)/header_cpp: tests/c/header_cpp.cpp include/redis_sentinel.h lib | $(BUILD)
	$(CXX) -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude $< -o $@ $(LDLIBS)

$(BUILD)/header_c99.o: include/redis_sentinel.h | $(BUILD)
	echo '#include "redis_sentinel.h"' | $(CC) $(C_WARN) -Iinclude -x c -c - -o $@

# The C++ header's test, under AddressSanitizer and UBSan (leak checks included).
$(BUILD)/test_cpp: tests/c/test_cpp.cpp include/redis_sentinel.hpp include/redis_sentinel.h lib | $(BUILD)
	$(CXX) -std=c++17 -Wall -Wextra -pedantic -Werror -g -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Iinclude $< -o $@ $(LDLIBS)

# Every C, C++ and Python example of the README is compiled, so none can rot.
test-c: $(BUILD)/test_sentinel $(BUILD)/header_cpp $(BUILD)/header_c99.o $(BUILD)/test_cpp
	$(PYTHON) tests/readme_examples.py $(CC) $(CXX)
	$(BUILD)/header_cpp
	tests/c/run.sh $(BUILD)/test_sentinel
	tests/c/run.sh $(BUILD)/test_cpp

# pytest exits 5 when it collected nothing: that is a failure too (it is non-zero already,
# but say why).
test-python: lib
	REDIS_SENTINEL_LIB=$(LIBDIR)/libredis_sentinel.so PYTHONPATH=bindings/python \
	  $(PYTHON) -m pytest -q tests/python || { rc=$$?; \
	  [ $$rc -ne 5 ] || echo "pytest collected no test"; exit $$rc; }

# Dead hosts and partitions, cut with nftables on loopback (tests/partitions.rs): needs root
# and nftables (make deps installs it). Every table it adds is its own and deleted after.
test-partitions: deps
	@[ "$$(id -u)" = 0 ] || { echo "test-partitions needs root (nftables rules)"; exit 1; }
	mkdir -p $(TEST_TMP)
	status=0; \
	TMPDIR=$(TEST_TMP) $(CARGO) test --release --test partitions -- --ignored || status=$$?; \
	tests/check_no_leftovers.sh $(TEST_TMP) || [ $$status -ne 0 ] || status=1; \
	! nft list tables | grep rst_partition_ || { echo "nftables tables left behind"; status=1; }; \
	rm -rf $(TEST_TMP); \
	exit $$status

# The C harness under valgrind memcheck: any memory error, or any definitely lost byte, fails.
# valgrind is not in `make deps` (only this target needs it): apt-get install valgrind.
VALGRIND := valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes
memcheck: deps $(BUILD)/test_sentinel
	@command -v valgrind >/dev/null || { echo "memcheck needs valgrind: apt-get install valgrind"; exit 1; }
	mkdir -p $(TEST_TMP)
	status=0; \
	TMPDIR=$(TEST_TMP) tests/c/run.sh $(VALGRIND) $(BUILD)/test_sentinel || status=$$?; \
	tests/check_no_leftovers.sh $(TEST_TMP) || [ $$status -ne 0 ] || status=1; \
	rm -rf $(TEST_TMP); \
	exit $$status

$(BUILD)/demo: examples/demo.c include/redis_sentinel.h lib | $(BUILD)
	$(CC) $(C_WARN) $(CFLAGS) -Iinclude $< -o $@ $(LDLIBS)

demo: deps $(BUILD)/demo
	REDIS_SENTINEL_LIB=$(LIBDIR)/libredis_sentinel.so PYTHONPATH=bindings/python \
	  $(PYTHON) examples/demo.py --c-demo $(BUILD)/demo

$(BUILD)/bench: bench/bench.c include/redis_sentinel.h lib | $(BUILD)
	$(CC) $(C_WARN) -O2 -Iinclude $< -o $@ $(LDLIBS) -lhiredis

# Our C API against hiredis, our Python binding against redis-py, and idle resources.
bench: $(BUILD)/bench
	REDIS_SENTINEL_LIB=$(LIBDIR)/libredis_sentinel.so $(PYTHON) bench/run_bench.py --c-bench $(BUILD)/bench

# User-space instructions per Python GET (callgrind): exact and repeatable, unlike times.
bench-instructions: lib
	REDIS_SENTINEL_LIB=$(LIBDIR)/libredis_sentinel.so $(PYTHON) bench/instructions.py

$(BUILD)/failover_writer: bench/failover_writer.c include/redis_sentinel.h lib | $(BUILD)
	$(CC) $(C_WARN) $(CFLAGS) -Iinclude $< -o $@ $(LDLIBS)

$(BUILD)/failover_subscriber: bench/failover_subscriber.c include/redis_sentinel.h lib | $(BUILD)
	$(CC) $(C_WARN) $(CFLAGS) -Iinclude $< -o $@ $(LDLIBS)

# Forced failover, kill -9 and SIGSTOP with our C API, our Python binding and redis-py side by
# side: writers, a queue, and Pub/Sub subscribers.
bench-failover: $(BUILD)/failover_writer $(BUILD)/failover_subscriber
	REDIS_SENTINEL_LIB=$(LIBDIR)/libredis_sentinel.so $(PYTHON) bench/failover_bench.py \
	  --c-writer $(BUILD)/failover_writer --c-subscriber $(BUILD)/failover_subscriber

# What `make install` puts under PREFIX, and all that `make uninstall` removes.
INSTALLED := include/redis_sentinel.h include/redis_sentinel.hpp lib/$(SHLIB_REAL) \
  lib/$(SHLIB_MAJOR) lib/$(SHLIB) lib/libredis_sentinel.a lib/pkgconfig/redis-sentinel.pc \
  lib/cmake/redis_sentinel/redis_sentinelConfig.cmake \
  lib/cmake/redis_sentinel/redis_sentinelConfigVersion.cmake
DEST := $(DESTDIR)$(PREFIX)
SUBST := sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@MAJOR@|$(MAJOR)|' \
  -e 's|@SHLIB_REAL@|$(SHLIB_REAL)|' -e 's|@SHLIB_MAJOR@|$(SHLIB_MAJOR)|'

# Both headers, the shared library (stripped, with its versioned names) and the static one,
# a pkg-config file and a CMake package. PREFIX=... DESTDIR=... as usual.
install: lib
	install -d $(DEST)/include $(DEST)/lib/pkgconfig $(DEST)/lib/cmake/redis_sentinel
	install -m 644 include/redis_sentinel.h include/redis_sentinel.hpp $(DEST)/include/
	install -m 755 $(RELEASE)/$(SHLIB) $(DEST)/lib/$(SHLIB_REAL)
	$(STRIP_SHLIB) $(DEST)/lib/$(SHLIB_REAL)
	ln -sf $(SHLIB_REAL) $(DEST)/lib/$(SHLIB_MAJOR)
	ln -sf $(SHLIB_MAJOR) $(DEST)/lib/$(SHLIB)
	install -m 644 $(RELEASE)/libredis_sentinel.a $(DEST)/lib/
	strip --strip-debug $(DEST)/lib/libredis_sentinel.a
	$(SUBST) redis-sentinel.pc.in > $(DEST)/lib/pkgconfig/redis-sentinel.pc
	$(SUBST) cmake/redis_sentinelConfig.cmake.in > $(DEST)/lib/cmake/redis_sentinel/redis_sentinelConfig.cmake
	$(SUBST) cmake/redis_sentinelConfigVersion.cmake.in \
	  > $(DEST)/lib/cmake/redis_sentinel/redis_sentinelConfigVersion.cmake

uninstall:
	rm -f $(addprefix $(DEST)/,$(INSTALLED))
	-rmdir $(DEST)/lib/cmake/redis_sentinel 2>/dev/null

# The library exports exactly the functions listed in abi/exports.txt: an export that appears
# or goes away is a change of the ABI, made on purpose (update the file; see the README for
# when the major version changes).
abi-check: lib | $(BUILD)
	nm -D --defined-only $(RELEASE)/$(SHLIB) | awk '{print $$3}' | sort > $(BUILD)/exports.txt
	diff -u abi/exports.txt $(BUILD)/exports.txt || \
	  { echo "the exported symbols differ from abi/exports.txt"; exit 1; }
	readelf -d $(RELEASE)/$(SHLIB) | grep -q 'SONAME.*\[$(SHLIB_MAJOR)\]' || \
	  { echo "$(SHLIB) has no SONAME $(SHLIB_MAJOR)"; exit 1; }

# Installs into a temporary prefix, builds a C program with pkg-config and a C++ one with
# CMake against it, runs both against a topology, and uninstalls.
test-install: lib
	tests/install/run.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
