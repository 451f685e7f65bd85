#!/usr/bin/env bash
# The ABI checker against known changes. Each case edits a copy of the
# sources, builds it with debug info (no LTO, opt-level 0: the same ABI, built
# faster), takes the header that build generated, and compares with the
# baseline exactly as `make abi-check` does:
#
#   unchanged                               pass   the additions since the baseline reported
#   set_debug(int) -> set_debug(int64_t)    FAIL   a parameter type (issue 9's example)
#   the same, with the major version bumped pass   new SONAME: an intentional break
#   MYLIB_ERR_IO = 5 -> 15                  FAIL   an enumerator's value (in no signature)
#   Point gains a member                    FAIL   a struct's layout
#   mylib_get_debug no longer exported      FAIL   a removed function
#   a new function and a new status code    pass   both reported as additions
#
# and a library without debug info (the release build) is refused.
#
#   usage: selftest.sh BASELINE_DIR [RELEASE_LIBRARY]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: selftest.sh BASELINE_DIR}
CARGO=${CARGO:-cargo}
work=target/abi-selftest
tree=$work/tree
mkdir -p "$work"

major=$(sed -n 's/^version = "\([0-9]*\)\..*/\1/p' Cargo.toml | head -n1)
[ -n "$major" ] || { echo "abi-selftest: no version in Cargo.toml" >&2; exit 2; }

# edit FILE PERL: a substitution on the whole file that must match.
edit() {
  perl -0pi -e "\$n += ($2); END { exit(\$n ? 0 : 1) }" "$tree/$1" \
    || { echo "abi-selftest: the edit '$2' no longer matches $1: update abi/selftest.sh" >&2; exit 2; }
}

mutate() {
  case $1 in
    unchanged) ;;
    set-debug-i64)
      edit src/capi.rs 's/fn set_debug\(enabled: c_int\)/fn set_debug(enabled: i64)/' ;;
    set-debug-i64-new-soname)
      edit src/capi.rs 's/fn set_debug\(enabled: c_int\)/fn set_debug(enabled: i64)/'
      edit Cargo.toml "s/^version = \"[^\"]*\"/version = \"$((major + 1)).0.0\"/m" ;;
    status-renumbered)
      edit src/error.rs 's/MylibErrIo = 5,/MylibErrIo = 15,/' ;;
    point-grows)
      edit src/capi.rs 's/(    pub y: c_int,\n)/$1    \/\/\/ Depth.\n    pub z: c_int,\n/'
      edit src/capi.rs 's/const _: \(\) = assert!\(size_of::<Point>\(\) == 2 \* size_of::<c_int>\(\)\);\n//' ;;
    function-removed)
      edit src/capi.rs 's/#\[unsafe\(no_mangle\)\]\n(pub extern "C" fn mylib_get_debug)/$1/' ;;
    additions)
      edit src/error.rs 's/(    MylibErrCallbackFailed = 8,\n)/$1    \/\/\/ Self-test status.\n    MylibErrSelftest = 99,\n/'
      edit src/error.rs 's/(            MylibStatus::MylibErrCallbackFailed => [^\n]*\n)/$1            MylibStatus::MylibErrSelftest => c"self-test",\n/'
      printf '\n/// Self-test addition.\n#[unsafe(no_mangle)]\npub extern "C" fn mylib_abi_selftest_added(x: c_int) -> c_int {\n    x\n}\n' >>"$tree/src/capi.rs" ;;
    *) echo "abi-selftest: unknown case $1" >&2; exit 2 ;;
  esac
}

# case NAME EXPECTED_EXIT PATTERN...: every PATTERN (grep -E) must be in the output.
failures=0
run_case() {
  local name=$1 expected=$2; shift 2
  rm -rf "$tree" && mkdir -p "$tree"
  # Everything the manifest names (its [[test]] and [[example]] targets too), so cargo can parse it.
  cp -r src bench tests Cargo.toml Cargo.lock build.rs cbindgen.toml "$tree/"
  mutate "$name"
  (cd "$tree" && CARGO_PROFILE_RELEASE_DEBUG=2 CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
     CARGO_PROFILE_RELEASE_SPLIT_DEBUGINFO=off "$CARGO" build --release --lib --quiet --target-dir ../target) \
    || { echo "abi-selftest: $name: the edited sources did not build" >&2; exit 2; }
  abi/abi.sh dump "$work/target/release/libmylib.so" "$work/target/release/include/mylib.h" "$work/$name" >/dev/null
  local rc=0
  abi/abi.sh compare "$base" "$work/$name" >"$work/$name.log" 2>&1 || rc=$?
  local ok=1 pattern
  [ "$rc" = "$expected" ] || ok=0
  for pattern in "$@"; do grep -Eq -- "$pattern" "$work/$name.log" || { ok=0; echo "    missing: $pattern"; }; done
  if [ "$ok" = 1 ]; then
    printf 'abi-selftest: %-26s exit %s as expected: %s\n' "$name" "$rc" "$(grep -E -m1 -- "$1" "$work/$name.log" | sed 's/^ *//')"
  else
    echo "abi-selftest: $name: exit $rc, expected $expected; output:" >&2
    sed 's/^/    /' "$work/$name.log" >&2
    failures=$((failures + 1))
  fi
}

run_case unchanged 0 "OK: "
run_case set-debug-i64 1 "FAILED: .* incompatible" "set_debug\(i32\)" "type name changed from 'i32' to 'i64'"
run_case set-debug-i64-new-soname 0 "intentional ABI break" "libmylib\.so\.$major -> libmylib\.so\.$((major + 1))" \
  "set_debug\(i32\)"
run_case status-renumbered 1 "'mylib_status::MYLIB_ERR_IO' from value '5' to '15'" "FAILED: "
run_case point-grows 1 "type size changed from 64 to 96" "'i32 z', at offset 64" "FAILED: "
run_case function-removed 1 "1 Removed function" "mylib_get_debug" "FAILED: "
run_case additions 0 "MYLIB_ERR_SELFTEST' value '99'" "\[A\] 'function i32 .*mylib_abi_selftest_added" "OK: "

if [ -n "${2:-}" ]; then
  rc=0; abi/abi.sh dump "$2" include/mylib.h "$work/no-dwarf" >"$work/no-dwarf.log" 2>&1 || rc=$?
  if [ "$rc" = 2 ] && grep -q "described by debug info" "$work/no-dwarf.log"; then
    printf 'abi-selftest: %-26s exit 2 as expected: %s\n' no-debug-info "$(head -n1 "$work/no-dwarf.log")"
  else
    echo "abi-selftest: dump of $2 (no debug info) was not refused (exit $rc):" >&2; cat "$work/no-dwarf.log" >&2
    failures=$((failures + 1))
  fi
fi

[ "$failures" = 0 ] || { echo "abi-selftest: $failures case(s) failed" >&2; exit 1; }
echo "abi-selftest: the checker fails on each incompatible change and passes additions and SONAME bumps"
