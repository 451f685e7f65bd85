# mylib — build, test, install.
#
#   make            build the release library (shared + static) and the Python modules
#   make demo       build and run the C and Python examples
#   make test       every test: Rust, header drift, exported symbols, C (sanitizers), install, Python
#   make bench      benchmarks (table, JSON, PNG under bench/results/), then BENCH_TARGETS
#   make bench-pypy the same under PyPy, with its goals (bench/results/bench-pypy.*)
#   make install    PREFIX=/usr/local DESTDIR=   (uninstall: same variables); installs the
#                   library, header, pkg-config (mylib, mylib-static) and CMake package
#   make header     copy the header generated from the Rust sources to include/mylib.h
#
# Every target works on a fresh clone, in any order, with -j. The library is a
# file target keyed on the Rust sources: `make install` on a built tree runs no
# cargo (so `sudo make install` works without Rust on root's PATH).
# Platform and tooling targets live in mk/*.mk, included below.

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

CARGO   ?= cargo
CC      ?= cc
CXX     ?= c++
PYTHON  ?= python3
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR     ?= $(LIBDIR)/cmake/mylib

VERSION       := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))

# The platform's library file names: asked of rustc when it is on PATH (so they
# are never assumed), else derived from uname (a built tree installed by a user
# without Rust, e.g. `sudo make install`).
HAVE_RUSTC := $(shell command -v rustc >/dev/null 2>&1 && echo yes)
ifeq ($(HAVE_RUSTC),yes)
  DYLIB_FILE     := $(shell rustc --print file-names --crate-type cdylib --crate-name mylib - </dev/null)
  STATICLIB_FILE := $(shell rustc --print file-names --crate-type staticlib --crate-name mylib - </dev/null)
else
  UNAME_S := $(shell uname -s)
  ifeq ($(UNAME_S),Darwin)
    DYLIB_FILE := libmylib.dylib
  else ifneq ($(filter MINGW% MSYS% CYGWIN%,$(UNAME_S)),)
    DYLIB_FILE := mylib.dll
  else
    DYLIB_FILE := libmylib.so
  endif
  STATICLIB_FILE := libmylib.a
endif
DYLIB_EXT     := $(suffix $(DYLIB_FILE))
ifeq ($(DYLIB_EXT),.so)
  DYLIB_SONAME := $(DYLIB_FILE).$(VERSION_MAJOR)
  DYLIB_REAL   := $(DYLIB_FILE).$(VERSION)
else ifeq ($(DYLIB_EXT),.dylib)
  DYLIB_SONAME := libmylib.$(VERSION_MAJOR).dylib
  DYLIB_REAL   := libmylib.$(VERSION).dylib
else
  DYLIB_SONAME := $(DYLIB_FILE)
  DYLIB_REAL   := $(DYLIB_FILE)
endif

RELEASE   := target/release
DYLIB     := $(RELEASE)/$(DYLIB_FILE)
STATICLIB := $(RELEASE)/$(STATICLIB_FILE)
HEADER    := include/mylib.h
GEN_HEADER := $(RELEASE)/include/mylib.h
LIBS_PRIVATE_FILE := $(RELEASE)/mylib-libs-private.txt
LIB_STAMP := $(RELEASE)/.mylib-built
BUILD     := target/c

# What the release library is built from: a change to any of these rebuilds it.
RUST_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock build.rs cbindgen.toml

CWARN   := -Wall -Wextra -Werror -pedantic
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
RPATH   := -Wl,-rpath,$(abspath $(RELEASE))

VENV    := .venv
VPY     := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.done

# The suites `make test` runs, in order; mk/*.mk fragments append theirs.
TEST_TARGETS := test-rust test-header test-vectors test-symbols test-c test-count test-install test-python test-pypy
# Suites .ci/run runs after `make demo` and `make test` (mk/*.mk fragments append theirs).
CI_TARGETS :=
# Benchmarks `make bench` runs after bench/run.py, one after the other (mk/*.mk fragments append theirs).
BENCH_TARGETS :=

.PHONY: all lib header demo test test-rust test-header test-vectors test-symbols test-c test-install test-python \
        test-pypy test-count install uninstall bench bench-pypy clean python venv ci-targets

include $(sort $(wildcard mk/*.mk))

all: lib python

# ---------------------------------------------------------------- the library
# One cargo run makes the shared and static libraries, the generated header
# (build.rs) and the list of system libraries the static library needs (for
# mylib.pc's Libs.private), asked of rustc itself. rustc prints that list only
# when it links, so a missing list forces the static library to be relinked.
lib: $(LIB_STAMP)

$(LIB_STAMP): $(RUST_SOURCES)
	@mkdir -p $(RELEASE)
	@if [ ! -s $(LIBS_PRIVATE_FILE) ]; then rm -f $(STATICLIB); fi
	$(CARGO) rustc --release --lib --quiet -- --print native-static-libs 2> $(RELEASE)/cargo-lib.log \
	  || { cat $(RELEASE)/cargo-lib.log >&2; exit 1; }
	@if grep -q 'native-static-libs:' $(RELEASE)/cargo-lib.log; then \
	  sed -n 's/.*native-static-libs: *//p' $(RELEASE)/cargo-lib.log | head -n1 > $(LIBS_PRIVATE_FILE); fi
	@test -s $(LIBS_PRIVATE_FILE) || { echo "rustc did not print native-static-libs: run 'make clean all'" >&2; exit 1; }
ifneq ($(DYLIB_SONAME),$(DYLIB_FILE))
	@# Programs linked against target/release look for the SONAME at run time.
	@ln -sf $(DYLIB_FILE) $(RELEASE)/$(DYLIB_SONAME)
endif
	@touch $@

$(DYLIB) $(STATICLIB) $(LIBS_PRIVATE_FILE) $(GEN_HEADER): $(LIB_STAMP) ;

# The committed header is the generated one: `make header` updates it.
header: $(GEN_HEADER)
	cp $(GEN_HEADER) $(HEADER)
	@echo "$(HEADER) updated from the Rust sources: commit it"

# ---------------------------------------------------------------- demo
demo: all
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CWARN) -Iinclude examples/c/demo.c -o $(BUILD)/demo -L$(RELEASE) -lmylib $(RPATH)
	@echo "== C demo (examples/c/demo.c)"; ./$(BUILD)/demo
	@echo "== Python ctypes demo"; $(VPY) examples/python/ctypes_demo.py
	@echo "== Python cffi demo";   $(VPY) examples/python/cffi_demo.py

# ---------------------------------------------------------------- tests
test: $(TEST_TARGETS)
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --features test-panic --quiet -- -D warnings
	$(CARGO) test --features test-panic

# The committed header is what cbindgen generates from the Rust sources.
test-header: $(GEN_HEADER)
	@cmp -s $(GEN_HEADER) $(HEADER) || { diff -u $(HEADER) $(GEN_HEADER) >&2 || true; \
	  echo "$(HEADER) differs from the header generated from the Rust sources ($(GEN_HEADER))." >&2; \
	  echo "Run 'make header' and commit $(HEADER)." >&2; exit 1; }
	@echo "header: $(HEADER) is the generated one"

# The vector file of hard sums is what its generator writes (Python stdlib only).
test-vectors:
	$(PYTHON) tests/vectors/generate.py --check

test-symbols: $(DYLIB) $(HEADER)
	tests/check_symbols.sh $(DYLIB) $(HEADER) tests/exported-symbols.txt

C_TESTS := $(BUILD)/test_mylib $(BUILD)/test_mylib_static $(BUILD)/test_header_c99 $(BUILD)/test_header_cpp17

$(BUILD):
	@mkdir -p $@

# The vector file as a C include (no file I/O in the C suite: it runs under
# Wine and qemu too); every build of tests/c/test_mylib.c includes it.
VECTORS     := tests/vectors/sum_f64.txt
VECTORS_INC := $(BUILD)/sum_f64_vectors.inc
$(VECTORS_INC): $(VECTORS) tests/vectors/to_c.awk | $(BUILD)
	awk -f tests/vectors/to_c.awk $(VECTORS) > $@

$(BUILD)/test_mylib: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 -g $(CWARN) $(SANITIZE) -Iinclude -I$(BUILD) $< -o $@ -L$(RELEASE) -lmylib -lpthread -lm $(RPATH)

# The same suite linked statically against libmylib.a.
$(BUILD)/test_mylib_static: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(STATICLIB) $(LIBS_PRIVATE_FILE) | $(BUILD)
	$(CC) -std=c99 -g $(CWARN) $(SANITIZE) -Iinclude -I$(BUILD) $< -o $@ $(STATICLIB) $$(cat $(LIBS_PRIVATE_FILE)) -lpthread -lm

$(BUILD)/test_header_c99: tests/c/header_c99.c $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 $(CWARN) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lmylib $(RPATH)

$(BUILD)/test_header_cpp17: tests/c/header_cpp17.cpp $(HEADER) $(DYLIB) | $(BUILD)
	$(CXX) -std=c++17 -Wall -Wextra -Werror $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lmylib $(RPATH)

test-c: $(C_TESTS)
	@for t in $(C_TESTS); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ./$$t; done
	@echo "== $(BUILD)/test_mylib with MYLIB_KERNEL=portable (the non-SIMD fallback)"
	@MYLIB_KERNEL=portable ASAN_OPTIONS=detect_leaks=1 ./$(BUILD)/test_mylib | tail -n1

# Instructions per element of the hot kernels (callgrind): stable on a noisy machine.
test-count: $(DYLIB)
	tests/perf/check_instructions.sh $(RELEASE)

test-install: $(LIB_STAMP)
	tests/install/test_install.sh

test-python: $(VENV_STAMP) python
	$(VPY) -m pytest -q tests/python

# The same suite under PyPy (cffi is built into it), against the checkout's
# package with its PyPy build of the compiled module; said plainly when no pypy3.
PYPY      ?= pypy3
PYPY_VENV := target/pypy-venv
test-pypy: $(PKG_LIB) $(PKG_HEADER)
	@if ! command -v $(PYPY) >/dev/null 2>&1; then \
	  echo "test-pypy: $(PYPY) is not on PATH, so the Python suite did NOT run under PyPy (Debian: apt-get install pypy3 pypy3-dev pypy3-venv)"; \
	  exit 0; fi; \
	test -x $(PYPY_VENV)/bin/python || $(PYPY) -m venv $(PYPY_VENV); \
	$(PYPY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt; \
	$(PYPY_VENV)/bin/python bindings/python/build_cffi.py --inplace; \
	$(PYPY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/python

# ---------------------------------------------------------------- python
# A virtualenv with the pinned test requirements, made when missing.
venv: $(VENV_STAMP)
$(VENV_STAMP): tests/python/requirements.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	@touch $@

# The checkout's package gets what an installed one has: the library under the
# name the compiled modules need (its SONAME), the header, the compiled cffi
# module. The loader then follows one rule for both: the package's own copy.
PKG       := bindings/python/mylib
PKG_LIB   := $(PKG)/$(DYLIB_SONAME)
PKG_HEADER := $(PKG)/include/mylib.h
CFFI_STAMP := target/cffi/.built
CAPI_SO   := $(PKG)/_mylib_capi.abi3.so
python: $(PKG_LIB) $(PKG_HEADER) $(CFFI_STAMP) $(CAPI_SO)

$(PKG_LIB): $(DYLIB)
	cp $(DYLIB) $@

$(PKG_HEADER): $(HEADER)
	@mkdir -p $(@D)
	cp $(HEADER) $@

$(CFFI_STAMP): $(LIB_STAMP) $(VENV_STAMP) $(HEADER) bindings/python/build_cffi.py $(PKG)/_cdef.py
	$(VPY) bindings/python/build_cffi.py --inplace
	@mkdir -p $(@D) && touch $@

# The Python C API backend's extension: limited API 3.11 (abi3), linked to
# libmylib like the cffi module. CPython 3.11+ only (the venv's Python here).
CAPI_CFLAGS := -std=c99 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -Werror -Wno-missing-field-initializers
$(CAPI_SO): bindings/python/capi/mylib_capi.c $(HEADER) $(LIB_STAMP) $(VENV_STAMP)
	$(CC) -shared $(CAPI_CFLAGS) -I"$$($(VPY) -c 'import sysconfig; print(sysconfig.get_path("include"))')" -Iinclude \
	  $< -o $@ -L$(RELEASE) -lmylib -Wl,-rpath,'$$ORIGIN'

# ---------------------------------------------------------------- install
# pkg-config: mylib.pc links the shared library; mylib-static.pc links
# -lmylib_static, a second name of the archive (-lmylib picks libmylib.so
# whenever both are installed, whatever --static says).
# CMake: lib/cmake/mylib/mylibConfig{,Version}.cmake (cmake/), relocatable.
STATICLIB_ALIAS := $(patsubst %mylib$(suffix $(STATICLIB_FILE)),%mylib_static$(suffix $(STATICLIB_FILE)),$(STATICLIB_FILE))
INSTALLED := $(DESTDIR)$(LIBDIR)/$(DYLIB_REAL) $(DESTDIR)$(LIBDIR)/$(STATICLIB_FILE) \
             $(DESTDIR)$(INCLUDEDIR)/mylib.h $(DESTDIR)$(PKGCONFIGDIR)/mylib.pc \
             $(DESTDIR)$(LIBDIR)/$(STATICLIB_ALIAS) $(DESTDIR)$(PKGCONFIGDIR)/mylib-static.pc \
             $(DESTDIR)$(CMAKEDIR)/mylibConfig.cmake $(DESTDIR)$(CMAKEDIR)/mylibConfigVersion.cmake
ifneq ($(DYLIB_REAL),$(DYLIB_FILE))
  INSTALLED += $(DESTDIR)$(LIBDIR)/$(DYLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(DYLIB_FILE)
endif
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
             -e 's|@VERSION@|$(VERSION)|' -e "s|@LIBS_PRIVATE@|$$(cat $(LIBS_PRIVATE_FILE))|"

# The install directories must be absolute (relative ones would land under the
# current directory and break the relocatable CMake package).
CHECK_DIRS = @for d in '$(PREFIX)' '$(LIBDIR)' '$(INCLUDEDIR)' '$(PKGCONFIGDIR)' '$(CMAKEDIR)'; do \
	  case $$d in /*) ;; *) echo "make: '$$d' is not an absolute path (PREFIX, LIBDIR, INCLUDEDIR, PKGCONFIGDIR, CMAKEDIR)" >&2; exit 1 ;; esac; done

install: $(DYLIB) $(STATICLIB) $(LIBS_PRIVATE_FILE) $(HEADER)
	$(CHECK_DIRS)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR)
	install -m 755 $(DYLIB) $(DESTDIR)$(LIBDIR)/$(DYLIB_REAL)
ifneq ($(DYLIB_REAL),$(DYLIB_FILE))
	ln -sf $(DYLIB_REAL) $(DESTDIR)$(LIBDIR)/$(DYLIB_SONAME)
	ln -sf $(DYLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(DYLIB_FILE)
endif
ifeq ($(DYLIB_EXT),.dylib)
	install_name_tool -id $(LIBDIR)/$(DYLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(DYLIB_REAL)
endif
	install -m 644 $(STATICLIB) $(DESTDIR)$(LIBDIR)/$(STATICLIB_FILE)
	ln -sf $(STATICLIB_FILE) $(DESTDIR)$(LIBDIR)/$(STATICLIB_ALIAS)
	install -m 644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/mylib.h
	$(PC_SED) mylib.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/mylib.pc
	$(PC_SED) mylib-static.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/mylib-static.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/mylib.pc $(DESTDIR)$(PKGCONFIGDIR)/mylib-static.pc
	VERSION='$(VERSION)' CMAKEDIR='$(CMAKEDIR)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' \
	  DYLIB='$(DYLIB)' DYLIB_REAL='$(DYLIB_REAL)' DYLIB_SONAME='$(DYLIB_SONAME)' \
	  STATICLIB_FILE='$(STATICLIB_FILE)' LIBS_PRIVATE="$$(cat $(LIBS_PRIVATE_FILE))" \
	  cmake/configure-package.sh $(DESTDIR)$(CMAKEDIR)
ifeq ($(DYLIB_EXT),.so)
	@if [ -z "$(DESTDIR)" ]; then echo "installed in $(LIBDIR): if that is a system directory (e.g. /usr/local/lib), run 'sudo ldconfig' once so programs find $(DYLIB_SONAME)"; fi
endif

# Removes exactly what install wrote, and the package's own CMake directory
# when it is left empty (shared directories such as lib/cmake stay).
uninstall:
	$(CHECK_DIRS)
	rm -f $(INSTALLED)
	@if [ -d $(DESTDIR)$(CMAKEDIR) ] && [ -z "$$(ls -A $(DESTDIR)$(CMAKEDIR))" ]; then rmdir $(DESTDIR)$(CMAKEDIR); fi

# ---------------------------------------------------------------- bench
bench: all
	$(VPY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(VPY) bench/run.py
	@for t in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$t; done

# The same under PyPy, in test-pypy's venv with the checkout's PyPy build of
# the compiled module (no plot: matplotlib is not pinned for PyPy).
bench-pypy: $(PKG_LIB) $(PKG_HEADER)
	@command -v $(PYPY) >/dev/null 2>&1 || { echo "bench-pypy: $(PYPY) is not on PATH (Debian: apt-get install pypy3 pypy3-dev pypy3-venv)" >&2; exit 1; }
	test -x $(PYPY_VENV)/bin/python || $(PYPY) -m venv $(PYPY_VENV)
	$(PYPY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	$(PYPY_VENV)/bin/python bindings/python/build_cffi.py --inplace
	$(PYPY_VENV)/bin/python bench/run.py

# A rustup target, added when missing: each cross suite and `make dist` asks
# for the ones it needs (rust-target-<triple>), so it works on a machine where
# nothing added them before. Without rustup, Rust's standard library for the
# target must already be there.
rust-target-%:
	@if command -v rustup >/dev/null 2>&1; then \
	  rustup target list --installed | grep -qx '$*' || rustup target add '$*'; \
	else \
	  test -d "$$(rustc --print sysroot)/lib/rustlib/$*/lib" \
	    || { echo "make: Rust's standard library for $* is missing, and there is no rustup to add it" >&2; exit 1; }; \
	fi

# The extra suites .ci/run runs, one per line.
ci-targets:
	@for t in $(CI_TARGETS); do echo $$t; done

clean:
	$(CARGO) clean
	rm -rf $(VENV) bindings/python/build
