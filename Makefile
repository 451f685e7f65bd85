# mylib — build, test, install.
#
#   make            build the release library (shared + static) and include/mylib.h
#   make demo       build and run the C and Python examples
#   make test       every test: Rust, header drift, exported symbols, C (sanitizers), install, Python
#   make bench      benchmarks (table, JSON, PNG under bench/results/)
#   make install    PREFIX=/usr/local DESTDIR=   (uninstall: same variables)

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

CARGO   ?= cargo
CC      ?= cc
CXX     ?= c++
PYTHON  ?= python3
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

VERSION       := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))

# Ask the toolchain what the platform calls the libraries instead of assuming .so:
# libmylib.so / libmylib.dylib / mylib.dll, and libmylib.a / mylib.lib.
DYLIB_FILE    := $(shell rustc --print file-names --crate-type cdylib --crate-name mylib - </dev/null)
STATICLIB_FILE:= $(shell rustc --print file-names --crate-type staticlib --crate-name mylib - </dev/null)
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

RELEASE := target/release
DYLIB   := $(RELEASE)/$(DYLIB_FILE)
STATICLIB := $(RELEASE)/$(STATICLIB_FILE)
HEADER  := include/mylib.h
LIBS_PRIVATE_FILE := $(RELEASE)/mylib-libs-private.txt
BUILD   := target/c

CWARN   := -Wall -Wextra -Werror -pedantic
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
RPATH   := -Wl,-rpath,$(abspath $(RELEASE))

VENV    := .venv
VPY     := $(VENV)/bin/python

.PHONY: all lib demo test test-rust test-header test-symbols test-c test-install test-python test-pip test-count \
        install uninstall bench clean python venv

all: lib python

# The library, the header (build.rs) and the list of system libraries the static
# library needs (for mylib.pc's Libs.private), asked of rustc itself.
lib:
	$(CARGO) rustc --release --lib --quiet -- --print native-static-libs 2> $(RELEASE).log.tmp || { cat $(RELEASE).log.tmp >&2; exit 1; }
	@if grep -q 'native-static-libs:' $(RELEASE).log.tmp; then \
	  sed -n 's/.*native-static-libs: *//p' $(RELEASE).log.tmp | head -n1 > $(LIBS_PRIVATE_FILE); fi
	@rm -f $(RELEASE).log.tmp
	@test -s $(LIBS_PRIVATE_FILE) || { echo "missing $(LIBS_PRIVATE_FILE): run 'make clean all'" >&2; exit 1; }
ifneq ($(DYLIB_SONAME),$(DYLIB_FILE))
	@# Programs linked against target/release look for the SONAME at run time.
	@ln -sf $(DYLIB_FILE) $(RELEASE)/$(DYLIB_SONAME)
endif

# ---------------------------------------------------------------- demo
demo: all
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CWARN) -Iinclude examples/c/demo.c -o $(BUILD)/demo -L$(RELEASE) -lmylib $(RPATH)
	@echo "== C demo (examples/c/demo.c)"; ./$(BUILD)/demo
	@if [ -f examples/python/ctypes_demo.py ]; then $(MAKE) --no-print-directory venv; \
	  echo "== Python ctypes demo"; $(VPY) examples/python/ctypes_demo.py; \
	  echo "== Python cffi demo";   $(VPY) examples/python/cffi_demo.py; fi

# ---------------------------------------------------------------- tests
test: test-rust all test-header test-symbols test-c test-count test-install test-python test-pip
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --features test-panic --quiet -- -D warnings
	$(CARGO) test --features test-panic

# The committed header is what cbindgen generates: a build must not change it.
test-header: lib
	@git ls-files --error-unmatch $(HEADER) >/dev/null 2>&1 || { echo "$(HEADER) is not committed" >&2; exit 1; }
	@git diff --exit-code -- $(HEADER) || { echo "$(HEADER) drifted from the Rust sources: commit the regenerated header" >&2; exit 1; }
	@echo "header: no drift"

test-symbols: lib
	tests/check_symbols.sh $(DYLIB) $(HEADER) tests/exported-symbols.txt

C_TESTS := $(BUILD)/test_mylib $(BUILD)/test_mylib_static $(BUILD)/test_header_c99 $(BUILD)/test_header_cpp17

$(BUILD):
	@mkdir -p $@

$(BUILD)/test_mylib: tests/c/test_mylib.c tests/c/harness.h $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 -g $(CWARN) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lmylib -lpthread $(RPATH)

# The same suite linked statically against libmylib.a.
$(BUILD)/test_mylib_static: tests/c/test_mylib.c tests/c/harness.h $(HEADER) $(STATICLIB) lib | $(BUILD)
	$(CC) -std=c99 -g $(CWARN) $(SANITIZE) -Iinclude $< -o $@ $(STATICLIB) $$(cat $(LIBS_PRIVATE_FILE)) -lpthread

$(BUILD)/test_header_c99: tests/c/header_c99.c $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 $(CWARN) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lmylib $(RPATH)

$(BUILD)/test_header_cpp17: tests/c/header_cpp17.cpp $(HEADER) $(DYLIB) | $(BUILD)
	$(CXX) -std=c++17 -Wall -Wextra -Werror $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lmylib $(RPATH)

test-c: lib $(C_TESTS)
	@for t in $(C_TESTS); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ./$$t; done
	@echo "== $(BUILD)/test_mylib with MYLIB_KERNEL=portable (the non-SIMD fallback)"
	@MYLIB_KERNEL=portable ASAN_OPTIONS=detect_leaks=1 ./$(BUILD)/test_mylib | tail -n1

# Instructions per element of the hot kernels (callgrind): stable on a noisy machine.
test-count: lib
	tests/perf/check_instructions.sh $(RELEASE)

test-install: lib
	tests/install/test_install.sh

test-python: venv
	@if [ -d tests/python ]; then $(VPY) -m pytest -q tests/python; else echo "no Python tests yet"; fi

# pip install ./bindings/python into a fresh virtualenv, then, from /, with no
# environment variables: the bundled library and the compiled module are used,
# and the whole Python suite passes against the installed package.
PIPVENV := target/pip-venv
test-pip: lib
	rm -rf $(PIPVENV)
	$(PYTHON) -m venv $(PIPVENV)
	$(PIPVENV)/bin/python -m pip install --quiet --disable-pip-version-check ./bindings/python -r tests/python/requirements.txt
	cd / && out=$$(env -u MYLIB_LIBRARY -u MYLIB_BACKEND -u PYTHONPATH $(abspath $(PIPVENV))/bin/python -c \
	  "import mylib; print(mylib.add(2, 3), mylib.BACKEND)") && echo "from /: $$out" && test "$$out" = "5 cffi_compiled"
	cd / && env -u MYLIB_LIBRARY -u MYLIB_BACKEND -u PYTHONPATH MYLIB_TEST_INSTALLED=1 \
	  $(abspath $(PIPVENV))/bin/python -m pytest -q $(abspath tests/python)

# ---------------------------------------------------------------- python
# A virtualenv with the pinned test requirements, made when missing.
venv: $(VENV)/.done
$(VENV)/.done: tests/python/requirements.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	@touch $@

python:
	@if [ -f bindings/python/build_cffi.py ]; then $(MAKE) --no-print-directory venv && \
	  $(VPY) bindings/python/build_cffi.py --inplace; fi

# ---------------------------------------------------------------- install
INSTALLED := $(DESTDIR)$(LIBDIR)/$(DYLIB_REAL) $(DESTDIR)$(LIBDIR)/$(STATICLIB_FILE) \
             $(DESTDIR)$(INCLUDEDIR)/mylib.h $(DESTDIR)$(PKGCONFIGDIR)/mylib.pc
ifneq ($(DYLIB_REAL),$(DYLIB_FILE))
  INSTALLED += $(DESTDIR)$(LIBDIR)/$(DYLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(DYLIB_FILE)
endif

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(DYLIB) $(DESTDIR)$(LIBDIR)/$(DYLIB_REAL)
ifneq ($(DYLIB_REAL),$(DYLIB_FILE))
	ln -sf $(DYLIB_REAL) $(DESTDIR)$(LIBDIR)/$(DYLIB_SONAME)
	ln -sf $(DYLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(DYLIB_FILE)
endif
ifeq ($(DYLIB_EXT),.dylib)
	install_name_tool -id $(LIBDIR)/$(DYLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(DYLIB_REAL)
endif
	install -m 644 $(STATICLIB) $(DESTDIR)$(LIBDIR)/$(STATICLIB_FILE)
	install -m 644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/mylib.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e "s|@LIBS_PRIVATE@|$$(cat $(LIBS_PRIVATE_FILE))|" \
	    mylib.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/mylib.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/mylib.pc

uninstall:
	rm -f $(INSTALLED)

# ---------------------------------------------------------------- bench
bench: all venv
	$(VPY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(VPY) bench/run.py

clean:
	$(CARGO) clean
	rm -rf $(VENV) bindings/python/build
