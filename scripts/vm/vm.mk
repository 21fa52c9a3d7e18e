# QEMU guest lane: included by the top-level Makefile.
# Real kernel SR-IOV (emulated igb + igbvf) and Soft-RoCE (rdma_rxe) paths,
# the real static sriov-rdma binary under cnitool + host-local, three boots:
# 7.x exclusive, 7.x shared, 6.1. Needs root and apt (setup-host.sh installs
# QEMU 10 and the guest tools); prints "SKIPPED: <reason>" and succeeds when
# the packages or kernels cannot be fetched. See scripts/vm/lane.sh.
GO ?= go
VM_LANE := scripts/vm/lane.sh

.PHONY: vm-e2e vm-smoke

# lane.sh builds its own static (CGO_ENABLED=0) plugin and fault-injection
# binaries for the guest, so this does not depend on `build`.
vm-e2e:
	GO="$(GO)" bash $(VM_LANE)

# The environment alone (drivers, VFs, RDMA netns mode, rxe, the kernel
# paths done by hand), no plugin needed: proves the lane boots on a machine.
vm-smoke:
	GO="$(GO)" bash $(VM_LANE) --smoke
