#!/usr/bin/env bash
# Debian systems made with debootstrap from Debian's archive, for building and
# testing the wheels where users are (mk/debian.mk, mk/dist.mk).
#
#   debian-root.sh create ROOT SUITE ARCH PACKAGE...
#       A minimal Debian SUITE for ARCH (debootstrap --variant=minbase) with
#       PACKAGEs and what they depend on, in ROOT. For this machine's own
#       architecture, a complete debootstrap. For another one (arm64 here):
#       `debootstrap --foreign`, then every fetched .deb unpacked; nothing in it
#       is configured or run here: qemu-user runs its programs from outside
#       (`qemu-aarch64 -L ROOT ...`, see `qemu` below). Built in ROOT.new and
#       renamed when complete, so an interrupted build is never taken for a root.
#       The .debs are kept in ROOT.debs (debootstrap --cache-dir) for a rebuild.
#   debian-root.sh run ROOT COMMAND...
#       COMMAND inside ROOT (chroot), from /, with a clean environment and its
#       own /proc, /dev/shm and /tmp, mounted in a private mount namespace (so
#       nothing stays mounted, whatever happens). pip inside reaches PyPI with
#       this machine's CA bundle, copied in first.
#   debian-root.sh qemu ROOT PYTHON VENV
#       For a root of another architecture: makes VENV (a path outside ROOT) a
#       virtualenv of ROOT's PYTHON (e.g. /usr/bin/python3) whose bin/python runs
#       under qemu-user. Its bin/python is a script that starts qemu, so the
#       interpreter's children (sys.executable: pip's, the tests') run under
#       qemu too, with no binfmt_misc registration on this machine.
#
# Needs root (debootstrap, chroot, mount), debootstrap, and for another
# architecture qemu-user (qemu-ARCH).
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Where Debian's pip (and OpenSSL) look for trusted certificates; filled from
# this machine's bundle (SSL_CERT_FILE when set, as OpenSSL has it).
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
HOST_CA_BUNDLE=${SSL_CERT_FILE:-$CA_BUNDLE}

die() { echo "debian-root.sh: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "$* needs root (debootstrap, chroot and mount): run make as root (sudo make ...)"
}

host_arch() { dpkg --print-architecture; }

qemu_for() {  # Debian architecture -> qemu-user binary
  case $1 in
    arm64) echo qemu-aarch64 ;;
    *) die "no qemu-user binary known for Debian architecture $1" ;;
  esac
}

copy_ca_bundle() {
  [ -s "$HOST_CA_BUNDLE" ] || die "no CA bundle at $HOST_CA_BUNDLE (SSL_CERT_FILE, else Debian's path): pip inside $1 could not reach PyPI (Debian: apt-get install ca-certificates)"
  mkdir -p "$1/etc/ssl/certs"
  # A real file (the root's own may be a dangling symlink, or a bundle without
  # the authorities this machine's network needs).
  rm -f "$1$CA_BUNDLE"
  cp "$HOST_CA_BUNDLE" "$1$CA_BUNDLE"
}

create() {
  local root=$1 suite=$2 arch=$3; shift 3
  local packages; packages=$(IFS=,; echo "$*")
  need_root "making a Debian root"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (Debian: apt-get install debootstrap)"
  local new=$root.new cache; cache=$(realpath -m "$root.debs")
  rm -rf "$new"
  mkdir -p "$cache" "$(dirname "$root")"
  local log=$root.log
  echo "debian-root: debootstrap $suite ($arch, minbase + $packages) into $root (log: $log)"
  if [ "$arch" = "$(host_arch)" ]; then
    # Both stages, the second one run here with dpkg's unsafe I/O (no fsync per
    # file: the root is a cache, rebuilt when lost) and in a private mount
    # namespace (the /proc and /sys it mounts cannot outlive it).
    debootstrap --foreign --variant=minbase --arch="$arch" --include="$packages" --cache-dir="$cache" \
      "$suite" "$new" "$MIRROR" > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "debootstrap of $suite ($arch) failed (log: $log)"; }
    mkdir -p "$new/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io > "$new/etc/dpkg/dpkg.cfg.d/mylib-unsafe-io"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      unshare --mount --propagation private chroot "$new" /debootstrap/debootstrap --second-stage >> "$log" 2>&1 \
      || { tail -n 30 "$log" >&2; die "debootstrap's second stage of $suite ($arch) failed (log: $log)"; }
    rm -f "$new/etc/dpkg/dpkg.cfg.d/mylib-unsafe-io"
  else
    command -v "$(qemu_for "$arch")" >/dev/null || die "$(qemu_for "$arch") is not installed (Debian: apt-get install qemu-user)"
    debootstrap --foreign --variant=minbase --arch="$arch" --include="$packages" --cache-dir="$cache" \
      "$suite" "$new" "$MIRROR" > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "debootstrap --foreign of $suite ($arch) failed (log: $log)"; }
    # The first stage unpacked only the required packages: unpack them all.
    local deb n=0
    for deb in "$new"/var/cache/apt/archives/*.deb; do
      dpkg-deb -x "$deb" "$new" || die "cannot unpack $deb"
      n=$((n + 1))
    done
    echo "debian-root: $n packages unpacked (not configured: run by qemu-user from outside)"
  fi
  rm -rf "$new"/var/cache/apt/archives/*.deb
  echo "$arch" > "$new/.debian-arch"
  copy_ca_bundle "$new"
  rm -rf "$root"
  mv "$new" "$root"
}

run() {
  local root; root=$(realpath "$1"); shift
  need_root "running a command in a Debian root"
  [ -x "$root/bin/sh" ] || die "$root is not a Debian root (no /bin/sh)"
  copy_ca_bundle "$root"
  # A private mount namespace and PID namespace: /proc is the namespace's
  # own, and every mount disappears with the command. The shell stays as the
  # namespace's PID 1 (the command is an ordinary process, as it would be on a
  # system; what it leaves running dies with the namespace).
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb \
    unshare --mount --pid --fork --propagation private --mount-proc="$root/proc" \
    /bin/sh -c 'root=$1; shift
      mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm" &&
      mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp" &&
      chroot "$root" "$@"' sh "$root" "$@"
}

qemu_venv() {
  local root python venv arch qemu
  root=$(realpath "$1"); python=$2; venv=$(realpath -m "$3")
  [ -x "$root$python" ] || die "$root has no $python"
  case $venv/ in "$root"/*) die "$venv must be outside $root (qemu-user would look for it inside)";; esac
  arch=$(cat "$root/.debian-arch" 2>/dev/null) || die "$root was not made by debian-root.sh create (no .debian-arch)"
  qemu=$(qemu_for "$arch")
  command -v "$qemu" >/dev/null || die "$qemu is not installed (Debian: apt-get install qemu-user)"
  rm -rf "$venv"
  # Without pip: ensurepip runs the new interpreter as a child, which needs the wrapper below.
  "$qemu" -L "$root" "$root$python" -m venv --without-pip "$venv"
  local real; real=$(readlink -f "$root$python")
  rm -f "$venv/bin/python" "$venv/bin/python3"
  ln -sf "$real" "$venv/bin/python-$arch"
  # argv[0] (-0) is the script: sys.executable, so children start here too.
  printf '#!/bin/sh\nexec %s -L %s -0 "$0" %s "$@"\n' "$(command -v "$qemu")" "$root" "$venv/bin/python-$arch" > "$venv/bin/python"
  chmod +x "$venv/bin/python"
  ln -s python "$venv/bin/python3"
  "$venv/bin/python" -m ensurepip --default-pip > "$venv.ensurepip.log" 2>&1 \
    || { cat "$venv.ensurepip.log" >&2; die "ensurepip failed in $venv"; }
}

cmd=${1:-}; shift || true
case $cmd in
  create) [ $# -ge 3 ] || die "usage: debian-root.sh create ROOT SUITE ARCH PACKAGE..."; create "$@" ;;
  run) [ $# -ge 2 ] || die "usage: debian-root.sh run ROOT COMMAND..."; run "$@" ;;
  qemu) [ $# -eq 3 ] || die "usage: debian-root.sh qemu ROOT PYTHON VENV"; qemu_venv "$@" ;;
  *) die "usage: debian-root.sh create|run|qemu ..." ;;
esac
