# aarch64: cross-build for aarch64-unknown-linux-gnu and run under qemu-user.
#
#   make test-aarch64   the Rust tests and the C suite (ASan + UBSan, shared and
#                       static library, and again with MYLIB_KERNEL=portable),
#                       all run under qemu-aarch64, with the NEON kernels taken
#
# Needs Debian's gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; the
# rustup target aarch64-unknown-linux-gnu is added when missing. The linker and the
# runner are given to cargo through the environment (no .cargo/config is
# committed, which would change every user's build).

AARCH64_TARGET  := aarch64-unknown-linux-gnu
AARCH64_CC      ?= aarch64-linux-gnu-gcc
AARCH64_SYSROOT ?= /usr/aarch64-linux-gnu
QEMU_AARCH64    ?= qemu-aarch64
AARCH64_RUN     := $(QEMU_AARCH64) -L $(AARCH64_SYSROOT)
AARCH64_RELEASE := target/$(AARCH64_TARGET)/release
AARCH64_BUILD   := target/c-aarch64
# The Rust tests are built optimized (debug assertions and overflow checks
# stay on): unoptimized code under emulation is some 20 times slower again.
AARCH64_ENV     := CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$(AARCH64_CC) \
                   CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$(AARCH64_RUN)" \
                   MYLIB_TEST_RUNNER="$(AARCH64_RUN)"
# ASan and UBSan work under qemu-user; LeakSanitizer does not (it stops the
# process's threads with ptrace, which qemu-user does not provide), so leak
# detection is off here: make test-c checks leaks natively.
AARCH64_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
AARCH64_SAN_ENV  := ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# qemu-user 7.2 deadlocks (or asserts) in a child forked while another guest
# thread is creating threads: a plain C program with no mylib in it (one
# thread creating and joining threads in a loop, main forking, each child
# creating one thread) saw 14 of 20 children hang under qemu-aarch64 and 0 of
# 20 natively. So the C suite's fork-during-a-threaded-sum test cannot run
# here; it runs natively in test-c-nosan. (The plain fork test does run.)
AARCH64_CDEFS := -DMYLIB_TEST_NO_FORK_DURING_THREADS='"qemu-user deadlocks in such children by itself (see mk/aarch64.mk); run natively by make test-c-nosan"'

CI_TARGETS += test-aarch64
.PHONY: test-aarch64 test-aarch64-rust test-aarch64-c aarch64-lib

test-aarch64: test-aarch64-rust test-aarch64-c
	@echo "make test-aarch64: Rust tests and C suite passed under $(QEMU_AARCH64)"

# threads_refused_by_the_os and under_rlimit_as are skipped here, and only
# here: qemu-user accepts setrlimit(RLIMIT_AS) without applying it (the limit
# would bind qemu itself), so the operating system never refuses a thread or
# an allocation under qemu. The same paths are tested by
# refused_threads_fall_back_to_fewer (hooked spawns) and greeting_refused
# (a refusing allocator), which do run here.
test-aarch64-rust: rust-target-$(AARCH64_TARGET)
	@command -v $(QEMU_AARCH64) >/dev/null || { echo "$(QEMU_AARCH64) not found: apt-get install qemu-user" >&2; exit 1; }
	@command -v $(AARCH64_CC) >/dev/null || { echo "$(AARCH64_CC) not found: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2; exit 1; }
	$(AARCH64_ENV) CARGO_PROFILE_DEV_OPT_LEVEL=2 $(CARGO) test --target $(AARCH64_TARGET) --features test-panic -- \
	  --skip threads_refused_by_the_os --skip under_rlimit_as
	@echo "== NEON taken and FPCR's modes detected (the run above checked the vector file on every path, NEON included):"
	@mkdir -p $(AARCH64_BUILD)
	$(AARCH64_ENV) CARGO_PROFILE_DEV_OPT_LEVEL=2 $(CARGO) test --target $(AARCH64_TARGET) --features test-panic --lib -- \
	  --exact kernels::tests::aarch64_takes_neon kernels::tests::every_non_default_fpcr_is_detected 2>&1 \
	  | tee $(AARCH64_BUILD)/neon.log | grep -E '^test |test result'
	@grep -q 'test result: ok. 2 passed' $(AARCH64_BUILD)/neon.log || { echo "test-aarch64: expected 2 tests to pass (renamed?)" >&2; exit 1; }

$(AARCH64_RELEASE)/libmylib.so $(AARCH64_RELEASE)/libmylib.a &: $(RUST_SOURCES) | rust-target-$(AARCH64_TARGET)
	$(AARCH64_ENV) $(CARGO) build --release --lib --quiet --target $(AARCH64_TARGET)
	@# Programs linked against it look for the SONAME at run time.
	@ln -sf libmylib.so $(AARCH64_RELEASE)/libmylib.so.$(VERSION_MAJOR)

aarch64-lib: $(AARCH64_RELEASE)/libmylib.so

$(AARCH64_BUILD)/test_mylib: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(AARCH64_RELEASE)/libmylib.so
	@mkdir -p $(@D)
	$(AARCH64_CC) -std=c99 -O1 -g $(CWARN) $(AARCH64_SANITIZE) $(AARCH64_CDEFS) -Iinclude -I$(BUILD) $< -o $@ \
	  -L$(AARCH64_RELEASE) -lmylib -lpthread -lm -Wl,-rpath,$(abspath $(AARCH64_RELEASE))

$(AARCH64_BUILD)/test_mylib_static: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(AARCH64_RELEASE)/libmylib.a
	@mkdir -p $(@D)
	$(AARCH64_CC) -std=c99 -O1 -g $(CWARN) $(AARCH64_SANITIZE) $(AARCH64_CDEFS) -Iinclude -I$(BUILD) $< -o $@ \
	  $(AARCH64_RELEASE)/libmylib.a -lpthread -lm -ldl

test-aarch64-c: $(AARCH64_BUILD)/test_mylib $(AARCH64_BUILD)/test_mylib_static
	@readelf -h $(AARCH64_BUILD)/test_mylib | grep -q 'AArch64' || { echo "not an aarch64 binary" >&2; exit 1; }
	@for t in $^; do echo "== $$t (aarch64, under $(QEMU_AARCH64))"; \
	  $(AARCH64_SAN_ENV) $(AARCH64_RUN) ./$$t | grep -v '^ok '; done
	@echo "== $(AARCH64_BUILD)/test_mylib with MYLIB_KERNEL=portable (aarch64)"
	@MYLIB_KERNEL=portable $(AARCH64_SAN_ENV) $(AARCH64_RUN) ./$(AARCH64_BUILD)/test_mylib | tail -n1
