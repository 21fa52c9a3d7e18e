#!/bin/bash
# Build the base guest initramfs: busybox-static, the kernel modules the lane
# needs (with dependencies, decompressed, depmod'ed), and host tools with their
# shared libraries (bash for the case runner, iproute2's ip/rdma, ethtool, the
# rdma-core verbs tools and the rxe provider).
# From the vmlab recipe (shared/vmlab/mkinitramfs.sh).
#
# usage: mkinitramfs.sh KROOT KVER OUT.cpio.gz
#   KROOT  directory the kernel packages were unpacked into (fetch-kernel.sh)
#   KVER   kernel release, e.g. 7.3.4+deb13-amd64
#
# Its /init runs /payload/run.sh (a second cpio appended by mkpayload.sh),
# then powers off. run.sh's status reaches QEMU through isa-debug-exit (port
# 0xf4): the guest writes rc+16 and QEMU exits with ((rc+16)<<1)|1, so 33 means
# rc 0 and nothing QEMU itself returns (0, 1) can be mistaken for a result.
set -euo pipefail
trap 'echo "mkinitramfs: line $LINENO: exit $?" >&2' ERR

KROOT=$(readlink -f "$1") KVER=$2 OUT=$3
# crc32_generic: rxe on 6.1/6.12 allocates the "crc32" shash; 7.x uses lib
# crc32 and has no such module (missing names are skipped).
MODS="igb igbvf rdma_rxe ib_core ib_uverbs rdma_ucm ib_umad veth 8021q crc32_generic crc32-pclmul"
BINS="bash ip rdma ethtool ibv_devices ibv_devinfo ibv_rc_pingpong"

ST=$(mktemp -d /tmp/sriov-rdma-vm-initramfs.XXXXXX)
trap 'rm -rf "$ST"' EXIT
mkdir -p "$ST"/{bin,sbin,etc,proc,sys,dev,run,tmp,var,lib/modules,payload,usr/bin,usr/sbin}
# ip netns uses /var/run/netns; one tmpfs (/run) then holds all run state.
ln -s ../run "$ST/var/run"

cp /bin/busybox "$ST/bin/busybox"

# --- kernel modules -------------------------------------------------------
MD=$KROOT/lib/modules/$KVER
[ -d "$MD" ] || { echo "mkinitramfs: no $MD" >&2; exit 1; }
# The split 7.x packages ship no modules.order/builtin; depmod wants them.
touch "$MD/modules.order" "$MD/modules.builtin" "$MD/modules.builtin.modinfo"
[ -f "$MD/modules.dep" ] || depmod -b "$KROOT" "$KVER"
for m in $MODS; do
  # "insmod /path/mod.ko[.xz|.zst]" per dependency; builtins print "builtin m".
  modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod" {print $2}' || true
done | sort -u | while read -r f; do
  rel=${f#"$KROOT"}
  mkdir -p "$ST$(dirname "$rel")"
  # Decompressed: busybox modprobe may lack the kernel's in-kernel zstd path.
  case $f in
    *.ko.xz)  xz -dc "$f" > "$ST${rel%.xz}" ;;
    *.ko.zst) zstd -qdc "$f" > "$ST${rel%.zst}" ;;
    *.ko.gz)  gzip -dc "$f" > "$ST${rel%.gz}" ;;
    *)        cp "$f" "$ST$rel" ;;
  esac
done
mkdir -p "$ST/lib/modules/$KVER"
cp "$MD"/modules.{order,builtin,builtin.modinfo} "$ST/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$ST" "$KVER"
# modules under /usr/lib/modules (7.x layout) must be found at /lib/modules.
if [ -d "$ST/usr/lib/modules/$KVER" ]; then
  cp -a "$ST/usr/lib/modules/$KVER/." "$ST/lib/modules/$KVER/"
  rm -rf "$ST/usr/lib/modules"
  depmod -b "$ST" "$KVER"
fi

# --- host tools + their shared libraries -----------------------------------
copy_with_libs() { # $1 = file on the host, $2 = path in the guest (default: same)
  local f=$1 dst=${2:-$1} lib
  mkdir -p "$ST$(dirname "$dst")"
  cp -L "$f" "$ST$dst"
  for lib in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [ -e "$ST$lib" ] && continue
    mkdir -p "$ST$(dirname "$lib")"
    cp -L "$lib" "$ST$lib"
  done
}
for b in $BINS; do
  p=$(command -v "$b" || true)
  [ -n "$p" ] || { echo "mkinitramfs: $b not on the host (run setup-host.sh)" >&2; exit 1; }
  copy_with_libs "$p" "/usr/bin/$b"
done
ln -s ../usr/bin/bash "$ST/bin/bash"
# libibverbs loads the provider named by /etc/libibverbs.d: only rxe here, so
# it does not try (and warn about) the host's other providers.
mkdir -p "$ST/etc/libibverbs.d"
cp /etc/libibverbs.d/rxe.driver "$ST/etc/libibverbs.d/"
for p in /usr/lib/x86_64-linux-gnu/libibverbs/librxe-*.so; do copy_with_libs "$p"; done
mkdir -p "$ST/lib64"
[ -e "$ST/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$ST/lib64/"
mkdir -p "$ST/etc/iproute2"
echo "root:x:0:0:root:/root:/bin/sh" > "$ST/etc/passwd"
echo "root:x:0:" > "$ST/etc/group"

# --- /init ------------------------------------------------------------------
cat > "$ST/init" <<'INIT'
#!/bin/busybox sh
# --install -s keeps files that exist, so /bin/bash stays the real bash.
/bin/busybox --install -s /bin
# The kernel's request_module() execs /sbin/modprobe.
ln -sf /bin/busybox /sbin/modprobe
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root
mkdir -p /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns /dev/pts
echo "INIT: up $(cut -d' ' -f1 /proc/uptime)s kernel $(uname -r)"
rc=0
if [ -x /payload/run.sh ]; then
  /payload/run.sh
  rc=$?
else
  echo "INIT: no /payload/run.sh"
fi
echo "INIT: run.sh rc=$rc at $(cut -d' ' -f1 /proc/uptime)s"
printf "$(printf '\\%03o' $(((rc & 63) + 16)))" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
sync
poweroff -f
INIT
chmod +x "$ST/init"

mkdir -p "$(dirname "$OUT")"
(cd "$ST" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(du -h "$OUT" | cut -f1), $(find "$ST" -name '*.ko' | wc -l) modules)" >&2
