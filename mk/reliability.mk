# Reliability: the error slot's contract and thread teardown (C), exhausted
# memory under RLIMIT_AS (C), valgrind memcheck of the C suites, Miri, fuzzing.
#
#   make test-slot        the slot's contract and thread teardown, from C (ASan/UBSan)
#   make test-nomem       MYLIB_ERR_NO_MEMORY under a limited address space (forked children)
#   make test-valgrind    the C suites built without sanitizers, under valgrind memcheck
#   make test-fuzz-regressions   every input under fuzz/regressions/ replayed (stable Rust)
#   make test-miri        core, the exact sum (portable path, accumulator) and the C-API tests under Miri (nightly)
#   make fuzz FUZZ_SECONDS=N   every fuzz target for N seconds each (nightly, cargo-fuzz)
#   make fuzz-ci          a short fuzz run for CI (FUZZ_CI_SECONDS each)

.PHONY: test-slot test-nomem test-valgrind test-fuzz-regressions test-miri miri-setup \
        fuzz fuzz-ci fuzz-setup fuzz-build

# RLIMIT_AS with /proc, valgrind, memfd captures and libFuzzer: Linux. The
# slot's C test needs POSIX threads only.
ifeq ($(shell uname -s),Linux)
TEST_TARGETS += test-slot test-nomem test-valgrind test-fuzz-regressions
CI_TARGETS += test-miri fuzz-ci
else ifneq ($(OS),Windows_NT)
TEST_TARGETS += test-slot
CI_TARGETS += test-miri
endif

NIGHTLY ?= nightly

# ------------------------------------------------------------ the slot (C)
$(BUILD)/test_slot: tests/c/test_slot.c tests/c/harness.h $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 -g $(CWARN) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lmylib -lpthread $(RPATH)

$(BUILD)/test_slot_static: tests/c/test_slot.c tests/c/harness.h $(HEADER) $(STATICLIB) $(LIBS_PRIVATE_FILE) | $(BUILD)
	$(CC) -std=c99 -g $(CWARN) $(SANITIZE) -Iinclude $< -o $@ $(STATICLIB) $$(cat $(LIBS_PRIVATE_FILE)) -lpthread

test-slot: $(BUILD)/test_slot $(BUILD)/test_slot_static
	@for t in $^; do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ./$$t; done

# ------------------------------------------------------------ exhausted memory (C)
# No sanitizers: ASan cannot run under RLIMIT_AS.
$(BUILD)/test_nomem: tests/c/test_nomem.c tests/c/harness.h $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 -g -O1 $(CWARN) -Iinclude $< -o $@ -L$(RELEASE) -lmylib $(RPATH)

$(BUILD)/test_nomem_static: tests/c/test_nomem.c tests/c/harness.h $(HEADER) $(STATICLIB) $(LIBS_PRIVATE_FILE) | $(BUILD)
	$(CC) -std=c99 -g -O1 $(CWARN) -Iinclude $< -o $@ $(STATICLIB) $$(cat $(LIBS_PRIVATE_FILE))

test-nomem: $(BUILD)/test_nomem $(BUILD)/test_nomem_static
	@for t in $^; do echo "== $$t"; ./$$t; done

# ------------------------------------------------------------ valgrind memcheck
# The C suites again, built without sanitizers (valgrind and ASan exclude each
# other), linked against the shared library. Any memcheck error or leak (definite,
# indirect or possible) fails; "still reachable" memory (the C runtime's stdio
# buffers, Rust's once-initialised globals) is not a leak.
VALGRIND ?= valgrind
VALGRIND_FLAGS := --error-exitcode=99 --leak-check=full \
  --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
  --track-origins=yes --suppressions=tests/c/valgrind.supp
VALGRIND_TESTS := $(BUILD)/test_mylib_plain $(BUILD)/test_slot_plain

# A child forked while another thread is mid-sum inherits that thread's
# memory, which valgrind reports as lost when the child exits: that one test
# runs natively instead (make test-c-nosan). valgrind computes in
# round-to-nearest without FTZ/DAZ whatever the program sets: the
# floating-point environment test says so and checks the sums in the mode
# valgrind runs (make test-c runs it natively, every mode in effect).
$(BUILD)/test_mylib_plain: PLAIN_CDEFS := -DMYLIB_TEST_NO_FORK_DURING_THREADS='"under valgrind a forked child reports the other threads memory as lost; run natively by make test-c-nosan"' \
  -DMYLIB_TEST_ROUNDING_NOT_EMULATED='"valgrind computes in round-to-nearest; run natively by make test-c"' \
  -DMYLIB_TEST_FLUSH_NOT_EMULATED='"valgrind does not emulate FTZ/DAZ; run natively by make test-c"'
$(BUILD)/test_%_plain: tests/c/test_%.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(DYLIB) tests/c/valgrind.supp | $(BUILD)
	$(CC) -std=c99 -g -O1 $(CWARN) $(PLAIN_CDEFS) -Iinclude -I$(BUILD) $< -o $@ -L$(RELEASE) -lmylib -lpthread -lm $(RPATH)

# Runs one suite under memcheck: $(call memcheck,binary,label,env).
memcheck = log=$(BUILD)/valgrind-$(2).log; echo "== valgrind $(1) $(3)"; \
  env $(3) $(VALGRIND) $(VALGRIND_FLAGS) --log-file=$$log ./$(1) > $(BUILD)/valgrind-$(2).out \
    || { tail -n 5 $(BUILD)/valgrind-$(2).out; tail -n 40 $$log; echo "valgrind: $(1) failed (see $$log)" >&2; exit 1; }; \
  tail -n 1 $(BUILD)/valgrind-$(2).out; grep -hoE 'ERROR SUMMARY: [0-9]+ errors|All heap blocks were freed.*|definitely lost: .*' $$log

# valgrind does not emulate AVX-512, so the dispatch picks AVX2 under it; the
# portable kernels get their own run.
test-valgrind: $(VALGRIND_TESTS)
	@command -v $(VALGRIND) >/dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 1; }
	@$(call memcheck,$(BUILD)/test_mylib_plain,test_mylib,)
	@$(call memcheck,$(BUILD)/test_mylib_plain,test_mylib_portable,MYLIB_KERNEL=portable)
	@$(call memcheck,$(BUILD)/test_slot_plain,test_slot,)

# ------------------------------------------------------------ fuzz regressions (stable)
# The fuzz targets' checks live in fuzz/check (no libFuzzer), so every input
# under fuzz/regressions/<target>/ is replayed by a plain `cargo test`.
test-fuzz-regressions:
	$(CARGO) test --quiet --manifest-path fuzz/check/Cargo.toml

# ------------------------------------------------------------ Miri (nightly)
# Every test target under Miri (the unit tests of core, error, ffi, debug,
# parallel, and of the exact sum's parts: kernels::{exact,format,bins,
# strided,lanes}; tests/capi.rs; tests/nomem.rs), then the tests of the sums
# themselves (kernels::tests) that fit an interpreter. What Miri cannot run
# is excluded in the sources with cfg(miri): C stdio through libc
# (tests/stdout.rs), setrlimit and stderr redirection (parts of
# tests/nomem.rs), file reads (one test in tests/capi.rs: isolation),
# inline assembly (the MXCSR/FPCR tests), proptest and millions of values
# (tests/properties.rs, tests/vectors.rs, tests/threads.rs). CPU feature
# detection needs no exclusion: under Miri it reports no SIMD feature, so
# every kernel path resolves to the portable one, which is the one run.
# The other kernels::tests (10^3 to 10^6 values, the bit-by-bit reference
# per case) take minutes to hours interpreted and add sizes, not code
# paths: small_inputs_on_every_route takes every route of the f64 sum and
# the exact state (one by one, certified over blocks and threads, exact
# without and with bins, strided, NaN and overflow in a block, parts
# merged through bytes), and tests/capi.rs every export, every block/tail
# split of the portable kernel (sums_every_short_length_and_offset).
MIRI_KERNEL_TESTS := kernels::tests::detection kernels::tests::hard_cases \
  kernels::tests::small_threaded_sums kernels::tests::small_inputs_on_every_route \
  kernels::tests::the_default_floating_point_environment_is_detected
MIRIFLAGS ?=

miri-setup:
	@rustup run $(NIGHTLY) rustc --version >/dev/null 2>&1 || rustup toolchain install $(NIGHTLY) --profile minimal
	@rustup component list --toolchain $(NIGHTLY) --installed 2>/dev/null | grep -q '^miri' \
	  && rustup component list --toolchain $(NIGHTLY) --installed 2>/dev/null | grep -q '^rust-src' \
	  || rustup component add miri rust-src --toolchain $(NIGHTLY)

test-miri: miri-setup
	MIRIFLAGS="$(MIRIFLAGS)" $(CARGO) +$(NIGHTLY) miri test --quiet --features test-panic -- --skip kernels::tests::
	MIRIFLAGS="$(MIRIFLAGS)" $(CARGO) +$(NIGHTLY) miri test --quiet --features test-panic --lib -- --exact $(MIRI_KERNEL_TESTS) \
	  2>&1 | tee target/miri-kernels.log
	@grep -q 'test result: ok. $(words $(MIRI_KERNEL_TESTS)) passed' target/miri-kernels.log \
	  || { echo "test-miri: expected $(words $(MIRI_KERNEL_TESTS)) kernels tests to pass (renamed?)" >&2; exit 1; }

# ------------------------------------------------------------ fuzzing (nightly, cargo-fuzz)
FUZZ_SECONDS ?= 60
# Five targets since exact_sum joined the four: 16 s each keeps fuzz-ci at
# the 80 s of fuzzing it had.
FUZZ_CI_SECONDS ?= 16
FUZZ_TARGETS = $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))

fuzz-setup:
	@rustup run $(NIGHTLY) rustc --version >/dev/null 2>&1 || rustup toolchain install $(NIGHTLY) --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

fuzz-build: fuzz-setup
	cd fuzz && $(CARGO) +$(NIGHTLY) fuzz build

# Each target runs for FUZZ_SECONDS, starting from its corpus (fuzz/corpus/<t>,
# grown locally, not committed) and the committed regression inputs. A crash
# leaves its input under fuzz/artifacts/<t>/: copy it to fuzz/regressions/<t>/
# so that `make test` replays it for ever.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t for $(FUZZ_SECONDS)s"; mkdir -p target fuzz/corpus/$$t fuzz/regressions/$$t; \
	  (cd fuzz && $(CARGO) +$(NIGHTLY) fuzz run $$t corpus/$$t regressions/$$t -- \
	      -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2> ../target/fuzz-$$t.log) \
	    || { tail -n 60 target/fuzz-$$t.log >&2; echo "fuzz: $$t failed: see fuzz/artifacts/$$t/" >&2; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done' target/fuzz-$$t.log | tr '\n' ' '; echo; \
	done

fuzz-ci:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS)
