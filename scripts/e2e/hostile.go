package main

// Hostile input (`make hostile`). The shipped binary is
// run directly, as a runtime execs a plugin (CNI_* in the environment, the
// netconf on stdin), with malformed JSON, wrong types, out-of-range numbers,
// unknown enum values, path traversal in deviceID, CNI_IFNAME and
// CNI_CONTAINERID, oversize input, unsupported cniVersions, missing CNI_*
// variables, addresses that are no VF, netns paths that are no pod. Each
// must exit non-zero with CNI error JSON on stdout carrying the expected
// code and a message naming what is wrong, and leave the host exactly as
// it was: links, addresses, the journal and lock directories, host-local's
// reservations, no process left.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	hostileVFs = 4
	hostileNet = "hostile"
	plainAddr  = "0000:03:00.0" // a PCI NIC without SR-IOV, added to the fixture
	unknownVF  = "0000:01:1f.6" // VF 63 of the PF: past sriov_numvfs
)

// hostileInput is one malformed invocation.
type hostileInput struct {
	name  string
	verb  string            // CNI_COMMAND; "" = ADD
	stdin []byte            // the netconf
	env   map[string]string // CNI_* overrides; "" unsets the variable
	code  int               // expected CNI error code; 0: exit 0, nothing on stdout (CNI_COMMAND unset)
	subs  []string          // the message must contain each
	// absent lists paths that must not exist afterwards: what a netconf
	// naming a path outside the plugin's roots must not have created.
	absent []string
}

// hostileInputs is the table. conf(set) is a valid netconf for VF v with
// set applied (a nil value removes a field); pod is the pod netns.
func hostileInputs(conf func(set map[string]any) []byte, v vfSpec, podNetns, hostNetns string) []hostileInput {
	s := func(in string) []byte { return []byte(in) }
	pf := pfAddr
	vlan := func(n any) map[string]any { return map[string]any{"vlan": n} }
	env := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	ok := conf(nil)
	return []hostileInput{
		// Not JSON, or not a JSON object.
		{name: "truncated JSON", stdin: s(`{"cniVersion": "1.0.0", "name": "hostile", "type": `), code: 6},
		{name: "empty stdin", stdin: s(""), code: 6},
		{name: "whitespace only", stdin: s(" \n\t "), code: 6},
		{name: "JSON array", stdin: s(`[{"cniVersion":"1.0.0"}]`), code: 6},
		{name: "JSON string", stdin: s(`"sriov-rdma"`), code: 6},
		{name: "JSON number", stdin: s(`42`), code: 6},
		{name: "trailing garbage", stdin: append(append([]byte{}, ok...), s(`}garbage`)...), code: 6},
		{name: "single quotes", stdin: s(`{'cniVersion': '1.0.0', 'name': 'hostile', 'type': 'sriov-rdma'}`), code: 6},
		{name: "invalid UTF-8 and NUL", stdin: append(s("{\"cniVersion\":\"1.0.0\",\"name\":\"hostile\",\"type\":\"sriov-rdma\",\"x\":\"\xff\x00\"}"), 0), code: 6},
		{name: "nesting 100000 deep", stdin: s(`{"cniVersion":"1.0.0","name":"hostile","type":"sriov-rdma","x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`), code: 6},
		{name: "name of the wrong type", stdin: conf(map[string]any{"name": 5}), code: 6, subs: []string{"name"}},

		// Wrong JSON types.
		{name: "vlan a string", stdin: conf(vlan("100")), code: 7, subs: []string{"vlan", "integer"}},
		{name: "mtu a boolean", stdin: conf(map[string]any{"mtu": true}), code: 7, subs: []string{"mtu"}},
		{name: "spoofchk a number", stdin: conf(map[string]any{"spoofchk": 1}), code: 7, subs: []string{"spoofchk"}},
		{name: "trust a boolean", stdin: conf(map[string]any{"trust": true}), code: 7, subs: []string{"trust"}},
		{name: "ipam a string", stdin: conf(map[string]any{"ipam": "host-local"}), code: 7, subs: []string{"ipam"}},
		{name: "deviceID a number", stdin: conf(map[string]any{"deviceID": 1100, "pciBusID": nil}), code: 7, subs: []string{"deviceID"}},
		{name: "mac a number", stdin: conf(map[string]any{"mac": 12345}), code: 7, subs: []string{"mac"}},
		{name: "runtimeConfig a string", stdin: conf(map[string]any{"runtimeConfig": "deviceID"}), code: 7, subs: []string{"runtimeConfig"}},
		{name: "logLevel a number", stdin: conf(map[string]any{"logLevel": 3}), code: 7, subs: []string{"logLevel"}},
		{name: "cniVersion a number", stdin: conf(map[string]any{"cniVersion": 1.0}), code: 6, subs: []string{"cniVersion"}},

		// Out of range.
		{name: "vlan 5000", stdin: conf(vlan(5000)), code: 7, subs: []string{"vlan", "5000"}},
		{name: "vlan -1", stdin: conf(vlan(-1)), code: 7, subs: []string{"vlan", "-1"}},
		{name: "vlan 1e3", stdin: conf(vlan(json.Number("1e3"))), code: 7, subs: []string{"vlan"}},
		{name: "vlan 2^64", stdin: conf(vlan(json.Number("18446744073709551616"))), code: 7, subs: []string{"vlan"}},
		{name: "vlanQoS 8", stdin: conf(map[string]any{"vlan": 100, "vlanQoS": 8}), code: 7, subs: []string{"vlanQoS", "8"}},
		{name: "vlanQoS without vlan", stdin: conf(map[string]any{"vlanQoS": 3}), code: 7, subs: []string{"vlanQoS"}},
		{name: "mtu 50", stdin: conf(map[string]any{"mtu": 50}), code: 7, subs: []string{"mtu", "50"}},
		{name: "mtu 70000", stdin: conf(map[string]any{"mtu": 70000}), code: 7, subs: []string{"mtu", "70000"}},
		{name: "mtu 1500.5", stdin: conf(map[string]any{"mtu": 1500.5}), code: 7, subs: []string{"mtu"}},
		{name: "min_tx_rate above max_tx_rate", stdin: conf(map[string]any{"min_tx_rate": 100, "max_tx_rate": 10}), code: 7, subs: []string{"min_tx_rate", "max_tx_rate"}},
		{name: "max_tx_rate -5", stdin: conf(map[string]any{"max_tx_rate": -5}), code: 7, subs: []string{"max_tx_rate"}},
		// IFLA_VF_RATE carries 32 bits: 4294967396 would be applied as 100.
		{name: "max_tx_rate 2^32+100", stdin: conf(map[string]any{"max_tx_rate": 4294967396}), code: 7, subs: []string{"max_tx_rate", "4294967396", "0-4294967295"}},
		{name: "min_tx_rate 2^32", stdin: conf(map[string]any{"min_tx_rate": 4294967296}), code: 7, subs: []string{"min_tx_rate", "0-4294967295"}},

		// Unknown enum values.
		{name: "rdma yes", stdin: conf(map[string]any{"rdma": "yes"}), code: 7, subs: []string{"rdma", "yes"}},
		{name: "link_state up", stdin: conf(map[string]any{"link_state": "up"}), code: 7, subs: []string{"link_state", "up"}},
		{name: "spoofchk maybe", stdin: conf(map[string]any{"spoofchk": "maybe"}), code: 7, subs: []string{"spoofchk", "maybe"}},
		{name: "trust yes", stdin: conf(map[string]any{"trust": "yes"}), code: 7, subs: []string{"trust", "yes"}},
		{name: "vlanProto 802.1x", stdin: conf(map[string]any{"vlan": 100, "vlanProto": "802.1x"}), code: 7, subs: []string{"vlanProto", "802.1x"}},
		{name: "logLevel verbose", stdin: conf(map[string]any{"logLevel": "verbose"}), code: 7, subs: []string{"logLevel", "verbose"}},
		{name: "type other-plugin", stdin: conf(map[string]any{"type": "other-plugin"}), code: 7, subs: []string{"type", "other-plugin"}},
		{name: "mac not a MAC", stdin: conf(map[string]any{"mac": "zz:zz"}), code: 7, subs: []string{"mac", "zz:zz"}},
		{name: "mac multicast", stdin: conf(map[string]any{"mac": "01:00:5e:00:00:01"}), code: 7, subs: []string{"mac"}},

		// Path traversal and other non-addresses in the device fields.
		{name: "deviceID ../../etc", stdin: conf(map[string]any{"deviceID": "../../etc", "pciBusID": nil}), code: 7, subs: []string{"deviceID", "../../etc"}},
		{name: "deviceID VF/../..", stdin: conf(map[string]any{"deviceID": v.addr + "/../..", "pciBusID": nil}), code: 7, subs: []string{"deviceID"}},
		{name: "deviceID url-encoded ..%2F..", stdin: conf(map[string]any{"deviceID": "..%2F..%2Fetc", "pciBusID": nil}), code: 7, subs: []string{"deviceID"}},
		{name: "deviceID with NUL", stdin: conf(map[string]any{"deviceID": v.addr + "\x00", "pciBusID": nil}), code: 7, subs: []string{"deviceID"}},
		{name: "deviceID with a space", stdin: conf(map[string]any{"deviceID": " " + v.addr, "pciBusID": nil}), code: 7, subs: []string{"deviceID"}},
		{name: "pciBusID traversal beside a good deviceID", stdin: conf(map[string]any{"pciBusID": "../../../sys"}), code: 7, subs: []string{"pciBusID"}},
		{name: "runtimeConfig.deviceID traversal", stdin: conf(map[string]any{"deviceID": nil, "pciBusID": nil, "runtimeConfig": map[string]any{"deviceID": "/sys/bus/pci/devices/../../.."}}), code: 7, subs: []string{"runtimeConfig.deviceID"}},
		{name: "deviceID and pciBusID disagree", stdin: conf(map[string]any{"pciBusID": unknownVF}), code: 7, subs: []string{"deviceID", "pciBusID"}},
		{name: "deviceID a PF", stdin: conf(map[string]any{"deviceID": pf, "pciBusID": nil}), code: 7, subs: []string{pf, "physical function"}},
		{name: "deviceID a non-SR-IOV NIC", stdin: conf(map[string]any{"deviceID": plainAddr, "pciBusID": nil}), code: 7, subs: []string{plainAddr}},
		{name: "deviceID an unknown VF", stdin: conf(map[string]any{"deviceID": unknownVF, "pciBusID": nil}), code: 7, subs: []string{unknownVF}},
		{name: "missing deviceID", stdin: conf(map[string]any{"deviceID": nil, "pciBusID": nil}), code: 7, subs: []string{"deviceID"}},
		{name: "ipam.type a path", stdin: conf(map[string]any{"ipam": map[string]any{"type": "../../../bin/sh"}}), code: 7, subs: []string{"ipam.type"}},
		{name: "ipam without type", stdin: conf(map[string]any{"ipam": map[string]any{"subnet": "10.9.0.0/16"}}), code: 7, subs: []string{"ipam.type"}},
		{name: "name with a slash", stdin: conf(map[string]any{"name": "../hostile"}), code: 7, subs: []string{"name"}},

		// The plugin's own files.
		{name: "stateDir relative", stdin: conf(map[string]any{"stateDir": "state"}), code: 7, subs: []string{"stateDir", "absolute"}},
		{name: "stateDir with ..", stdin: conf(map[string]any{"stateDir": "/var/lib/cni/../../../etc"}), code: 7, subs: []string{"stateDir", ".."}},
		{name: "stateDir /", stdin: conf(map[string]any{"stateDir": "/"}), code: 7, subs: []string{"stateDir"}},
		{name: "logFile relative", stdin: conf(map[string]any{"logFile": "sriov.log"}), code: 7, subs: []string{"logFile", "absolute"}},
		{name: "logFile a directory", stdin: conf(map[string]any{"logFile": "/var/log/"}), code: 7, subs: []string{"logFile"}},
		// Outside the roots (targets inside the lane's private mounts, so a
		// plugin that wrongly followed them harms nothing of the machine's).
		{name: "stateDir outside the roots", stdin: conf(map[string]any{"stateDir": "/sys/e2e-hostile-state"}), code: 7,
			subs: []string{"stateDir", "below /var/lib/cni/ or /run/"}, absent: []string{"/sys/e2e-hostile-state"}},
		{name: "stateDir a root itself", stdin: conf(map[string]any{"stateDir": "/run"}), code: 7, subs: []string{"stateDir", "below"}},
		{name: "logFile outside /var/log", stdin: conf(map[string]any{"logFile": "/run/e2e-hostile.log"}), code: 7,
			subs: []string{"logFile", "below /var/log/"}, absent: []string{"/run/e2e-hostile.log"}},
		{name: "device-info file on host-local's reservations", stdin: conf(map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": "/var/lib/cni/networks/e2e-hostile/10.56.0.10"}}), code: 7,
			subs: []string{"runtimeConfig.CNIDeviceInfoFile", "below /run/k8s.cni.cncf.io/devinfo/"}, absent: []string{"/var/lib/cni/networks/e2e-hostile"}},
		{name: "device-info file climbing out", stdin: conf(map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": "/run/k8s.cni.cncf.io/devinfo/../../netns/x.json"}}), code: 7,
			subs: []string{"runtimeConfig.CNIDeviceInfoFile", ".."}, absent: []string{"/run/k8s.cni.cncf.io"}},

		// Size.
		{name: "netconf over 1 MiB", stdin: conf(map[string]any{"padding": strings.Repeat("A", 1<<20)}), code: 7, subs: []string{"bytes"}},

		// cniVersion.
		{name: "cniVersion 0.2.0", stdin: conf(map[string]any{"cniVersion": "0.2.0"}), code: 1, subs: []string{"0.2.0"}},
		{name: "cniVersion 9.9.9", stdin: conf(map[string]any{"cniVersion": "9.9.9"}), code: 1, subs: []string{"9.9.9"}},
		// A netconf without cniVersion is a 0.1.0 one, says the spec.
		{name: "cniVersion missing", stdin: conf(map[string]any{"cniVersion": nil}), code: 1, subs: []string{"0.1.0"}},
		{name: "cniVersion not a version", stdin: conf(map[string]any{"cniVersion": "latest"}), code: 1, subs: []string{"latest"}},

		// The runtime's environment.
		{name: "CNI_COMMAND unset (run by hand)", env: env("CNI_COMMAND", ""), stdin: ok, code: 0},
		{name: "CNI_COMMAND unknown", env: env("CNI_COMMAND", "ATTACH"), stdin: ok, code: 4, subs: []string{"ATTACH"}},
		{name: "CNI_COMMAND lower case", env: env("CNI_COMMAND", "add"), stdin: ok, code: 4, subs: []string{"add"}},
		{name: "CNI_CONTAINERID unset", env: env("CNI_CONTAINERID", ""), stdin: ok, code: 4, subs: []string{"CNI_CONTAINERID"}},
		{name: "CNI_NETNS unset", env: env("CNI_NETNS", ""), stdin: ok, code: 4, subs: []string{"CNI_NETNS"}},
		{name: "CNI_IFNAME unset", env: env("CNI_IFNAME", ""), stdin: ok, code: 4, subs: []string{"CNI_IFNAME"}},
		{name: "CNI_PATH unset", env: env("CNI_PATH", ""), stdin: ok, code: 4, subs: []string{"CNI_PATH"}},
		{name: "CNI_CONTAINERID traversal", env: env("CNI_CONTAINERID", "../../../etc/passwd"), stdin: ok, code: 4, subs: []string{"containerID"}},
		{name: "CNI_IFNAME ../x", env: env("CNI_IFNAME", "../x"), stdin: ok, code: 4, subs: []string{"interface name"}},
		{name: "CNI_IFNAME a/b", env: env("CNI_IFNAME", "a/b"), stdin: ok, code: 4, subs: []string{"interface name"}},
		{name: "CNI_IFNAME ..", env: env("CNI_IFNAME", ".."), stdin: ok, code: 4, subs: []string{"interface name"}},
		{name: "CNI_IFNAME 16 characters", env: env("CNI_IFNAME", "net1234567890123"), stdin: ok, code: 4, subs: []string{"interface name"}},
		{name: "CNI_IFNAME with a space", env: env("CNI_IFNAME", "net 1"), stdin: ok, code: 4, subs: []string{"interface name"}},
		// The kernel would name it net0: nobody would find the VF again.
		{name: "CNI_IFNAME net%d", env: env("CNI_IFNAME", "net%d"), stdin: ok, code: 4, subs: []string{"net%d", "pattern"}},
		{name: "CNI_ARGS without =", env: env("CNI_ARGS", "K8S_POD_NAME"), stdin: ok, code: 4, subs: []string{"CNI_ARGS"}},
		{name: "CNI_IFNAME already in the pod", env: env("CNI_IFNAME", "lo"), stdin: ok, code: 4, subs: []string{"lo"}},

		// Netns paths that are no pod.
		{name: "CNI_NETNS does not exist", env: env("CNI_NETNS", "/run/netns/no-such-pod"), stdin: ok, code: 3, subs: []string{"/run/netns/no-such-pod"}},
		{name: "CNI_NETNS a regular file", env: env("CNI_NETNS", "/etc/hostname"), stdin: ok, code: 4, subs: []string{"/etc/hostname"}},
		{name: "CNI_NETNS a file in procfs", env: env("CNI_NETNS", "/proc/version"), stdin: ok, code: 4, subs: []string{"/proc/version"}},
		{name: "CNI_NETNS a directory", env: env("CNI_NETNS", "/run/netns"), stdin: ok, code: 4, subs: []string{"/run/netns"}},
		{name: "CNI_NETNS relative", env: env("CNI_NETNS", filepath.Base(podNetns)), stdin: ok, code: 4},
		// The node's own netns, by the path skel compares with and by the
		// path of a process on the node (the lane's host: this driver).
		{name: "CNI_NETNS /proc/self/ns/net", env: env("CNI_NETNS", "/proc/self/ns/net"), stdin: ok, code: 4},
		{name: "CNI_NETNS the node's netns", env: env("CNI_NETNS", hostNetns), stdin: ok, code: 4},

		// Other verbs.
		{name: "DEL of malformed JSON", verb: "DEL", stdin: s(`{"cniVersion": "1.0.0",`), code: 6},
		{name: "DEL with CNI_CONTAINERID traversal", verb: "DEL", env: env("CNI_CONTAINERID", "../../x"), stdin: ok, code: 4},
		{name: "DEL with CNI_IFNAME traversal", verb: "DEL", env: env("CNI_IFNAME", "../../x"), stdin: ok, code: 4},
		{name: "CHECK with a garbage prevResult", verb: "CHECK", stdin: conf(map[string]any{"prevResult": map[string]any{"interfaces": "eth0"}}), code: 7, subs: []string{"prevResult"}},
		{name: "GC of malformed JSON", verb: "GC", stdin: s(`{"cniVersion": "1.1.0", "name": `), code: 6},
	}
}

func hostileMode(l *Lane, args []string) int {
	if err := modeFlags("hostile", args, func(*flag.FlagSet) {}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := l.addPlainNIC(plainAddr); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 1
	}
	v := l.vfs[1]
	conf := func(set map[string]any) []byte {
		b, err := json.Marshal(l.netconf(hostileNet, "1.0.0", v, set))
		if err != nil {
			panic(err)
		}
		return b
	}
	// Every input gets a pod of its own, named hN; the table only needs
	// the shape of a pod's netns path.
	inputs := hostileInputs(conf, v, newPodSpec("h0").netns, fmt.Sprintf("/proc/%d/ns/net", os.Getpid()))
	s := newSuite(l, fmt.Sprintf("hostile input: %d malformed invocations of the plugin, each refused with its CNI error code, the host unchanged", len(inputs)))
	codes := map[int]int{}
	var took []time.Duration
	for i, in := range inputs {
		c := tcase{name: in.name, what: in.what(), run: func(t *T) {
			p := t.pod(fmt.Sprintf("h%d", i))
			took = append(took, t.hostile(p, i, in))
		}}
		if !s.run(c) {
			break
		}
		codes[in.code]++
	}
	var byCode []string
	for _, c := range []int{1, 3, 4, 6, 7, 0} {
		if codes[c] > 0 {
			byCode = append(byCode, fmt.Sprintf("code %d: %d", c, codes[c]))
		}
	}
	s.figure("inputs %d (%s)", len(inputs), strings.Join(byCode, ", "))
	s.figure("plugin answer %s", latency(took))
	return s.finish()
}

func (in hostileInput) what() string {
	verb := in.verb
	if verb == "" {
		verb = "ADD"
	}
	if in.code == 0 {
		return verb + " prints its version to stderr, exits 0, changes nothing"
	}
	return fmt.Sprintf("%s refused with code %d, host unchanged", verb, in.code)
}

// hostile runs one input against the binary and checks the answer and the
// host; it returns how long the plugin took.
func (t *T) hostile(p *pod, i int, in hostileInput) time.Duration {
	verb := in.verb
	if verb == "" {
		verb = "ADD"
	}
	vars := map[string]string{
		"CNI_COMMAND":     verb,
		"CNI_CONTAINERID": fmt.Sprintf("hostile-%d", i),
		"CNI_NETNS":       p.netns,
		"CNI_IFNAME":      "net1",
		"CNI_ARGS":        p.cniArgs(),
		"CNI_PATH":        t.cniPath,
	}
	for k, v := range in.env {
		vars[k] = v
	}
	var env []string
	for _, k := range []string{"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"} {
		if vars[k] != "" {
			env = append(env, k+"="+vars[k])
		}
	}
	before := t.snapshot(p)
	t0 := time.Now()
	r := t.run(env, in.stdin, t.plugin)
	took := time.Since(t0)
	after := t.snapshot(p)
	if r.ok() && in.code != 0 {
		t.Errorf("%s succeeded: %s", verb, oneLine(r.stdout))
	}
	if after != before {
		t.Errorf("the host changed: %s", snapshotDiff(before, after))
	}
	for _, p := range in.absent {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created", p)
			_ = os.RemoveAll(p)
		}
	}
	if (r.ok() && in.code != 0) || after != before {
		t.undoHostile(env, in.stdin)
	}
	if left := t.waitStrays(time.Second); len(left) > 0 {
		t.Errorf("processes left running: %s", strings.Join(left, " "))
	}
	if in.code == 0 {
		if r.code != 0 || strings.TrimSpace(r.stdout) != "" || !strings.Contains(r.stderr, "CNI sriov-rdma plugin") {
			t.Errorf("want exit 0, nothing on stdout and the version on stderr: %s", r)
		}
		return took
	}
	if r.ok() {
		return took
	}
	if r.code <= 0 {
		t.Errorf("%s", r)
	}
	e, err := parseError(r.stdout)
	if err != nil {
		var zero cniError
		if json.Unmarshal([]byte(r.stdout), &zero) == nil && zero.Code == 0 && zero.Msg != "" {
			err = fmt.Errorf("error JSON with code 0, which is no CNI error code: %s", oneLine(zero.Msg))
		}
		t.Errorf("%v", err)
		return took
	}
	msg := e.Msg + " " + e.Details
	if e.Code != in.code {
		t.Errorf("code %d, want %d: %s", e.Code, in.code, oneLine(msg))
	}
	for _, sub := range in.subs {
		if !strings.Contains(msg, sub) {
			t.Errorf("message does not name %q: %s", sub, oneLine(msg))
		}
	}
	t.Logf("code %d: %s", e.Code, oneLine(msg))
	return took
}

// undoHostile puts the host back after an input the plugin did not refuse
// cleanly: a runtime's DEL first; what that cannot undo (a journal whose
// DEL keeps failing) is scrubbed by hand, so the next input starts from the
// baseline. The failure is already recorded.
func (t *T) undoHostile(env []string, stdin []byte) {
	undo := slices.Clone(env)
	for i, kv := range undo {
		if strings.HasPrefix(kv, "CNI_COMMAND=") {
			undo[i] = "CNI_COMMAND=DEL"
		}
	}
	if u := t.run(undo, stdin, t.plugin); !u.ok() {
		t.Errorf("undo with DEL: %s", u)
	}
	if files := stateFiles(t.stateDir); len(files) > 0 {
		t.Errorf("after DEL: %s", strings.Join(files, " "))
		for _, f := range files {
			_ = os.RemoveAll(f)
		}
	}
	if err := t.repair(); err != nil {
		t.Errorf("repair: %v", err)
	}
}

// addPlainNIC adds a PCI function without SR-IOV (no physfn, no sriov_*)
// to the lane's fixture sysfs, where the plugin looks devices up.
func (l *Lane) addPlainNIC(addr string) error {
	dir := filepath.Join("/sys/devices/pci0000:03", addr)
	if err := os.MkdirAll(filepath.Join(dir, "net", "e2eplain0"), 0o755); err != nil {
		return err
	}
	for f, v := range map[string]string{"vendor": "0x8086", "device": "0x10d3", "class": "0x020000"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v+"\n"), 0o644); err != nil {
			return err
		}
	}
	link := filepath.Join("/sys/bus/pci/devices", addr)
	if err := os.Symlink("../../../devices/pci0000:03/"+addr, link); err != nil {
		return err
	}
	l.onTearDown("remove plain NIC "+addr, func() error {
		return errors.Join(os.Remove(link), os.RemoveAll("/sys/devices/pci0000:03"))
	})
	return nil
}

// snapshotDiff shows what differs between two snapshots (T.snapshot: items
// separated by "; "): "-" what went, "+" what came.
func snapshotDiff(before, after string) string {
	b, a := strings.Split(before, "; "), strings.Split(after, "; ")
	var out []string
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "-"+x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "+"+x)
		}
	}
	return strings.Join(out, "; ")
}
