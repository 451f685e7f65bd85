#!/usr/bin/env bash
# Writes mylib's CMake package (mylibConfig.cmake, mylibConfigVersion.cmake)
# from the templates next to this script. Run by `make install`; needs only a
# POSIX shell, sed and od (no CMake, no Rust).
#
#   usage: configure-package.sh OUTDIR
#   environment: VERSION CMAKEDIR LIBDIR INCLUDEDIR DYLIB DYLIB_REAL DYLIB_SONAME
#                STATICLIB_FILE LIBS_PRIVATE
#
# CMAKEDIR, LIBDIR and INCLUDEDIR are the final (non-DESTDIR) install
# directories; the package stores only the paths between them, relative, so
# it is relocatable. DYLIB is the built shared library, read for its pointer
# size. LIBS_PRIVATE is rustc's native-static-libs line.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too
here=$(cd "$(dirname "$0")" && pwd)
out=$1
: "${VERSION:?}" "${CMAKEDIR:?}" "${LIBDIR:?}" "${INCLUDEDIR:?}" "${DYLIB:?}" "${DYLIB_REAL:?}"
: "${DYLIB_SONAME:?}" "${STATICLIB_FILE:?}" "${LIBS_PRIVATE?}"

# An absolute path with '.', '..', repeated and trailing slashes resolved
# lexically (the directories need not exist yet).
normalize() {
  case $1 in /*) ;; *) echo "not an absolute path: $1" >&2; return 1 ;; esac
  local part parts out=()
  local IFS=/
  read -r -a parts <<<"$1"
  for part in "${parts[@]}"; do
    case $part in
      '' | .) ;;
      ..) [ ${#out[@]} -gt 0 ] && unset 'out[${#out[@]}-1]' ;;
      *) out+=("$part") ;;
    esac
  done
  echo "/${out[*]}"
}

# The relative path from directory $1 to path $2 (both absolute).
relpath() {
  local from to up=""
  from=$(normalize "$1")
  to=$(normalize "$2")
  while [ "$from" != / ] && [ "$to" != "$from" ] && [ "${to#"$from"/}" = "$to" ]; do
    from=${from%/*}; [ -n "$from" ] || from=/
    up="../$up"
  done
  if [ "$to" = "$from" ]; then rest=""
  elif [ "$from" = / ]; then rest=${to#/}
  else rest=${to#"$from"/}
  fi
  local rel="$up$rest"
  rel=${rel%/}
  echo "${rel:-.}"
}

# rustc's "-lfoo -lbar" as a CMake list "foo;bar"; "-framework X" stays one
# item, anything else is passed through as a link flag.
cmake_libs() {
  local out=() prev=""
  for tok in $1; do
    if [ "$prev" = -framework ]; then out+=("-framework $tok"); prev=""; continue; fi
    case $tok in
      -framework) prev=$tok ;;
      -l*) out+=("${tok#-l}") ;;
      *) out+=("$tok") ;;
    esac
  done
  local IFS=';'
  echo "${out[*]}"
}

# The pointer size from the ELF class byte; empty for other formats.
sizeof_void_p() {
  local ident
  ident=$(od -An -tx1 -N5 "$1" | tr -d ' \n')
  case $ident in
    7f454c4601) echo 4 ;;
    7f454c4602) echo 8 ;;
    *) echo "" ;;
  esac
}

cmakedir_to_libdir=$(relpath "$CMAKEDIR" "$LIBDIR")
cmakedir_to_includedir=$(relpath "$CMAKEDIR" "$INCLUDEDIR")
libs=$(cmake_libs "$LIBS_PRIVATE")
ptr=$(sizeof_void_p "$DYLIB")

# sed replacement text: escape \, & and the | delimiter.
esc() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

mkdir -p "$out"
for f in mylibConfig.cmake mylibConfigVersion.cmake; do
  sed -e "s|@VERSION@|$(esc "$VERSION")|g" \
      -e "s|@CMAKEDIR_TO_LIBDIR@|$(esc "$cmakedir_to_libdir")|g" \
      -e "s|@CMAKEDIR_TO_INCLUDEDIR@|$(esc "$cmakedir_to_includedir")|g" \
      -e "s|@DYLIB_REAL@|$(esc "$DYLIB_REAL")|g" \
      -e "s|@DYLIB_SONAME@|$(esc "$DYLIB_SONAME")|g" \
      -e "s|@STATICLIB_FILE@|$(esc "$STATICLIB_FILE")|g" \
      -e "s|@CMAKE_LIBS_PRIVATE@|$(esc "$libs")|g" \
      -e "s|@SIZEOF_VOID_P@|$(esc "$ptr")|g" \
      "$here/$f.in" > "$out/$f.tmp"
  if grep -n '@[A-Z_]*@' "$out/$f.tmp" >&2; then echo "$f: placeholder left unreplaced" >&2; exit 1; fi
  chmod 644 "$out/$f.tmp"
  mv "$out/$f.tmp" "$out/$f"
done
