#!/bin/bash
# Pack a directory as /payload/* into a newc cpio.gz appended to the base
# initramfs (the kernel unpacks concatenated archives in order), so the base,
# which is slow to build, is cached and only the payload changes per run.
# From the vmlab recipe (shared/vmlab/mkpayload.sh).
# usage: mkpayload.sh DIR OUT.cpio.gz     (DIR must hold an executable run.sh)
set -euo pipefail
DIR=$1 OUT=$2
[ -x "$DIR/run.sh" ] || { echo "mkpayload: $DIR/run.sh missing or not executable" >&2; exit 2; }
ST=$(mktemp -d /tmp/sriov-rdma-vm-payload.XXXXXX)
trap 'rm -rf "$ST"' EXIT
mkdir -p "$ST/payload"
cp -a "$DIR"/. "$ST/payload/"
(cd "$ST" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT"
