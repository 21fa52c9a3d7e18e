package sriovrdma

// FaultPoints names every point of ADD and DEL at which the
// fault-injection build (-tags faultinject) can be told to kill itself,
// in the order a verb reaches them. "add:<step>" points sit just before the
// step runs; "add:before-rollback" is reached only when a step failed. The
// crash matrix kills the binary at each one and checks that DEL and GC
// restore everything; a unit test checks this list matches the code.
func FaultPoints() []string {
	return []string{
		"add:after-journal",
		"add:ipam",
		"add:vf-mac",
		"add:pf-settings",
		"add:ib-guid",
		"add:rdma-to-pod",
		"add:netdev-to-pod",
		"add:soft-rdma-in-pod",
		"add:mac-mtu",
		"add:addresses",
		"add:roce-gid",
		"add:device-info",
		"add:commit",
		"add:before-rollback",
		"del:after-lock",
		"del:after-ipam",
		"del:after-rdma",
		"del:after-netdev",
		"del:before-journal-remove",
	}
}
