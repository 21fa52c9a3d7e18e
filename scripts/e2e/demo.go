package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// demo is `make demo`: one pod, one VF, ADD, CHECK and DEL with cnitool,
// showing each result and what changed on the host and in the pod.
func (l *Lane) demo() error {
	v := l.vfs[0]
	const network, ifname, mac, mtu = "demo-net", "net1", "02:de:00:00:00:01", 1400

	fmt.Println("sriov-rdma demo: attach an SR-IOV VF to a pod and give it back, with cnitool,")
	fmt.Println("the way Multus drives the plugin on a Kubernetes node.")

	heading("1. A throwaway node")
	fmt.Printf("A fake SR-IOV NIC is mounted over /sys, visible only to this demo:\n")
	fmt.Printf("  PF  %s  netdev %s, driver %s, %d VFs\n", pfAddr, pfNetdev, pfDriver, l.nvfs)
	for _, x := range l.vfs {
		rd := ""
		if x.rdma != "" {
			rd = ", RDMA device " + x.rdma
		}
		fmt.Printf("  VF%d %s  netdev %s%s\n", x.index, x.addr, x.netdev, rd)
	}
	fmt.Println("The VF netdevs are veth ends: real kernel netdevs, moved the way VFs are.")
	fmt.Println("The plugin reads the VF where it reads a real one:")
	if err := l.show("", "ls", "-l", "/sys/bus/pci/devices/"+v.addr+"/"); err != nil {
		return err
	}
	if err := l.show("", "ls", "/sys/bus/pci/devices/"+v.addr+"/net", "/sys/bus/pci/devices/"+v.addr+"/infiniband"); err != nil {
		return err
	}
	if err := l.show("The host's links", "ip", "-br", "link", "show"); err != nil {
		return err
	}
	p, err := l.newPod("demo-pod")
	if err != nil {
		return err
	}
	fmt.Printf("\nA pod: network namespace %s (%s), only lo in it.\n", p.name, p.netns)

	heading("2. The network")
	fmt.Println("What a NetworkAttachmentDefinition holds, with the deviceID Multus adds from")
	fmt.Println("the SR-IOV device plugin's allocation (file " + filepath.Join(l.confDir, network, network+".conf") + "):")
	conf := l.netconf(network, "1.0.0", v, map[string]any{"mac": mac, "mtu": mtu})
	if err := l.writeNet(conf, false); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(conf, "", "  ")
	fmt.Println(indent(string(b)))

	heading("3. ADD: the VF goes into the pod")
	r := l.demoCNI("add", network, p, ifname)
	if !r.ok() {
		return errors.New(r.String())
	}
	fmt.Println("The result (note pciID and sandbox):")
	fmt.Println(indent(strings.TrimSpace(r.stdout)))
	res, err := parseResult(r.stdout)
	if err != nil {
		return err
	}
	fmt.Printf("\nWhat changed: %s is now %s inside the pod, with the MAC, MTU and address asked for.\n", v.netdev, ifname)
	if err := l.show("", "ip", "-n", p.name, "addr", "show", ifname); err != nil {
		return err
	}
	if len(res.IPs) > 0 {
		ip, _, _ := strings.Cut(res.IPs[0].Address, "/")
		fmt.Printf("\nhost-local reserved %s for the pod: %s\n", ip, filepath.Join(l.ipamDir, network, ip))
	}
	fmt.Printf("\n%s is gone from the host:\n", v.netdev)
	if err := l.show("", "ip", "-br", "link", "show"); err != nil {
		return err
	}
	fmt.Printf("\nThe journal DEL will restore from: %s\n", l.journal(p, ifname))
	if reason := rdmaSkipped(l.logFile(network)); reason != "" {
		fmt.Printf("RDMA: %s stayed on the host, the attachment is netdev-only (rdma: auto):\n  %s\n", v.rdma, reason)
	}

	heading("4. CHECK: is the attachment still as ADD left it?")
	r = l.demoCNI("check", network, p, ifname)
	if !r.ok() {
		return errors.New(r.String())
	}
	fmt.Println("CHECK passed (exit 0).")

	heading("5. DEL: the VF goes back")
	r = l.demoCNI("del", network, p, ifname)
	if !r.ok() {
		return errors.New(r.String())
	}
	fmt.Println("DEL succeeded (exit 0).")
	// The kernel reports the carrier of a moved veth a moment later
	// (linkwatch); wait for it so the listing shows the settled state.
	before := l.baseline[v.netdev]
	var now link
	_ = poll(3*time.Second, func() error {
		links, err := l.links("")
		if err != nil {
			return err
		}
		now = links[v.netdev]
		if now.OperState != before.OperState {
			return errors.New("not settled")
		}
		return nil
	})
	fmt.Printf("\n%s is back on the host: before ADD MAC %s MTU %d, now MAC %s MTU %d.\n", v.netdev, before.MAC, before.MTU, now.MAC, now.MTU)
	if err := l.show("", "ip", "-br", "link", "show"); err != nil {
		return err
	}
	fmt.Println("\nThe pod has only lo again:")
	if err := l.show("", "ip", "-n", p.name, "-br", "link", "show"); err != nil {
		return err
	}
	left := "journal gone"
	if files := stateFiles(l.stateDir); len(files) > 0 {
		left = "stateDir still holds " + strings.Join(files, " ")
	}
	held := "address released"
	if ips := l.heldIPs(network); len(ips) > 0 {
		held = "host-local still holds " + strings.Join(ips, " ")
	}
	fmt.Printf("\n%s, %s.\n", left, held)

	heading("Done")
	fmt.Println("The node, the pod and everything they held vanish now. Next: `make test`.")
	return nil
}

func heading(s string) { fmt.Printf("\n== %s\n", s) }

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// show prints a command and its output.
func (l *Lane) show(title, name string, args ...string) error {
	if title != "" {
		fmt.Printf("\n%s:\n", title)
	}
	r := l.run(nil, nil, name, args...)
	fmt.Printf("  $ %s\n%s\n", r.cmdline, indent(r.output()))
	if !r.ok() {
		return errors.New(r.String())
	}
	return nil
}

// demoCNI runs and prints a cnitool verb, with the environment it needs.
func (l *Lane) demoCNI(verb, network string, p *pod, ifname string) result {
	r := l.cnitoolRun(verb, network, p, ifname, "")
	fmt.Printf("  $ %s\n", strings.Replace(r.cmdline, "CNI_ARGS=", "\\\n      CNI_ARGS=", 1))
	if !r.ok() {
		fmt.Println(indent(r.output()))
	}
	return r
}

// rdmaSkipped is the reason the plugin logged for a netdev-only attachment.
func rdmaSkipped(logFile string) string {
	recs, _ := readLog(logFile)
	for _, rec := range recs {
		if rec.Msg == "RDMA skipped, attachment is netdev-only" {
			return rec.str("reason")
		}
	}
	return ""
}
