package inspect

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// What a VF is configured as: its PF-side settings (one netlink dump per
// PF), and its netdev's MTU and GUID and the RoCE v2 GID index in use, read
// on the host or, for a VF in a pod, from the journal ADD wrote.

// readPFSide fills in each VF's PF-side settings with one netlink dump of
// the PF.
func (c *collector) readPFSide(pf *PF) {
	if pf.Netdev == "" {
		pf.PFSideNote = "the PF has no netdev to ask for VF settings"
		return
	}
	states, err := c.o.VFs.List(pf.Netdev)
	switch {
	case errors.Is(err, vf.ErrNoVFInfo):
		pf.PFSideNote = "driver " + dash(pf.Driver) + " reports no VF settings over netlink"
		return
	case err != nil:
		pf.PFSideNote = "cannot read VF settings: " + err.Error()
		c.warn("pf %s: read VF settings: %v", pf.PCI, err)
		return
	}
	for i := range pf.VFs {
		if idx := pf.VFs[i].Index; idx < len(states) {
			s := states[idx]
			pf.VFs[i].PFSide = &PFSide{
				AdminMAC: s.MAC, VLAN: s.VLAN, QoS: s.QoS, VLANProto: s.Proto,
				SpoofChk: s.SpoofChk, Trust: s.Trust, LinkState: s.LinkState,
				MinTxRate: s.MinTxRate, MaxTxRate: s.MaxTxRate,
			}
		}
	}
}

// readNetdev fills in MTU, GUID and the GID index in use: from the host's
// netdev when it is there, else from the journal of the pod that has it.
func (c *collector) readNetdev(v *VF, owner *entry) {
	if v.Netdev != "" {
		// class/net/<netdev> is the netdev's directory under its PCI
		// function on a real sysfs; a captured tree may have only the latter.
		for _, dir := range []string{
			filepath.Join(c.o.SysfsRoot, "class", "net", v.Netdev),
			filepath.Join(c.o.SysfsRoot, "bus", "pci", "devices", v.PCI, "net", v.Netdev),
		} {
			mtu, err := readInt(filepath.Join(dir, "mtu"))
			if err != nil {
				continue
			}
			v.MTU = mtu
			if v.LinkType == "infiniband" {
				if b, err := os.ReadFile(filepath.Join(dir, "address")); err == nil {
					v.GUID = guidOf(strings.TrimSpace(string(b)))
				}
			}
			break
		}
	}
	if owner == nil || owner.state != StateInPod {
		return
	}
	rec := owner.rec
	if v.Netdev == "" && v.MTU == 0 {
		v.MTU = mtuOf(rec.Result)
	}
	if v.GUID == "" && rec.IB != nil {
		v.GUID = rec.IB.WantGUID
	}
	v.RoCEv2GIDIndex = rec.RoCEv2GID
}

// guidOf is the port GUID an IPoIB hardware address (20 octets) ends with;
// "" for any other address or an all-zero GUID.
func guidOf(addr string) string {
	parts := strings.Split(addr, ":")
	if len(parts) != 20 {
		return ""
	}
	g := strings.Join(parts[12:], ":")
	if strings.Trim(g, "0:") == "" {
		return ""
	}
	return strings.ToLower(g)
}

// mtuOf is the MTU of the pod interface in an ADD result.
func mtuOf(result []byte) int {
	var r struct {
		Interfaces []struct {
			MTU     int    `json:"mtu"`
			Sandbox string `json:"sandbox"`
		} `json:"interfaces"`
	}
	if json.Unmarshal(result, &r) != nil {
		return 0
	}
	for _, i := range r.Interfaces {
		if i.Sandbox != "" && i.MTU > 0 {
			return i.MTU
		}
	}
	return 0
}
