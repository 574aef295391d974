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

.PHONY: all deps lib header test test-rust test-c test-python header-check memcheck demo bench bench-instructions bench-failover install lint clean

all: lib

lib:
	$(CARGO) build --release

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
	TMPDIR=$(TEST_TMP) $(MAKE) --no-print-directory test-rust header-check test-c test-python \
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

test-c: $(BUILD)/test_sentinel $(BUILD)/header_cpp $(BUILD)/header_c99.o
	$(BUILD)/header_cpp
	tests/c/run.sh $(BUILD)/test_sentinel

# pytest exits 5 when it collected nothing: that is a failure too (it is non-zero already,
# but say why).
test-python: lib
	REDIS_SENTINEL_LIB=$(LIBDIR)/libredis_sentinel.so PYTHONPATH=bindings/python \
	  $(PYTHON) -m pytest -q tests/python || { rc=$$?; \
	  [ $$rc -ne 5 ] || echo "pytest collected no test"; exit $$rc; }

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

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/redis_sentinel.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(RELEASE)/libredis_sentinel.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(RELEASE)/libredis_sentinel.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e "s|@VERSION@|$$(grep -m1 '^version' Cargo.toml | cut -d'\"' -f2)|" \
	  redis-sentinel.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/redis-sentinel.pc

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
