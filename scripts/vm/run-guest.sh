#!/bin/bash
# Boot a guest kernel + base initramfs (+ payload) under QEMU and exit with the
# payload's status. From the vmlab recipe (shared/vmlab/run-guest.sh and
# FINDINGS.md), which measured why each choice below is made.
#
# usage: run-guest.sh VMLINUX BASE.cpio.gz [PAYLOAD.cpio.gz]
# env:   ACCEL    tcg (default) | kvm. On these CI machines /dev/kvm is PVM,
#                 which runs a stock Debian kernel ~1000x slower than TCG and
#                 then dies on cmpxchg16b, so TCG is the default.
#        QEMU_MEM (1024M), QEMU_SMP (2), TIMEOUT seconds (300)
#        KAPPEND  extra kernel command line (the lane passes vmphase=...)
#        VM_LOG   console log file (default: a temporary file)
#        NIC      qemu args for the NIC ("" = none); default: an igb PF behind
#                 a PCIe root port with no network backend
# exit:  the payload's status; 125 when the guest reported none (boot failure,
#        kernel panic, timeout).
set -euo pipefail
VMLINUX=$1 BASE=$2 PAYLOAD=${3:-}
ACCEL=${ACCEL:-tcg}
LOG=${VM_LOG:-$(mktemp /tmp/sriov-rdma-vm-console.XXXXXX)}
mkdir -p "$(dirname "$LOG")"
IMG=$(mktemp /tmp/sriov-rdma-vm-initrd.XXXXXX)
trap 'rm -f "$IMG"' EXIT
cat "$BASE" ${PAYLOAD:+"$PAYLOAD"} > "$IMG"

# shellcheck disable=SC2054  # commas belong to QEMU's option syntax
case $ACCEL in
  kvm) ACC=(-accel kvm -cpu host,-arch-capabilities) ;;  # plain "host" aborts on MSR 0x10a under PVM
  tcg) ACC=(-accel tcg,thread=multi -cpu max) ;;
  *)   echo "run-guest: ACCEL must be tcg or kvm" >&2; exit 2 ;;
esac
# No network backend ("nic igb.0 has no peer" is expected): the PF still gets
# link, VF<->VF frames are switched inside the emulated 82576, and no packet
# can leave QEMU. The PF sits behind its own root port because its VFs use
# devfn 0x80+ (offset 128, stride 2) on the PF's bus.
read -r -a NICARGS <<<"${NIC-"-device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1"}"

start=$(date +%s%N)
set +e
# The serial console uses CRLF, and SeaBIOS clears the screen with terminal
# escapes; sed -u strips both and keeps the output streaming, so a long case
# shows progress instead of one dump at the end.
timeout "${TIMEOUT:-300}" qemu-system-x86_64 "${ACC[@]}" -machine q35 \
  -m "${QEMU_MEM:-1024M}" -smp "${QEMU_SMP:-2}" \
  -kernel "$VMLINUX" -initrd "$IMG" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 ${KAPPEND:-}" \
  -nographic -no-reboot -nodefaults -serial stdio \
  -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
  ${NICARGS[@]+"${NICARGS[@]}"} < /dev/null 2>&1 |
  sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' | tee "$LOG"
qrc=${PIPESTATUS[0]}
set -e
end=$(date +%s%N)
ms=$(((end - start) / 1000000))
printf 'run-guest: accel=%s qemu_rc=%s wall=%d.%03ds\n' "$ACCEL" "$qrc" $((ms / 1000)) $((ms % 1000)) >&2
# isa-debug-exit: the guest wrote rc+16, QEMU exited ((rc+16)<<1)|1.
if [ $((qrc & 1)) -eq 1 ] && [ "$qrc" -ge 33 ] && [ "$qrc" -lt 256 ]; then
  exit $(((qrc >> 1) - 16))
fi
[ "$qrc" -eq 124 ] && echo "run-guest: timed out after ${TIMEOUT:-300}s" >&2
echo "run-guest: guest did not report a status (qemu rc $qrc)" >&2
exit 125
