#!/bin/bash
# One-time, idempotent host setup for the QEMU guest lane (root, Debian amd64).
#
# Adapted from the vmlab recipe (shared/vmlab/setup-host.sh, FINDINGS.md):
# - bookworm-backports gives qemu-system-x86 10.x, the first QEMU with an
#   SR-IOV NIC (-device igb, Intel 82576); bookworm's 7.2 has none.
# - trixie-backports is only read by `apt-get download` for a 7.x guest kernel
#   (the first Debian kernel whose rdma_rxe can change netns); it is pinned to
#   priority 1 so nothing is ever installed or upgraded from it implicitly.
# - guest userspace is copied from host binaries: busybox-static, iproute2's
#   ip/rdma, ethtool and the rdma-core verbs tools.
#
# The mirror is never hard-coded: its URI is taken from the machine's own apt
# configuration, so the lane follows whatever mirror (or proxy) the machine uses.
#
# Exit status 0 with a line starting "SKIPPED:" when the packages cannot be had
# (no root, no Debian mirror configured, fetch failed): the lane then reports
# itself as skipped instead of failing CI on an infrastructure problem.
# Any other problem exits non-zero.
set -euo pipefail

SOURCES=/etc/apt/sources.list.d/sriov-rdma-vm.sources
PREFS=/etc/apt/preferences.d/sriov-rdma-vm
# Tools the lane needs on the host; checked before touching apt so that a
# machine that already has everything costs nothing.
NEED_CMDS=(qemu-system-x86_64 busybox cpio depmod modprobe xz zstd ip rdma ethtool
           ibv_devices ibv_devinfo ibv_rc_pingpong dpkg-deb apt-get bash)
PKGS=(busybox-static cpio kmod xz-utils zstd iproute2 ethtool ibverbs-utils ibverbs-providers)

# Reasons quote apt, whose messages carry the mirror's address: it is the
# machine's business, not the lane's output, so it is shown as <mirror>.
skip() {
  local msg="$*"
  [ -z "${MIRROR_HOST:-}" ] || msg=${msg//"$MIRROR_HOST"/<mirror>}
  echo "SKIPPED: $msg"
  exit 0
}
log() { echo "setup-host: $*" >&2; }

[ "$(id -u)" -eq 0 ] || skip "setup-host.sh needs root (apt sources, packages)"
command -v apt-get >/dev/null || skip "no apt-get: the lane needs a Debian host"

# shellcheck source=/dev/null
. /etc/os-release
CODENAME=${VERSION_CODENAME:-}

# First URI of the machine's own Debian archive (path ending in /debian), from
# deb822 .sources files or one-line sources.list entries.
mirror_uri() {
  local f u
  for f in /etc/apt/sources.list.d/*.sources; do
    if [ ! -f "$f" ] || [ "$f" = "$SOURCES" ]; then continue; fi
    # URIs: may carry several URIs; take each token.
    while read -r u; do
      u=${u%/}
      case $u in */debian) echo "$u"; return 0;; esac
    done < <(awk 'tolower($1)=="uris:" {for (i=2;i<=NF;i++) print $i}' "$f")
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [opts] URI suite comp...: the URI is the first field after options.
    while read -r u; do
      u=${u%/}
      case $u in */debian) echo "$u"; return 0;; esac
    done < <(sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f")
  done
  return 1
}

# Suite names the machine already has configured: not added twice.
configured_suites() {
  { awk 'tolower($1)=="suites:" {for (i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+([^[:space:]]+).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | sort -u
}

qemu_has_igb() {
  local d
  command -v qemu-system-x86_64 >/dev/null || return 1
  d=$(qemu-system-x86_64 -device help 2>/dev/null || true)
  grep -q '"igb"' <<<"$d"
}

# Suites the lane downloads kernels from must be known to apt.
# (Output captured first: grep -q closing the pipe early would make apt-cache
# die of SIGPIPE, which pipefail turns into a false "unknown".)
suite_known() {
  local m
  m=$(apt-cache madison linux-image-amd64 2>/dev/null || true)
  grep -qE " $1/" <<<"$m"
}

have_all() {
  local c
  for c in "${NEED_CMDS[@]}"; do command -v "$c" >/dev/null || return 1; done
  qemu_has_igb || return 1
  [ -f "$SOURCES" ] || return 1
  suite_known trixie-backports && suite_known bookworm-backports
}

if have_all; then
  log "already set up ($(qemu-system-x86_64 --version | head -1))"
  exit 0
fi

MIRROR=$(mirror_uri) || skip "no Debian mirror (a URI ending in /debian) in the machine's apt configuration"
MIRROR_HOST=${MIRROR#*://}
MIRROR_HOST=${MIRROR_HOST%%/*}
log "mirror: the machine's own (first */debian URI of its apt sources)"

want=(bookworm-backports trixie-backports)
# The old-kernel boot needs bookworm's 6.1; add bookworm itself only where
# the host is not bookworm (there it is already configured).
[ "$CODENAME" = bookworm ] || want+=(bookworm bookworm-updates)
have=$(configured_suites)
add=()
for s in "${want[@]}"; do grep -qxF "$s" <<<"$have" || add+=("$s"); done

if [ ${#add[@]} -gt 0 ]; then
  cat > "$SOURCES.tmp" <<EOS
# Written by sriov-rdma scripts/vm/setup-host.sh for the QEMU guest lane:
# guest kernels (apt-get download only) and QEMU with the igb SR-IOV NIC.
Types: deb
URIs: $MIRROR
Suites: ${add[*]}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
  mv "$SOURCES.tmp" "$SOURCES"
fi
# Priority 1: these suites are read for downloads only, never for upgrades.
{
  echo "# sriov-rdma QEMU lane: download-only suites, never installed from implicitly"
  for s in $(printf '%s\n' trixie-backports ${add[@]+"${add[@]}"} | sort -u); do
    # bookworm-backports keeps its default 100 (never preferred, and qemu is
    # asked for by -t); the host's own release keeps its priority.
    case $s in bookworm-backports|"$CODENAME"|"$CODENAME"-*) continue;; esac
    printf 'Package: *\nPin: release n=%s\nPin-Priority: 1\n\n' "$s"
  done
} > "$PREFS"

export DEBIAN_FRONTEND=noninteractive
out=$(mktemp); trap 'rm -f "$out"' EXIT
if ! apt-get update -q >"$out" 2>&1; then
  tail -5 "$out" >&2; skip "apt-get update failed: $(grep -m1 -E '^(E|W):' "$out" || tail -1 "$out")"
fi
# apt-get update exits 0 even when a suite could not be fetched.
for s in bookworm-backports trixie-backports; do
  suite_known "$s" || skip "apt has no packages from $s after apt-get update: $(grep -m1 -E '^(E|W):' "$out" || echo 'suite missing on the mirror')"
done

qemu_target=()
# A bookworm host's own QEMU (7.2) has no igb: take it from backports.
[ "$CODENAME" = bookworm ] && qemu_target=(-t bookworm-backports)
if ! apt-get install -y -q --no-install-recommends ${qemu_target[@]+"${qemu_target[@]}"} qemu-system-x86 >"$out" 2>&1 ||
   ! apt-get install -y -q --no-install-recommends "${PKGS[@]}" >>"$out" 2>&1; then
  tail -5 "$out" >&2; skip "apt-get install failed: $(grep -m1 -E '^E:' "$out" || tail -1 "$out")"
fi
qemu_has_igb || { echo "setup-host: $(qemu-system-x86_64 --version | head -1) has no igb device" >&2; exit 1; }
for c in "${NEED_CMDS[@]}"; do command -v "$c" >/dev/null || { echo "setup-host: $c still missing" >&2; exit 1; }; done
log "done ($(qemu-system-x86_64 --version | head -1))"
