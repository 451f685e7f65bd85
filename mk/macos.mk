# macOS (x86_64-apple-darwin, aarch64-apple-darwin): nothing here can link or
# run a macOS program, so `make check-macos` checks what needs no macOS SDK:
#   - the platform code compiles and is lint-clean: cargo clippy (a cargo check
#     plus lints) of the library, tests, benches and examples, -D warnings;
#   - the static library (no linker needed): its C functions are exactly the
#     header's, and it takes C's stdout from Apple's `__stdoutp`;
#   - the Makefile's file names without rustc (uname Darwin) are rustc's, and
#     its run-time name is the install name build.rs gives the dylib.
#
# Needs llvm-nm (Debian's llvm package; NM_MACHO= to use another Mach-O-aware
# nm); the rustup targets x86_64-apple-darwin and aarch64-apple-darwin are added
# when missing.

MACOS_TARGETS := x86_64-apple-darwin aarch64-apple-darwin
NM_MACHO ?= llvm-nm

CI_TARGETS += check-macos

.PHONY: check-macos

check-macos: $(addprefix rust-target-,$(MACOS_TARGETS))
	@for t in $(MACOS_TARGETS); do \
	  echo "== $$t: cargo clippy --all-targets"; \
	  $(CARGO) clippy --target $$t --all-targets --features test-panic --quiet -- -D warnings || exit 1; \
	  echo "== $$t: the static library"; \
	  $(CARGO) rustc --release --lib --crate-type staticlib --target $$t --quiet || exit 1; \
	  NM_MACHO=$(NM_MACHO) tests/macos/check_staticlib.sh target/$$t/release/libmylib.a tests/exported-symbols.txt || exit 1; \
	  echo "== $$t: the Makefile's names"; \
	  tests/windows/check_make_names.sh $$t Darwin || exit 1; \
	done
	@echo "make check-macos: compiled, lint-clean and checked for $(MACOS_TARGETS) (not linked, not run)"
