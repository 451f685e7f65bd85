# Windows x86_64 (x86_64-pc-windows-gnu): the library cross-built by cargo,
# the C programs by mingw-w64, everything run under Wine.
#
#   make test-windows      mylib.dll, its import library and libmylib.a; their
#                          exports; the Rust tests, the C suite (against the DLL,
#                          statically, and as a UCRT program), the header
#                          programs and the demo, run under Wine
#   make install-windows   cross install for Windows: bin/mylib.dll,
#                          lib/libmylib.dll.a, lib/libmylib.a, include/mylib.h,
#                          lib/pkgconfig/mylib.pc under DESTDIR+PREFIX (PREFIX
#                          defaults to mingw-w64's sysroot, /usr/x86_64-w64-mingw32)
#   make uninstall-windows the same variables; removes exactly those files
#
# Needs Debian's gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64; the rustup
# target x86_64-pc-windows-gnu is added when missing.
#
# Wine runs in its own prefix, target/wine, made on first use. Wine 8.0 lacks
# bcryptprimitives.dll (a Windows 10 system DLL whose ProcessPrng Rust's
# standard library imports): a test-only one (tests/windows/bcryptprimitives.c)
# goes into that prefix's system32, where Windows has its own. The shipped
# mylib.dll is the plain cargo build.

WIN_TARGET    := x86_64-pc-windows-gnu
WIN_TRIPLE    := x86_64-w64-mingw32
WIN_CC        ?= $(WIN_TRIPLE)-gcc
WIN_CXX       ?= $(WIN_TRIPLE)-g++
WIN_OBJDUMP   ?= $(WIN_TRIPLE)-objdump
WIN_NM        ?= $(WIN_TRIPLE)-nm
WINE          ?= wine
WIN_RELEASE   := target/$(WIN_TARGET)/release
# The file names rustc gives (checked by tests/windows/check_make_names.sh);
# the import library is named after the DLL by rustc's windows-gnu linker step.
WIN_DLL       := $(WIN_RELEASE)/mylib.dll
WIN_IMPLIB    := $(WIN_RELEASE)/libmylib.dll.a
WIN_STATICLIB := $(WIN_RELEASE)/libmylib.a
WIN_LIBS_PRIVATE_FILE := $(WIN_RELEASE)/mylib-libs-private.txt
WIN_LIB_STAMP := $(WIN_RELEASE)/.mylib-built
WIN_BUILD     := target/windows
WINEPREFIX_DIR := $(abspath target/wine)
WINE_READY    := $(WINEPREFIX_DIR)/.mylib-ready
# Quiet, no Mono/Gecko installers, no X display needed.
WINE_ENV      := WINEPREFIX=$(WINEPREFIX_DIR) WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' DISPLAY= WINE=$(WINE)
WIN_CFLAGS    := -std=c99 -g $(CWARN) -Iinclude -I$(BUILD)
# A UCRT program from Debian's msvcrt-default mingw-w64: its specs with
# -lmsvcrt swapped for -lucrt (libucrt.a ships with mingw-w64-x86-64-dev), the
# headers told which CRT. MSVC and CPython programs are UCRT programs.
WIN_UCRT_SPECS := $(WIN_BUILD)/ucrt.specs
WIN_UCRT_FLAGS := -specs=$(WIN_UCRT_SPECS) -D_UCRT -D__MSVCRT_VERSION__=0xE00

WIN_SUITES := test_mylib test_mylib_static test_mylib_ucrt header_c99 header_cpp17
WIN_EXES   := $(addprefix $(WIN_BUILD)/,$(addsuffix .exe,$(WIN_SUITES) demo order_msvcrt order_ucrt test_prng))

CI_TARGETS += test-windows

.PHONY: test-windows windows-lib install-windows uninstall-windows platform-names

# ---------------------------------------------------------------- the library
windows-lib: $(WIN_LIB_STAMP)

# As the host's $(LIB_STAMP): one cargo run, and rustc's list of the system
# libraries the static library needs (printed only when it links).
$(WIN_LIB_STAMP): $(RUST_SOURCES) | rust-target-$(WIN_TARGET)
	@mkdir -p $(WIN_RELEASE)
	@if [ ! -s $(WIN_LIBS_PRIVATE_FILE) ]; then rm -f $(WIN_STATICLIB); fi
	$(CARGO) rustc --release --lib --quiet --target $(WIN_TARGET) -- --print native-static-libs 2> $(WIN_RELEASE)/cargo-lib.log \
	  || { cat $(WIN_RELEASE)/cargo-lib.log >&2; exit 1; }
	@if grep -q 'native-static-libs:' $(WIN_RELEASE)/cargo-lib.log; then \
	  sed -n 's/.*native-static-libs: *//p' $(WIN_RELEASE)/cargo-lib.log | head -n1 > $(WIN_LIBS_PRIVATE_FILE); fi
	@test -s $(WIN_LIBS_PRIVATE_FILE) || { echo "rustc did not print native-static-libs: rm -r $(WIN_RELEASE) and retry" >&2; exit 1; }
	@test -f $(WIN_DLL) && test -f $(WIN_IMPLIB) && test -f $(WIN_STATICLIB) \
	  || { echo "cargo did not make $(WIN_DLL), $(WIN_IMPLIB) and $(WIN_STATICLIB)" >&2; exit 1; }
	@touch $@

$(WIN_DLL) $(WIN_IMPLIB) $(WIN_STATICLIB) $(WIN_LIBS_PRIVATE_FILE): $(WIN_LIB_STAMP) ;

# ---------------------------------------------------------------- Wine
$(WINE_READY): tests/windows/bcryptprimitives.c tests/windows/bcryptprimitives.def
	@mkdir -p $(WINEPREFIX_DIR) $(WIN_BUILD)
	@echo "== Wine prefix $(WINEPREFIX_DIR)"
	$(WINE_ENV) $(WINE) wineboot --init > $(WIN_BUILD)/wineboot.log 2>&1 || { cat $(WIN_BUILD)/wineboot.log >&2; exit 1; }
	$(WINE_ENV) wineserver --wait
	$(WIN_CC) -shared -O2 $(CWARN) tests/windows/bcryptprimitives.c tests/windows/bcryptprimitives.def \
	  -o $(WINEPREFIX_DIR)/drive_c/windows/system32/bcryptprimitives.dll -lbcrypt
	@touch $@

# ---------------------------------------------------------------- C programs
$(WIN_BUILD):
	@mkdir -p $@

$(WIN_BUILD)/mylib.dll: $(WIN_DLL) | $(WIN_BUILD)
	cp $< $@

$(WIN_UCRT_SPECS): | $(WIN_BUILD)
	$(WIN_CC) -dumpspecs | sed 's/-lmsvcrt\b/-lucrt/g' > $@
	@grep -q -- '-lucrt' $@ || { echo "$(WIN_CC)'s specs name no -lmsvcrt to swap" >&2; rm -f $@; exit 1; }

# Linked as users link: -L<dir> -lmylib finds libmylib.dll.a before libmylib.a.
$(WIN_BUILD)/test_mylib.exe: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(WIN_IMPLIB) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_CFLAGS) $< -o $@ -L$(WIN_RELEASE) -lmylib

$(WIN_BUILD)/test_mylib_static.exe: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(WIN_STATICLIB) $(WIN_LIBS_PRIVATE_FILE) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_CFLAGS) $< -o $@ $(WIN_STATICLIB) $$(cat $(WIN_LIBS_PRIVATE_FILE))

$(WIN_BUILD)/test_mylib_ucrt.exe: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(WIN_IMPLIB) $(WIN_UCRT_SPECS) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_UCRT_FLAGS) $(WIN_CFLAGS) $< -o $@ -L$(WIN_RELEASE) -lmylib

$(WIN_BUILD)/header_c99.exe: tests/c/header_c99.c $(HEADER) $(WIN_IMPLIB) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_CFLAGS) $< -o $@ -L$(WIN_RELEASE) -lmylib

# libstdc++ and libgcc linked in, so the program needs no mingw-w64 DLLs.
$(WIN_BUILD)/header_cpp17.exe: tests/c/header_cpp17.cpp $(HEADER) $(WIN_IMPLIB) | $(WIN_BUILD)
	$(WIN_CXX) -std=c++17 -g -Wall -Wextra -Werror -Iinclude $< -o $@ -static-libgcc -static-libstdc++ -L$(WIN_RELEASE) -lmylib

$(WIN_BUILD)/demo.exe: examples/c/demo.c $(HEADER) $(WIN_IMPLIB) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_CFLAGS) $< -o $@ -L$(WIN_RELEASE) -lmylib

$(WIN_BUILD)/order_msvcrt.exe: tests/windows/order.c $(HEADER) $(WIN_IMPLIB) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_CFLAGS) $< -o $@ -L$(WIN_RELEASE) -lmylib

$(WIN_BUILD)/order_ucrt.exe: tests/windows/order.c $(HEADER) $(WIN_IMPLIB) $(WIN_UCRT_SPECS) | $(WIN_BUILD)
	$(WIN_CC) $(WIN_UCRT_FLAGS) $(WIN_CFLAGS) $< -o $@ -L$(WIN_RELEASE) -lmylib

$(WIN_BUILD)/test_prng.exe: tests/windows/test_prng.c tests/c/harness.h | $(WIN_BUILD)
	$(WIN_CC) $(WIN_CFLAGS) $< -o $@

# The demo on Linux, for the differential check against the Windows one.
$(WIN_BUILD)/demo-host: examples/c/demo.c $(HEADER) $(LIB_STAMP) | $(WIN_BUILD)
	$(CC) -std=c99 $(CWARN) -Iinclude $< -o $@ -L$(RELEASE) -lmylib $(RPATH)

# ---------------------------------------------------------------- the tests
# Runs one program under Wine from $(WIN_BUILD), where mylib.dll is.
WIN_RUN = cd $(WIN_BUILD) && env $(WINE_ENV)

test-windows: rust-target-$(WIN_TARGET) $(WIN_LIB_STAMP) $(WIN_EXES) $(WIN_BUILD)/mylib.dll $(WIN_BUILD)/demo-host $(WINE_READY)
	@echo "== the library: names, exports, header"
	tests/windows/check_make_names.sh $(WIN_TARGET) MINGW64_NT-10.0-19045 $(WIN_BUILD)/test_mylib.exe $(WIN_DLL)
	tests/windows/check_make_names.sh $(WIN_TARGET) MSYS_NT-10.0-19045 $(WIN_BUILD)/test_mylib.exe $(WIN_DLL)
	WIN_OBJDUMP=$(WIN_OBJDUMP) WIN_NM=$(WIN_NM) tests/windows/check_exports.sh $(WIN_DLL) $(WIN_IMPLIB) $(HEADER) tests/exported-symbols.txt
	@cmp -s $(WIN_RELEASE)/include/mylib.h $(HEADER) || { echo "the header generated for $(WIN_TARGET) differs from $(HEADER)" >&2; exit 1; }
	@echo "header: the one generated for $(WIN_TARGET) is $(HEADER)"
	@for f in $(WIN_BUILD)/test_mylib_ucrt.exe $(WIN_BUILD)/order_ucrt.exe; do \
	  imports=$$($(WIN_OBJDUMP) -p $$f | sed -n 's/^\tDLL Name: //p'); \
	  grep -qix 'api-ms-win-crt-stdio-l1-1-0.dll' <<<"$$imports" && ! grep -qix 'msvcrt.dll' <<<"$$imports" \
	    || { echo "$$f is not a UCRT program: $$imports" >&2; exit 1; }; done
	@echo "ucrt: test_mylib_ucrt.exe and order_ucrt.exe import the UCRT, not msvcrt.dll"
	@echo "== the test-only bcryptprimitives.dll (Wine 8.0 has none)"
	$(WIN_RUN) $(WINE) test_prng.exe | tail -n1
	@echo "== Rust clippy and tests for $(WIN_TARGET), run under Wine"
	$(CARGO) clippy --target $(WIN_TARGET) --all-targets --features test-panic --quiet -- -D warnings
	env $(WINE_ENV) CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$(WINE) \
	  $(CARGO) test --target $(WIN_TARGET) --features test-panic --quiet 2>&1 | grep -E '^(test result|error|failures|test .* FAILED)|panicked'
	@echo "== C suites under Wine"
	@for t in $(WIN_SUITES); do echo "== $$t.exe"; ( $(WIN_RUN) $(WINE) $$t.exe ) > $(WIN_BUILD)/$$t.log 2>&1 \
	  || { cat $(WIN_BUILD)/$$t.log; echo "$$t.exe failed under Wine" >&2; exit 1; }; \
	  grep -E 'FAIL|check failed' $(WIN_BUILD)/$$t.log || true; tail -n1 $(WIN_BUILD)/$$t.log; done
	@echo "== $(WIN_BUILD)/test_mylib.exe with MYLIB_KERNEL=portable (the non-SIMD fallback)"
	@$(WIN_RUN) MYLIB_KERNEL=portable $(WINE) test_mylib.exe | tail -n1
	@echo "== stdout order through a pipe, msvcrt.dll and UCRT programs"
	@env $(WINE_ENV) tests/windows/check_order.sh $(WIN_BUILD)/order_msvcrt.exe
	@env $(WINE_ENV) tests/windows/check_order.sh $(WIN_BUILD)/order_ucrt.exe
	@echo "== examples/c/demo.c under Wine: the same output as on Linux"
	@( $(WIN_RUN) $(WINE) demo.exe ) 2>/dev/null | tr -d '\r' > $(WIN_BUILD)/demo.out
	@./$(WIN_BUILD)/demo-host 2>/dev/null > $(WIN_BUILD)/demo-host.out
	@diff -u $(WIN_BUILD)/demo-host.out $(WIN_BUILD)/demo.out || { echo "demo.exe's output differs from Linux's" >&2; exit 1; }
	@echo "demo: $$(wc -l < $(WIN_BUILD)/demo.out) lines, identical to Linux's"
	@echo "== make install-windows"
	env $(WINE_ENV) WIN_CC=$(WIN_CC) WIN_OBJDUMP=$(WIN_OBJDUMP) tests/windows/test_install.sh
	@echo "make test-windows: all passed"

# ---------------------------------------------------------------- install
# PREFIX from the command line or the environment, else mingw-w64's sysroot:
# the host's /usr/local is no place for Windows binaries.
ifneq ($(filter command line environment,$(origin PREFIX)),)
  WIN_PREFIX := $(PREFIX)
else
  WIN_PREFIX := /usr/$(WIN_TRIPLE)
endif
WIN_INSTALLED := $(DESTDIR)$(WIN_PREFIX)/bin/mylib.dll $(DESTDIR)$(WIN_PREFIX)/lib/libmylib.dll.a \
                 $(DESTDIR)$(WIN_PREFIX)/lib/libmylib.a $(DESTDIR)$(WIN_PREFIX)/include/mylib.h \
                 $(DESTDIR)$(WIN_PREFIX)/lib/pkgconfig/mylib.pc

# Windows finds DLLs beside the program or on PATH, not in lib/: the DLL goes
# to bin/, the import library (what -lmylib links) and the static one to lib/.
install-windows: $(WIN_DLL) $(WIN_IMPLIB) $(WIN_STATICLIB) $(WIN_LIBS_PRIVATE_FILE) $(HEADER)
	install -d $(DESTDIR)$(WIN_PREFIX)/bin $(DESTDIR)$(WIN_PREFIX)/lib/pkgconfig $(DESTDIR)$(WIN_PREFIX)/include
	install -m 755 $(WIN_DLL) $(DESTDIR)$(WIN_PREFIX)/bin/mylib.dll
	install -m 644 $(WIN_IMPLIB) $(DESTDIR)$(WIN_PREFIX)/lib/libmylib.dll.a
	install -m 644 $(WIN_STATICLIB) $(DESTDIR)$(WIN_PREFIX)/lib/libmylib.a
	install -m 644 $(HEADER) $(DESTDIR)$(WIN_PREFIX)/include/mylib.h
	sed -e 's|@PREFIX@|$(WIN_PREFIX)|' -e 's|@LIBDIR@|$(WIN_PREFIX)/lib|' -e 's|@INCLUDEDIR@|$(WIN_PREFIX)/include|' \
	    -e 's|@VERSION@|$(VERSION)|' -e "s|@LIBS_PRIVATE@|$$(cat $(WIN_LIBS_PRIVATE_FILE))|" \
	    mylib.pc.in > $(DESTDIR)$(WIN_PREFIX)/lib/pkgconfig/mylib.pc
	chmod 644 $(DESTDIR)$(WIN_PREFIX)/lib/pkgconfig/mylib.pc

uninstall-windows:
	rm -f $(WIN_INSTALLED)

# ---------------------------------------------------------------- helpers
# The library file names this Makefile derived (tests/windows/check_make_names.sh).
platform-names:
	@echo DYLIB_FILE=$(DYLIB_FILE)
	@echo STATICLIB_FILE=$(STATICLIB_FILE)
	@echo DYLIB_SONAME=$(DYLIB_SONAME)
	@echo DYLIB_REAL=$(DYLIB_REAL)
