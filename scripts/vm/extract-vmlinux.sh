#!/bin/bash
# Extract the uncompressed ELF vmlinux from a Debian bzImage (vmlinuz), so that
# QEMU boots it through the PVH entry point (-kernel vmlinux). That skips the
# in-guest decompressor, which under TCG costs 2 s (zstd) to 5 s (xz) of boot.
# Handles xz (6.1), zstd (6.12, 7.x) and gzip payloads.
# From the vmlab recipe (shared/vmlab/extract-vmlinux.sh).
# usage: extract-vmlinux.sh VMLINUZ OUT
set -euo pipefail
IN=$1 OUT=$2

# $1: magic as a grep -P pattern, $2...: decompressor command.
# The magic may also occur by chance inside the image, so every hit is tried
# until one decompresses to an ELF file.
try() {
  local magic=$1 off
  shift
  while read -r off; do
    tail -c +$((off + 1)) "$IN" | "$@" > "$OUT.tmp" 2>/dev/null || true
    if [ -s "$OUT.tmp" ] && [ "$(head -c 4 "$OUT.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
      mv "$OUT.tmp" "$OUT"
      return 0
    fi
  done < <(LC_ALL=C grep -obUaP "$magic" "$IN" | cut -d: -f1 || true)
  rm -f "$OUT.tmp"
  return 1
}

try '\xfd7zXZ\x00' xz -dc || try '\x28\xb5\x2f\xfd' zstd -dcq || try '\x1f\x8b\x08' gzip -dc || {
  echo "extract-vmlinux: no known compressed ELF payload in $IN" >&2
  exit 1
}
echo "extract-vmlinux: $OUT ($(du -h "$OUT" | cut -f1))" >&2
