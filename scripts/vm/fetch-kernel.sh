#!/bin/bash
# Fetch (apt-get download; never installed) and unpack a Debian amd64 kernel
# for the guest, plus an uncompressed vmlinux for fast PVH boot.
# From the vmlab recipe (shared/vmlab/fetch-kernel.sh).
#
# usage: fetch-kernel.sh SUITE
#   SUITE: bookworm          -> 6.1 (newest of bookworm, -security, -updates):
#                               rxe cannot change netns (EOPNOTSUPP)
#          bookworm-backports, trixie -> 6.12 (same limit)
#          trixie-backports  -> 7.x: rxe moves between netns
# env:   VM_CACHE (default /var/cache/sriov-rdma-vm)
# stdout: shell assignments KVER= KROOT= VMLINUZ= VMLINUX=
#
# Package layouts: linux-image-X carries /boot + /lib/modules (6.1, 6.12);
# on 7.x linux-image-X is split into linux-binary-X + linux-modules-X with
# /usr/lib/modules/X/{vmlinuz,kernel}. Both are handled.
# When apt cannot resolve or fetch the suite but a kernel of it was cached
# before, that one is used: a mirror hiccup does not stop a warm machine.
set -euo pipefail
trap 'echo "fetch-kernel: line $LINENO: exit $?" >&2' ERR
SUITE=$1
CACHE=${VM_CACHE:-/var/cache/sriov-rdma-vm}
HERE=$(dirname "$(readlink -f "$0")")
mkdir -p "$CACHE/kernels" "$CACHE/suites"

case $SUITE in
  bookworm) pat=' bookworm(-security|-updates)?/' ;;
  *)        pat=" $SUITE/" ;;
esac

emit() { # $1 = kernel dir
  local d=$1 kver
  kver=$(basename "$d")
  echo "KVER=$kver"
  if [ -d "$d/root/lib/modules/$kver" ]; then echo "KROOT=$d/root"; else echo "KROOT=$d/root/usr"; fi
  echo "VMLINUZ=$d/vmlinuz"
  echo "VMLINUX=$d/vmlinux"
}

fallback() { # $1 = why
  local d
  d=$(readlink -f "$CACHE/suites/$SUITE" 2>/dev/null || true)
  if [ -n "$d" ] && [ -e "$d/.done" ]; then
    echo "fetch-kernel: $1; using cached $(basename "$d")" >&2
    emit "$d"
    exit 0
  fi
  echo "fetch-kernel: $1" >&2
  exit 1
}

resolve() {
  local m
  m=$(apt-cache madison linux-image-amd64 2>/dev/null || true)
  VER=$(grep -E "$pat" <<<"$m" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -V | tail -1 || true)
}
resolve
[ -n "$VER" ] || fallback "no linux-image-amd64 in suite $SUITE (apt sources? run setup-host.sh)"
# The metapackage's first linux-image-*-amd64 dependency is the real image.
IMG=$(apt-cache show "linux-image-amd64=$VER" | awk '/^Depends:/ {print; exit}' |
      grep -oE 'linux-image-[0-9][^ ,]*-amd64' | head -1)
[ -n "$IMG" ] || fallback "cannot resolve the image package of linux-image-amd64=$VER"
KVER=${IMG#linux-image-}
D=$CACHE/kernels/$KVER

if [ ! -e "$D/.done" ]; then
  rm -rf "$D"
  mkdir -p "$D/debs" "$D/root"
  log=$D/fetch.log
  dl() { (cd "$D/debs" && apt-get download -q "$@") >>"$log" 2>&1; }
  if ! dl "$IMG"; then
    # Lists older than the mirror (backports move fast): refresh once.
    apt-get update -q >>"$log" 2>&1 || true
    dl "$IMG" || { tail -3 "$log" >&2; rm -rf "$D"; fallback "apt-get download $IMG failed"; }
  fi
  extra=$(dpkg-deb -f "$D"/debs/"$IMG"_*.deb Depends | tr ',' '\n' | awk '{print $1}' |
          grep -E '^linux-(binary|modules)-' | grep -F -- "-$KVER" | sort -u || true)
  for p in $extra; do
    dl "$p" || { tail -3 "$log" >&2; rm -rf "$D"; fallback "apt-get download $p failed"; }
  done
  for f in "$D"/debs/*.deb; do dpkg-deb -x "$f" "$D/root"; done
  rm -rf "$D/debs"
  Z=$(find "$D/root/boot" "$D/root/usr/lib/modules" -maxdepth 2 -name 'vmlinuz*' 2>/dev/null | head -1 || true)
  [ -n "$Z" ] || { echo "fetch-kernel: no vmlinuz in $IMG" >&2; exit 1; }
  ln -sf "$Z" "$D/vmlinuz"
  "$HERE/extract-vmlinux.sh" "$Z" "$D/vmlinux" 2>/dev/null
  touch "$D/.done"
  echo "fetch-kernel: $SUITE -> $KVER unpacked in $D ($(du -sh "$D" | cut -f1))" >&2
fi
ln -sfn "../kernels/$KVER" "$CACHE/suites/$SUITE"
# Kernels no suite points at any more (the suite moved on) are 200-450 MB
# each: drop them, and their initramfs.
for k in "$CACHE"/kernels/*/; do
  k=$(basename "$k")
  [ "$k" = "$KVER" ] && continue
  for s in "$CACHE"/suites/*; do
    [ "$(readlink "$s")" = "../kernels/$k" ] && continue 2
  done
  echo "fetch-kernel: dropping unused cached kernel $k" >&2
  rm -rf "${CACHE:?}/kernels/$k" "$CACHE/initramfs/$k"-*.cpio.gz
done
emit "$D"
