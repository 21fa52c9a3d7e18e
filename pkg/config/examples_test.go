package config_test

// The examples users copy (testdata/nad, testdata/conflist) go through the
// plugin's own loader, with what Multus or the runtime adds, so an example
// that would fail ADD fails CI instead.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
)

const (
	nadDir      = "../../testdata/nad"
	conflistDir = "../../testdata/conflist"
	// injectedDevice is what Multus adds from the device plugin's allocation.
	injectedDevice = "0000:3b:02.3"
	// multusArgs is CNI_ARGS as Multus passes it.
	multusArgs = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=trainer-0;K8S_POD_INFRA_CONTAINER_ID=4b5c0f;K8S_POD_UID=6f1e3c2a-0d7b-4a7e-9c55-1f0e2d3c4b5a"
)

// inject adds keys as Multus does for a delegate: the netconf decoded to a
// map, the keys set, encoded again. Nested objects (ipam) keep their bytes.
func inject(t *testing.T, netconf []byte, keys map[string]any) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(netconf, &m); err != nil {
		t.Fatalf("spec.config is not a JSON object: %v", err)
	}
	for k, v := range keys {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		m[k] = b
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ipamOf is the "ipam" object's bytes, compacted.
func ipamOf(t *testing.T, netconf []byte) string {
	t.Helper()
	var v struct {
		IPAM json.RawMessage `json:"ipam"`
	}
	if err := json.Unmarshal(netconf, &v); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v.IPAM); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// nadExamples pairs every file in testdata/nad with what it must resolve
// to: the point the example makes, checked.
var nadExamples = map[string]struct {
	resource string
	extra    map[string]any // beyond deviceID: what Multus adds for this example's capabilities
	check    func(t *testing.T, c *config.Config, nc []byte)
}{
	"roce-basic.yaml": {resource: "nvidia.com/rdma_vf", check: func(t *testing.T, c *config.Config, _ []byte) {
		if c.RDMA != config.RDMAAuto || c.IPAMType != "host-local" || len(c.VF.Asked()) != 0 || c.MTU != 0 {
			t.Errorf("rdma %q ipam %q vf %+v mtu %d; want auto, host-local, no PF-side setting, MTU kept",
				c.RDMA, c.IPAMType, c.VF, c.MTU)
		}
	}},
	"vlan-qos.yaml": {resource: "nvidia.com/rdma_vf", check: func(t *testing.T, c *config.Config, _ []byte) {
		got := []any{deref(c.VF.VLAN), deref(c.VF.QoS), deref(c.VF.Proto), deref(c.VF.SpoofChk), deref(c.VF.Trust), deref(c.VF.MaxTxRate), c.MTU, c.LogFile}
		want := []any{100, 5, "802.1q", true, false, 100000, 9000, "/var/log/sriov-rdma.log"}
		if !slices.Equal(got, want) {
			t.Errorf("vlan, qos, proto, spoofchk, trust, max_tx_rate, mtu, logFile = %v, want %v", got, want)
		}
	}},
	"whereabouts.yaml": {resource: "nvidia.com/rdma_vf", check: func(t *testing.T, c *config.Config, nc []byte) {
		if c.IPAMType != "whereabouts" {
			t.Errorf("IPAMType = %q, want whereabouts", c.IPAMType)
		}
		// whereabouts gets the stdin bytes: its range, exclusions and
		// kubeconfig must reach it exactly as written in the NAD.
		if got, want := ipamOf(t, c.Raw), ipamOf(t, nc); got != want {
			t.Errorf("ipam handed to whereabouts\n got %s\nwant %s", got, want)
		}
		var w struct {
			Range      string   `json:"range"`
			Exclude    []string `json:"exclude"`
			Kubernetes struct {
				Kubeconfig string `json:"kubeconfig"`
			} `json:"kubernetes"`
		}
		var v struct {
			IPAM *json.RawMessage `json:"ipam"`
		}
		if err := json.Unmarshal(c.Raw, &v); err != nil || v.IPAM == nil || json.Unmarshal(*v.IPAM, &w) != nil {
			t.Fatalf("ipam in Raw does not decode: %v", err)
		}
		if w.Range != "10.56.0.0/16" || len(w.Exclude) != 2 || !strings.HasSuffix(w.Kubernetes.Kubeconfig, "whereabouts.kubeconfig") {
			t.Errorf("whereabouts fields = %+v", w)
		}
	}},
	"static-ipam.yaml": {resource: "nvidia.com/rdma_vf", extra: map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.10.0.5/24"}}},
		check: func(t *testing.T, c *config.Config, _ []byte) {
			var v struct {
				IPAM struct {
					Addresses []struct{ Address, Gateway string } `json:"addresses"`
				} `json:"ipam"`
				RuntimeConfig struct {
					IPs []string `json:"ips"`
				} `json:"runtimeConfig"`
			}
			if err := json.Unmarshal(c.Raw, &v); err != nil {
				t.Fatal(err)
			}
			a := v.IPAM.Addresses
			if c.IPAMType != "static" || len(a) != 2 || a[0].Address != "10.10.0.1/24" || a[0].Gateway != "10.10.0.254" || a[1].Address != "fd00:10::1/64" {
				t.Errorf("ipam %q addresses %+v; want static 10.10.0.1/24 via 10.10.0.254 and fd00:10::1/64", c.IPAMType, a)
			}
			if !slices.Equal(v.RuntimeConfig.IPs, []string{"10.10.0.5/24"}) {
				t.Errorf("runtimeConfig.ips = %v: the per-pod address must reach static IPAM", v.RuntimeConfig.IPs)
			}
		}},
	"rdma-required.yaml": {resource: "nvidia.com/rdma_vf", check: func(t *testing.T, c *config.Config, _ []byte) {
		if c.RDMA != config.RDMARequired || c.MTU != 9000 {
			t.Errorf("rdma %q mtu %d, want required and 9000", c.RDMA, c.MTU)
		}
	}},
	"infiniband.yaml": {resource: "nvidia.com/ib_vf", extra: map[string]any{"runtimeConfig": map[string]any{"infinibandGUID": "00:11:22:33:44:55:66:77"}},
		check: func(t *testing.T, c *config.Config, _ []byte) {
			if c.Net.RuntimeConfig.InfinibandGUID != "00:11:22:33:44:55:66:77" || c.RDMA != config.RDMARequired ||
				deref(c.VF.LinkState) != "enable" || c.IPAMType != "whereabouts" || c.MAC != nil {
				t.Errorf("guid %q rdma %q link_state %v ipam %q mac %v", c.Net.RuntimeConfig.InfinibandGUID, c.RDMA,
					deref(c.VF.LinkState), c.IPAMType, c.MAC)
			}
		}},
}

func TestNADExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(nadDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := make([]string, 0, len(nadExamples))
	for k := range nadExamples {
		want = append(want, k)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("testdata/nad holds %v, the test knows %v: every example needs its check", names, want)
	}

	for _, name := range names {
		ex, ok := nadExamples[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			n := readNAD(t, name)
			if n.apiVersion != "k8s.cni.cncf.io/v1" || n.kind != "NetworkAttachmentDefinition" {
				t.Errorf("apiVersion %q kind %q, want k8s.cni.cncf.io/v1 NetworkAttachmentDefinition", n.apiVersion, n.kind)
			}
			if n.resourceName != ex.resource {
				t.Errorf("resourceName annotation %q, want %q: without it Multus injects no deviceID", n.resourceName, ex.resource)
			}
			keys := map[string]any{"deviceID": injectedDevice}
			for k, v := range ex.extra {
				keys[k] = v
			}
			c, err := config.Load(inject(t, n.config, keys), multusArgs)
			if err != nil {
				t.Fatalf("config.Load: %v\n%s", err, n.config)
			}
			if c.Net.Name != n.name {
				t.Errorf("config name %q, NAD name %q: keep them equal so logs and journals name the NAD", c.Net.Name, n.name)
			}
			if c.DeviceID != injectedDevice || c.Net.CNIVersion != "1.1.0" || c.Args.PodName != "trainer-0" {
				t.Errorf("device %q cniVersion %q pod %q", c.DeviceID, c.Net.CNIVersion, c.Args.PodName)
			}
			ex.check(t, c, n.config)
		})
	}
}

// Without the device Multus injects, every example must be refused: the
// NAD does not name a VF, the device plugin does.
func TestNADExamplesNeedTheInjectedDevice(t *testing.T) {
	for name := range nadExamples {
		n := readNAD(t, name)
		if _, err := config.Load(n.config, multusArgs); err == nil || !strings.Contains(err.Error(), "deviceID") {
			t.Errorf("%s without deviceID: err %v, want one naming deviceID", name, err)
		}
	}
}

// The conflist goes through libcni as a runtime loads it; the sriov-rdma
// entry then gets what libcni adds to each plugin (name, cniVersion) and the
// deviceID capability as runtimeConfig.
func TestConflistExample(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(conflistDir, "*.conflist"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conflist in %s (%v)", conflistDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			list, err := libcni.NetworkConfFromBytes(data)
			if err != nil {
				t.Fatalf("libcni: %v", err)
			}
			if list.CNIVersion != "1.1.0" {
				t.Errorf("cniVersion %q, want 1.1.0", list.CNIVersion)
			}
			var types []string
			var ours *libcni.PluginConfig
			for _, p := range list.Plugins {
				types = append(types, p.Network.Type)
				if p.Network.Type == config.PluginType {
					ours = p
				}
			}
			if len(types) < 2 || types[0] != config.PluginType {
				t.Fatalf("plugins %v: want sriov-rdma first, then the plugins chained after it", types)
			}
			if !ours.Network.Capabilities["deviceID"] {
				t.Errorf("sriov-rdma declares no deviceID capability: a runtime would never pass the VF")
			}
			conf, err := libcni.InjectConf(ours, map[string]any{
				"name":          list.Name,
				"cniVersion":    list.CNIVersion,
				"runtimeConfig": map[string]any{"deviceID": injectedDevice},
			})
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(conf.Bytes, multusArgs)
			if err != nil {
				t.Fatalf("config.Load: %v\n%s", err, conf.Bytes)
			}
			if c.DeviceID != injectedDevice || c.Net.Name != "roce-chain" || c.RDMA != config.RDMARequired ||
				c.MTU != 9000 || c.IPAMType != "host-local" {
				t.Errorf("resolved device %q name %q rdma %q mtu %d ipam %q", c.DeviceID, c.Net.Name, c.RDMA, c.MTU, c.IPAMType)
			}
		})
	}
}

// YAML forbids tabs in indentation, and the block reader above counts
// spaces: a tab would make it cut spec.config where kubectl does not.
func TestNADExamplesHaveNoTabs(t *testing.T) {
	for name := range nadExamples {
		f, err := os.Open(filepath.Join(nadDir, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		tabs := 0
		for sc.Scan() {
			if strings.Contains(sc.Text(), "\t") {
				tabs++
			}
		}
		_ = f.Close()
		if tabs > 0 {
			t.Errorf("%s has %d lines with tabs: YAML forbids tabs in indentation", name, tabs)
		}
	}
}
