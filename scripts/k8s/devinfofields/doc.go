// Package devinfofields measures which fields of the device-info file
// sriov-rdma writes reach a pod's k8s.v1.cni.cncf.io/network-status
// annotation. It feeds the plugin's own output (pkg/devinfo's golden file) to
// the exact reader Multus v4.3.0 uses (network-attachment-definition-client
// v1.7.6: LoadDeviceInfoFromCNI, then CreateNetworkStatuses), without a
// kernel: the k8s lane's node has no RDMA subsystem, so there the plugin
// never writes an RDMA device or a RoCE v2 GID index for Multus to read.
package devinfofields
