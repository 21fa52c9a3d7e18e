package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON prints a report or an Output for machines: indented, one
// trailing newline.
func WriteJSON(w io.Writer, r any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints the report for people: a header, an aligned table per PF,
// the stale journals and any warnings.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(cells ...string) {
		_, _ = fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}

	line("RDMA netns mode", modeText(r))
	line("Boot ID", dash(r.BootID))
	line("State dirs", strings.Join(r.StateDirs, " "))
	line("Lock dir", r.LockDir)
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, pf := range r.PFs {
		_, _ = fmt.Fprintf(tw, "\nPF %s  netdev %s  driver %s  VFs %d of %d\n",
			pf.PCI, dash(pf.Netdev), dash(pf.Driver), pf.NumVFs, pf.TotalVFs)
		if pf.NumVFs == 0 {
			nd := pf.Netdev
			if nd == "" {
				nd = "<pf>"
			}
			_, _ = fmt.Fprintf(tw, "  no VFs: create them with echo N > /sys/class/net/%s/device/sriov_numvfs\n", nd)
			continue
		}
		line("VF", "PCI", "NETDEV", "DRIVER", "RDMA", "ROCEV2", "STATE", "POD", "CONTAINER", "IFNAME", "NOTE")
		for _, v := range pf.VFs {
			note := v.Note
			if v.Error != "" {
				note = v.Error
			}
			line(strconv.Itoa(v.Index), v.PCI, dash(v.Netdev), dash(v.Driver), rdmaText(v.RDMA), dash(v.RoCEv2),
				string(v.State), dash(v.Owner.pod()), dash(shortContainer(v.Owner)), dash(ifName(v.Owner)), dash(note))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if err := writeSettings(tw, pf); err != nil {
			return err
		}
	}

	if len(r.StaleJournals) == 0 {
		_, _ = fmt.Fprintln(tw, "\nStale journals: none")
	} else {
		_, _ = fmt.Fprintf(tw, "\nStale journals (%d): the next ADD, DEL or GC restores their VFs and releases their addresses\n", len(r.StaleJournals))
		line("JOURNAL", "DEVICE", "POD", "CONTAINER", "IFNAME", "REASON")
		for _, j := range r.StaleJournals {
			line(j.Journal, j.DeviceID, dash(j.pod()), dash(shortContainer(&j.Owner)), dash(j.IfName), j.Reason)
		}
	}
	if len(r.Warnings) > 0 {
		_, _ = fmt.Fprintln(tw, "\nWarnings:")
		for _, warning := range r.Warnings {
			_, _ = fmt.Fprintln(tw, "  "+warning)
		}
	}
	return tw.Flush()
}

func modeText(r *Report) string {
	switch r.RDMANetnsMode {
	case "exclusive":
		return "exclusive"
	case "shared":
		return "shared (RDMA devices stay on the host for every netns; set exclusive at boot: rdma system set netns exclusive)"
	case ModeUnavailable:
		return "unavailable (no RDMA subsystem in this kernel: attachments are netdev-only)"
	case ModeUnknown:
		return "unknown (" + r.RDMANetnsModeError + ")"
	}
	return dash(r.RDMANetnsMode)
}

func rdmaText(devs []RDMADevice) string {
	names := make([]string, 0, len(devs))
	for _, d := range devs {
		names = append(names, d.Name)
	}
	return dash(strings.Join(names, ","))
}

// shortContainer is the first 12 characters of the container ID, as
// container runtimes print it.
func shortContainer(o *Owner) string {
	if o == nil {
		return ""
	}
	if len(o.ContainerID) > 12 {
		return o.ContainerID[:12]
	}
	return o.ContainerID
}

func ifName(o *Owner) string {
	if o == nil {
		return ""
	}
	return o.IfName
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeSettings is a PF's second table: each VF's PF-side settings, MTU,
// GUID and the RoCE v2 GID index its pod uses.
func writeSettings(tw *tabwriter.Writer, pf PF) error {
	_, _ = fmt.Fprintln(tw)
	if pf.PFSideNote != "" {
		_, _ = fmt.Fprintf(tw, "PF-side settings: none shown, %s\n", pf.PFSideNote)
	}
	_, _ = fmt.Fprintln(tw, strings.Join([]string{"VF", "ADMIN MAC", "VLAN", "QOS", "PROTO", "SPOOFCHK", "TRUST", "LINK", "TX MIN/MAX", "MTU", "GUID", "GID INDEX"}, "\t"))
	for _, v := range pf.VFs {
		cells := []string{strconv.Itoa(v.Index), "-", "-", "-", "-", "-", "-", "-", "-"}
		if p := v.PFSide; p != nil {
			cells = []string{strconv.Itoa(v.Index), dash(p.AdminMAC), strconv.Itoa(p.VLAN), strconv.Itoa(p.QoS), dash(p.VLANProto),
				onOff(p.SpoofChk), onOff(p.Trust), dash(p.LinkState), fmt.Sprintf("%d/%d", p.MinTxRate, p.MaxTxRate)}
		}
		mtu, gid := "-", "-"
		if v.MTU > 0 {
			mtu = strconv.Itoa(v.MTU)
		}
		if v.RoCEv2GIDIndex != nil {
			gid = strconv.Itoa(*v.RoCEv2GIDIndex)
		}
		cells = append(cells, mtu, dash(v.GUID), gid)
		_, _ = fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
