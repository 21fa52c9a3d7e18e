#!/bin/sh
# install.sh [-d DIR] [BINARY]: installs the sriov-rdma plugin binary into the
# CNI bin directory DIR (default /opt/cni/bin) as DIR/sriov-rdma.
#
# The copy is atomic: the binary is written to a temporary file in DIR,
# fsync'd, made 0755, then renamed over DIR/sriov-rdma. A runtime exec'ing
# the plugin at any moment gets the old binary or the new one, never half of
# one, and an ADD still running keeps its old inode (copying over a running
# binary in place would fail with ETXTBSY or, worse, change it under it).
# Running it again with the same binary changes nothing.
#
# BINARY defaults to bin/sriov-rdma next to this script's parent directory
# (the repository after `make build`, or /opt/sriov-rdma in the image).
set -eu

prog=$(basename "$0")
name=sriov-rdma

usage() {
  echo "usage: $prog [-d DIR] [BINARY]" >&2
  echo "  installs BINARY (default bin/sriov-rdma) as DIR/$name (default DIR /opt/cni/bin), atomically" >&2
}

die() {
  echo "$prog: $*" >&2
  exit 1
}

dir=/opt/cni/bin
while getopts d:h opt; do
  case $opt in
    d) dir=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -gt 1 ]; then
  usage
  exit 2
fi

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
src=${1:-$here/../bin/$name}

[ -n "$dir" ] || die "the CNI bin directory (-d) is empty"
[ -f "$src" ] || die "$src: no such binary (run 'make build' first, or pass the binary's path)"
[ -r "$src" ] || die "$src: not readable"
[ -s "$src" ] || die "$src: empty file"

if [ "$(id -u)" = 0 ]; then
  hint="read-only file system?"
else
  hint="run as root (sudo $0 ...)"
fi
if [ ! -d "$dir" ]; then
  mkdir -p -- "$dir" 2> /dev/null || die "cannot create $dir: $hint"
fi
[ -w "$dir" ] || die "$dir is not writable by $(id -un): $hint"

dst=$dir/$name
if [ -f "$dst" ] && cmp -s -- "$src" "$dst"; then
  # Same bytes: only make sure the mode is right (chmod is atomic).
  chmod 0755 -- "$dst"
  echo "$dst is already this binary; unchanged"
  exit 0
fi

# The temporary file lives in DIR itself: rename(2) is only atomic within
# one file system. Its name starts with a dot so nothing lists it as a plugin.
tmp=$(mktemp -- "$dir/.$name.XXXXXX") || die "cannot create a temporary file in $dir"
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp -- "$src" "$tmp"
chmod 0755 -- "$tmp"
# Data on disk before the rename: after a crash DIR/sriov-rdma is the old
# binary or the complete new one, never an empty file under the final name.
sync -- "$tmp"
mv -f -- "$tmp" "$dst"
trap - EXIT
# Persist the rename itself.
sync -- "$dir" 2> /dev/null || sync
echo "installed $src as $dst"
