// Package pci discovers, read-only, what the plugin needs to know about an
// SR-IOV virtual function from sysfs: its physical function, its VF index, its
// netdev, driver and link type, and the RDMA device(s) that belong to it.
//
// Everything is read below a configurable root so tests (and the e2e lane that
// mounts a fixture tree over /sys) can supply their own tree. Resolution costs
// a constant number of reads whatever the number of VFs on the PF: the VF index
// comes from the PCIe routing-ID arithmetic, confirmed by a single virtfnN link.
package pci
