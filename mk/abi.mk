# The C consumer's side of shipping: the CMake package test and the ABI baseline.
#
#   make test-cmake     CMake consumers (find_package, pkg_check_modules) of a DESTDIR install
#   make abi-check      the built library's ABI against abi/<host>/ (part of make test)
#   make abi-selftest   the checker against known breaks and additions (part of make test)
#   make abi-baseline   record the ABI on purpose (ABI_REF=<commit> to record a commit's)

.PHONY: test-cmake

# find_package(mylib CONFIG) with mylib::mylib and mylib::mylib_static, the
# version rule, relocation, and pkg-config from CMake (tests/install/test_cmake.sh).
test-cmake: $(LIB_STAMP)
	tests/install/test_cmake.sh

TEST_TARGETS += test-cmake

# ---------------------------------------------------------------- ABI baseline
# A release build has no DWARF for libabigail to read, so the ABI is read from
# the same release code built with debug info, in its own target directory
# (target/abi). The committed baseline is per host triple: abi/<triple>/.
.PHONY: abi-check abi-baseline abi-dump abi-selftest

ABI_HOST     := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
ABI_BASELINE := abi/$(ABI_HOST)
ABI_BUILD    := target/abi
ABI_LIB      := $(ABI_BUILD)/release/$(DYLIB_FILE)
ABI_CURRENT  := $(ABI_BUILD)/current
ABI_CARGO    := CARGO_PROFILE_RELEASE_DEBUG=2 CARGO_PROFILE_RELEASE_STRIP=none \
                CARGO_PROFILE_RELEASE_SPLIT_DEBUGINFO=off $(CARGO) build --release --lib --quiet

$(ABI_LIB): $(RUST_SOURCES)
	$(ABI_CARGO) --target-dir $(ABI_BUILD)
	@touch $@

# The ABI of the working tree, in target/abi/current.
abi-dump: $(ABI_CURRENT)/.dumped
$(ABI_CURRENT)/.dumped: $(ABI_LIB) $(HEADER) abi/abi.sh
	abi/abi.sh dump $(ABI_LIB) $(HEADER) $(ABI_CURRENT)
	@touch $@

# Fails on an incompatible change unless the SONAME changed with it; reports
# additions. Never writes the baseline.
abi-check: $(ABI_CURRENT)/.dumped
	abi/abi.sh compare $(ABI_BASELINE) $(ABI_CURRENT)

# Records the baseline, on purpose only: of the working tree, or of a commit
# (make abi-baseline ABI_REF=1fb4c3d), built from `git archive` in target/.
ABI_REF ?=
abi-baseline:
ifeq ($(ABI_REF),)
	$(MAKE) --no-print-directory abi-dump
	mkdir -p $(ABI_BASELINE)
	cp $(ABI_CURRENT)/libmylib.abi $(ABI_CURRENT)/types.abi $(ABI_BASELINE)/
	@echo "working tree of $$(git rev-parse --short HEAD)$$(git diff --quiet HEAD -- src Cargo.toml build.rs cbindgen.toml include || echo ' with uncommitted changes')" > $(ABI_BASELINE)/SOURCE
else
	@# tar -m: the sources get the current time, so cargo rebuilds mylib from
	@# them even when target/abi/ref/target holds another commit's build.
	rm -rf $(ABI_BUILD)/ref/src $(ABI_BUILD)/ref/dump && mkdir -p $(ABI_BUILD)/ref/src
	git archive --format=tar $(ABI_REF) | tar -x -m -C $(ABI_BUILD)/ref/src
	cd $(ABI_BUILD)/ref/src && $(ABI_CARGO) --target-dir ../target
	abi/abi.sh dump $(ABI_BUILD)/ref/target/release/$(DYLIB_FILE) $(ABI_BUILD)/ref/src/$(HEADER) $(ABI_BUILD)/ref/dump
	mkdir -p $(ABI_BASELINE)
	cp $(ABI_BUILD)/ref/dump/libmylib.abi $(ABI_BUILD)/ref/dump/types.abi $(ABI_BASELINE)/
	@echo "commit $$(git rev-parse $(ABI_REF)^{commit})" > $(ABI_BASELINE)/SOURCE
endif
	@echo "built with $$(rustc -V), $$(abidw --version), $$($(CC) --version | head -n1)" >> $(ABI_BASELINE)/SOURCE
	@cat $(ABI_BASELINE)/SOURCE
	@echo "abi-baseline: recorded in $(ABI_BASELINE): review and commit it"

# The checker itself, against known breaks and additions (abi/selftest.sh).
abi-selftest: $(DYLIB)
	abi/selftest.sh $(ABI_BASELINE) $(DYLIB)

# ELF platforms: libabigail reads ELF and DWARF.
ifeq ($(DYLIB_EXT),.so)
  TEST_TARGETS += abi-check abi-selftest
endif
