#!/bin/bash
# Payload entry point, run by the base initramfs' /init. The lane picks the
# phase per boot on the kernel command line (vmphase=...), so one payload
# serves every boot.
set -euo pipefail
phase=$(sed -n 's/.*\bvmphase=\([^ ]*\).*/\1/p' /proc/cmdline)
exec /payload/cases.sh "${phase:-smoke}"
