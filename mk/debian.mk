# The wheels where users are: in Debian systems made with debootstrap from
# Debian's archive (mk/debian-root.sh), kept under target/debian/ and rebuilt
# when missing or when their package list changes (`rm -r target/debian` for
# fresh ones). Each test installs the wheels of dist/ with pip from PyPI and
# runs the Python suite from / against them (tests/dist/wheel_suite.sh). They
# need root (debootstrap, chroot, mount) and the network (Debian's archive, PyPI).
#
#   make test-debian            the three below, two at a time (in .ci/run)
#   make test-debian-bullseye   Debian 11 (glibc 2.31, CPython 3.9), amd64: pip picks the
#                               cp39-abi3 x86_64 wheel (cffi_compiled); the whole suite
#   make test-debian-sid        Debian sid, amd64: CPython 3.14 and 3.15 pick the cp311-abi3
#                               wheel and capi; the whole suite on each. PyPy 3.11 (pypy3,
#                               PyPy 8.0) picks the pp311 wheel (cffi_compiled); the test
#                               modules that need neither numpy nor hypothesis (neither has
#                               a wheel for PyPy 8.0's pypy311_pp80 ABI)
#   make test-debian-arm64      Debian 12 bookworm, arm64, run by qemu-user from outside
#                               (no binfmt_misc): CPython 3.11 picks the cp311-abi3 aarch64
#                               wheel (capi), then the cp39-abi3 one in its place
#                               (cffi_compiled); the NEON kernels; what of the suite runs in
#                               reasonable time emulated (DEBIAN_ARM64_LEFT_OUT says the rest)
#   make debian-roots           the roots alone
#
# The sid root also builds the PyPy wheel (mk/dist.mk).

DEBIAN_DIR     := target/debian
DEBIAN_ROOT_SH := mk/debian-root.sh
DEBIAN_LOGS    := $(DEBIAN_DIR)/logs

# $(1): the root's name; $(2): Debian suite; $(3): Debian architecture; $(4): packages.
# Defines DEBIAN_ROOT_<name> (the directory) and DEBIAN_STAMP_<name> (made with it).
define debian_root
DEBIAN_ROOT_$(1)  := $(DEBIAN_DIR)/$(1)
DEBIAN_STAMP_$(1) := $(DEBIAN_DIR)/$(1)/.debian-arch
$(DEBIAN_DIR)/$(1).conf: FORCE
	@mkdir -p $$(@D)
	@echo '$(2) $(3) $(4)' | cmp -s - $$@ || echo '$(2) $(3) $(4)' > $$@
$(DEBIAN_DIR)/$(1)/.debian-arch: $(DEBIAN_DIR)/$(1).conf
	$(DEBIAN_ROOT_SH) create $(DEBIAN_DIR)/$(1) $(2) $(3) $(4)
endef

# gcc and libc6-dev: the suite compiles small C programs and libraries.
$(eval $(call debian_root,bullseye-amd64,bullseye,amd64,python3 python3-venv gcc libc6-dev))
# pypy3-dev: PyPy's headers, for building the PyPy wheel here.
$(eval $(call debian_root,sid-amd64,sid,amd64,python3.14 python3.14-venv python3.15 python3.15-venv pypy3 pypy3-venv pypy3-dev gcc libc6-dev))
# Nothing of it runs but Python, under qemu: no compiler (the host's cross gcc builds the suite's aarch64 libraries).
$(eval $(call debian_root,bookworm-arm64,bookworm,arm64,python3 python3-venv))

.PHONY: test-debian test-debian-bullseye test-debian-sid test-debian-arm64 debian-roots
CI_TARGETS += test-debian

debian-roots: $(DEBIAN_STAMP_bullseye-amd64) $(DEBIAN_STAMP_sid-amd64) $(DEBIAN_STAMP_bookworm-arm64)

# The three side by side, DEBIAN_JOBS at a time (the arm64 one is mostly one
# emulated process; the others wait on the network as much as on a core), the
# output of each kept together.
DEBIAN_JOBS ?= 2
test-debian: dist
	@$(MAKE) --no-print-directory -j$(DEBIAN_JOBS) --output-sync=target test-debian-bullseye test-debian-sid test-debian-arm64
	@echo "make test-debian: the wheels passed in Debian 11, Debian sid and Debian 12 arm64"

# What the suite reads of the checkout (tests/, include/, CONTRIBUTING.md...):
# its files, tracked or new (not ignored), copied to $(1); outside a git
# checkout, everything but the build output.
define debian_copy_checkout
	rm -rf $(1) && mkdir -p $(1) && \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done \
	    | tar --null -T - -cf - | tar -xf - -C $(1); \
	else tar --exclude=./target --exclude=./.venv --exclude=./dist --exclude=./.git -cf - . | tar -xf - -C $(1); fi
endef

# $(1): root name; $(2): the interpreter in it; $(3): the backend it must pick; $(4): wheel_suite.sh options.
# In the root: a fresh venv of $(2), then tests/dist/wheel_suite.sh; the log under $(DEBIAN_LOGS).
define debian_chroot_suite
	@log=$(abspath $(DEBIAN_LOGS))/$(1)-$(notdir $(2)).log; mkdir -p $(DEBIAN_LOGS); \
	echo "== $(1): $(2) (log: $$log)"; \
	$(DEBIAN_ROOT_SH) run $(DEBIAN_ROOT_$(1)) /bin/sh -c 'set -e; rm -rf /mylib-test/venv-$(notdir $(2)); \
	  $(2) -m venv /mylib-test/venv-$(notdir $(2)); \
	  exec /bin/sh /mylib-test/src/tests/dist/wheel_suite.sh /mylib-test/venv-$(notdir $(2)) /mylib-test/src /mylib-test/dist $(VERSION) $(3) $(4)' \
	  > $$log 2>&1 || { tail -n 60 $$log >&2; echo "test-debian: $(2) in $(1) failed (log: $$log)" >&2; exit 1; }; \
	grep -E '^(== [^=]|installed:|from /:|without )' $$log; echo "suite: $$(tail -n 1 $$log)"
endef

# The checkout and the wheels, staged inside root $(1) at /mylib-test.
define debian_stage
	@stage=$(DEBIAN_ROOT_$(1))/mylib-test; \
	$(call debian_copy_checkout,$$stage/src) && mkdir -p $$stage/dist && cp $(DIST)/*.whl $$stage/dist/
endef

test-debian-bullseye: dist $(DEBIAN_STAMP_bullseye-amd64)
	$(call debian_stage,bullseye-amd64)
	$(call debian_chroot_suite,bullseye-amd64,python3,cffi_compiled)

test-debian-sid: dist $(DEBIAN_STAMP_sid-amd64)
	$(call debian_stage,sid-amd64)
	$(call debian_chroot_suite,sid-amd64,python3.14,capi)
	$(call debian_chroot_suite,sid-amd64,python3.15,capi)
	$(call debian_chroot_suite,sid-amd64,pypy3,cffi_compiled,--without numpy --without hypothesis)

# ---------------------------------------------------------------- arm64, under qemu-user
# The root's Python runs under qemu-aarch64 from a virtualenv outside the root
# (debian-root.sh qemu), its children too; the suite's C libraries come from
# the host's aarch64 cross compiler. One venv: the cp311-abi3 wheel (pip's
# pick), then the cp39-abi3 one in its place.
DEBIAN_ARM64_WORK := $(abspath $(DEBIAN_DIR)/bookworm-arm64.work)
DEBIAN_ARM64_CC   ?= aarch64-linux-gnu-gcc
# What runs under emulation, where a test takes some ten times as long as natively
# (the whole suite: 15 minutes), and why the rest is left out:
# - the cp311-abi3 wheel through its default backend, capi (its C API module and
#   the library), and the tests that take no backend (test_kernel_paths: the NEON
#   kernels against the portable ones, bit for bit, through the wheel); the
#   cp39-abi3 wheel's own part, its cffi module, through test_api.py's
#   cffi_compiled tests (its library is the same file: make dist checks it). The
#   ctypes and cffi ABI backends call the same library through the same Python
#   code as on amd64, where they run.
# - test_loader.py, and the tests of environment variables and of stdout that
#   start fresh interpreters (5-15 s each here): none depends on the architecture;
#   they run natively and in the amd64 roots (stdout and the environment of the
#   aarch64 library: make test-aarch64's C suite, under qemu too).
# - test_exhausted_memory_is_no_memory_error_not_an_abort and
#   test_a_huge_strided_view_is_not_copied: qemu-user accepts
#   setrlimit(RLIMIT_AS) without applying it (the limit would bind qemu itself), so
#   no allocation is refused (make test-aarch64 skips under_rlimit_as for that).
DEBIAN_ARM64_LEFT_OUT ?= --ignore=$(DEBIAN_ARM64_WORK)/src/tests/python/test_loader.py \
  $(addprefix --deselect ,$(addprefix test_api.py::,test_exhausted_memory_is_no_memory_error_not_an_abort \
    test_write_to_closed_stdout_raises_io_error test_mylib_num_threads_environment test_mylib_debug_env) \
    test_package.py::test_mylib_backend_env_forces_backend test_exact.py::test_a_huge_strided_view_is_not_copied)
DEBIAN_ARM64_BACKENDS := ctypes_binding cffi_binding cffi_compiled capi
# -k: the tests of backend $(1), and those that take no backend.
debian_arm64_only = -k "$(1) or not ($(subst $(eval) , or ,$(strip $(DEBIAN_ARM64_BACKENDS))))"

# $(1): a name for the run; $(2): the backend it must pick; $(3): wheel_suite.sh options.
define debian_qemu_suite
	@log=$(abspath $(DEBIAN_LOGS))/bookworm-arm64-$(1).log; mkdir -p $(DEBIAN_LOGS); \
	echo "== bookworm-arm64 (qemu-aarch64): $(1) (log: $$log)"; \
	CC=$(DEBIAN_ARM64_CC) PIP_NO_COMPILE=1 tests/dist/wheel_suite.sh $(DEBIAN_ARM64_WORK)/venv $(DEBIAN_ARM64_WORK)/src $(DEBIAN_ARM64_WORK)/dist \
	    $(VERSION) $(2) $(3) > $$log 2>&1 \
	  || { tail -n 60 $$log >&2; echo "test-debian-arm64: $(1) failed (log: $$log)" >&2; exit 1; }; \
	grep -E '^(== [^=]|installed:|from /:)' $$log; echo "suite: $$(tail -n 1 $$log)"
endef

test-debian-arm64: dist $(DEBIAN_STAMP_bookworm-arm64)
	@command -v $(DEBIAN_ARM64_CC) >/dev/null || { echo "$(DEBIAN_ARM64_CC) not found: apt-get install gcc-aarch64-linux-gnu" >&2; exit 1; }
	@$(call debian_copy_checkout,$(DEBIAN_ARM64_WORK)/src) && rm -rf $(DEBIAN_ARM64_WORK)/dist && mkdir -p $(DEBIAN_ARM64_WORK)/dist \
	  && cp $(DIST)/*_aarch64.whl $(DEBIAN_ARM64_WORK)/dist/
	@echo "== a virtualenv of the root's python3, run by qemu-aarch64 (log: $(abspath $(DEBIAN_LOGS))/bookworm-arm64-venv.log)"
	@mkdir -p $(DEBIAN_LOGS) && $(DEBIAN_ROOT_SH) qemu $(DEBIAN_ROOT_bookworm-arm64) /usr/bin/python3 $(DEBIAN_ARM64_WORK)/venv \
	  > $(DEBIAN_LOGS)/bookworm-arm64-venv.log 2>&1 || { cat $(DEBIAN_LOGS)/bookworm-arm64-venv.log >&2; exit 1; }
	$(call debian_qemu_suite,cp311,capi,-- $(DEBIAN_ARM64_LEFT_OUT) $(call debian_arm64_only,capi))
	$(call debian_qemu_suite,cp39,cffi_compiled,--wheel $$(ls $(DEBIAN_ARM64_WORK)/dist/*-cp39-abi3-*_aarch64.whl) \
	  --only test_api.py -- $(DEBIAN_ARM64_LEFT_OUT) -k cffi_compiled)
