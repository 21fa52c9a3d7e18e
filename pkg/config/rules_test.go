package config

import (
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLoadRules walks every validation rule at and around its edges. Bad values
// must fail with a message naming field, value and what is allowed; good values
// at the edges must pass.
func TestLoadRules(t *testing.T) {
	tests := []struct {
		name     string
		fields   map[string]any
		code     uint     // 0 = must load
		contains []string // for errors
	}{
		// type, name, cniVersion
		{"type wrong case", map[string]any{"type": "SRIOV-RDMA"}, 7, []string{`type "SRIOV-RDMA"`, `must be "sriov-rdma"`}},
		{"type sriov", map[string]any{"type": "sriov"}, 7, []string{`type "sriov"`, `"sriov-rdma"`}},
		{"name leading dash", map[string]any{"name": "-net"}, 7, []string{`name "-net"`, `start with a letter or digit`}},
		{"name slash", map[string]any{"name": "a/b"}, 7, []string{`name "a/b"`}},
		{"name dots and dashes", map[string]any{"name": "rdma_net.a-1"}, 0, nil},
		{"cniVersion 0.1.0", map[string]any{"cniVersion": "0.1.0"}, 1, []string{`cniVersion "0.1.0"`, `1.1.0`}},
		{"cniVersion 1.0", map[string]any{"cniVersion": "1.0"}, 1, []string{`cniVersion "1.0"`, `1.0.0`}},
		{"cniVersion 2.0.0", map[string]any{"cniVersion": "2.0.0"}, 1, []string{`cniVersion "2.0.0"`, `0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0`}},
		{"cniVersion 0.3.0", map[string]any{"cniVersion": "0.3.0"}, 0, nil},
		{"cniVersion 0.3.1", map[string]any{"cniVersion": "0.3.1"}, 0, nil},
		{"cniVersion 0.4.0", map[string]any{"cniVersion": "0.4.0"}, 0, nil},
		{"cniVersion 1.0.0", map[string]any{"cniVersion": "1.0.0"}, 0, nil},
		{"cniVersion 1.1.0", map[string]any{"cniVersion": "1.1.0"}, 0, nil},
		{"cniVersion number", map[string]any{"cniVersion": 1}, 7, []string{`cniVersion 1`, `expected a string`}},

		// device address
		{"deviceID upper-case hex", map[string]any{"deviceID": "0000:AF:1F.7"}, 0, nil},
		{"deviceID trailing space", map[string]any{"deviceID": "0000:01:10.0 "}, 7, []string{`deviceID "0000:01:10.0 "`, `DDDD:BB:DD.F`}},
		{"deviceID trailing newline", map[string]any{"deviceID": "0000:01:10.0\n"}, 7, []string{`deviceID "0000:01:10.0\n"`}},
		{"deviceID five-digit domain", map[string]any{"deviceID": "10000:01:10.0"}, 7, []string{`deviceID "10000:01:10.0"`}},
		{"deviceID non-hex", map[string]any{"deviceID": "0000:01:1g.0"}, 7, []string{`deviceID "0000:01:1g.0"`}},
		{"deviceID absolute path", map[string]any{"deviceID": "/sys/bus/pci/devices/0000:01:10.0"}, 7, []string{`deviceID "/sys/bus/pci/devices/0000:01:10.0"`}},
		{"deviceID function 7", map[string]any{"deviceID": "0000:01:1f.7"}, 0, nil},
		{"pciBusID function 9", map[string]any{"deviceID": nil, "pciBusID": "0000:01:10.9"}, 7, []string{`pciBusID "0000:01:10.9"`, `function 0-7`}},
		{"runtimeConfig.deviceID dots", map[string]any{"deviceID": nil, "runtimeConfig": map[string]any{"deviceID": ".."}}, 7, []string{`runtimeConfig.deviceID ".."`}},
		{"deviceID and pciBusID differ only in case", map[string]any{"deviceID": "0000:AF:00.1", "pciBusID": "0000:af:00.1"}, 0, nil},

		// mac
		{"mac dash form", map[string]any{"mac": "02-00-00-00-00-01"}, 0, nil},
		{"mac dot form", map[string]any{"mac": "0200.0000.0001"}, 0, nil},
		{"mac EUI-64", map[string]any{"mac": "02:00:00:00:00:00:00:01"}, 7, []string{`mac "02:00:00:00:00:00:00:01"`, `6-byte`}},
		{"runtimeConfig.mac zero", map[string]any{"runtimeConfig": map[string]any{"mac": "00:00:00:00:00:00"}}, 7, []string{`runtimeConfig.mac "00:00:00:00:00:00"`, `all zeros`}},
		{"runtimeConfig.mac garbage", map[string]any{"runtimeConfig": map[string]any{"mac": "02:00:00:00:00"}}, 7, []string{`runtimeConfig.mac "02:00:00:00:00"`, `MAC address`}},

		// vlan, vlanQoS, vlanProto
		{"vlan 4094", map[string]any{"vlan": 4094}, 0, nil},
		{"vlan 4095", map[string]any{"vlan": 4095}, 7, []string{`vlan 4095`, `0-4094`}},
		{"vlan overflow", map[string]any{"vlan": 1e40}, 7, []string{`vlan 1e+40`, `expected an integer`}},
		{"vlan huge integer", map[string]any{"vlan": "__raw__99999999999999999999"}, 7, []string{`vlan 99999999999999999999`, `out of range`}},
		{"vlanQoS 7", map[string]any{"vlan": 1, "vlanQoS": 7}, 0, nil},
		{"vlanQoS -1", map[string]any{"vlan": 1, "vlanQoS": -1}, 7, []string{`vlanQoS -1`, `0-7`}},
		{"vlanQoS 0 without vlan (sriov-cni compatible)", map[string]any{"vlanQoS": 0}, 0, nil},
		{"vlanQoS 3 without vlan", map[string]any{"vlanQoS": 3}, 7, []string{`vlanQoS 3`, `needs "vlan"`}},
		{"vlanProto upper case", map[string]any{"vlan": 7, "vlanProto": "802.1Q"}, 0, nil},
		{"vlanProto empty", map[string]any{"vlan": 7, "vlanProto": ""}, 7, []string{`vlanProto ""`, `"802.1q" or "802.1ad"`}},
		{"vlanProto 802.1AD with vlan 0", map[string]any{"vlan": 0, "vlanProto": "802.1AD"}, 7, []string{`vlanProto "802.1AD" with vlan 0`, `kernel`}},

		// spoofchk, trust, link_state
		{"spoofchk OFF", map[string]any{"spoofchk": "OFF"}, 0, nil},
		{"spoofchk true as string", map[string]any{"spoofchk": "true"}, 7, []string{`spoofchk "true"`, `"on" or "off"`}},
		{"trust On", map[string]any{"trust": "On"}, 0, nil},
		{"trust enable", map[string]any{"trust": "enable"}, 7, []string{`trust "enable"`, `"on" or "off"`}},
		{"link_state DISABLE", map[string]any{"link_state": "DISABLE"}, 0, nil},
		{"link_state on", map[string]any{"link_state": "on"}, 7, []string{`link_state "on"`, `"auto", "enable" or "disable"`}},

		// rates
		{"min equals max", map[string]any{"min_tx_rate": 100, "max_tx_rate": 100}, 0, nil},
		{"min above unlimited max", map[string]any{"min_tx_rate": 100, "max_tx_rate": 0}, 0, nil},
		{"min one above max", map[string]any{"min_tx_rate": 101, "max_tx_rate": 100}, 7, []string{`min_tx_rate 101`, `max_tx_rate 100`}},
		{"max_tx_rate string", map[string]any{"max_tx_rate": "1G"}, 7, []string{`max_tx_rate "1G"`, `expected an integer`}},

		// mtu
		{"mtu 0 keeps", map[string]any{"mtu": 0}, 0, nil},
		{"mtu 68", map[string]any{"mtu": 68}, 0, nil},
		{"mtu 67", map[string]any{"mtu": 67}, 7, []string{`mtu 67`, `68-65535`}},
		{"mtu 65535", map[string]any{"mtu": 65535}, 0, nil},
		{"mtu 65536", map[string]any{"mtu": 65536}, 7, []string{`mtu 65536`, `68-65535`}},
		{"mtu string", map[string]any{"mtu": "9000"}, 7, []string{`mtu "9000"`, `expected an integer, got a string`}},
		{"mtu object", map[string]any{"mtu": map[string]any{}}, 7, []string{`invalid mtu: expected an integer, got an object`}},
		{"mtu array", map[string]any{"mtu": []int{9000}}, 7, []string{`invalid mtu: expected an integer, got an array`}},
		{"mtu boolean", map[string]any{"mtu": true}, 7, []string{`invalid mtu true: expected an integer, got a boolean`}},

		// rdma
		{"rdma Required", map[string]any{"rdma": "Required"}, 0, nil},
		{"rdma true", map[string]any{"rdma": true}, 7, []string{`rdma true`, `expected a string`}},
		{"rdma on", map[string]any{"rdma": "on"}, 7, []string{`rdma "on"`, `"auto", "required" or "off"`}},

		// stateDir, logFile
		{"stateDir dot", map[string]any{"stateDir": "/var/./lib"}, 7, []string{`stateDir "/var/./lib"`, `clean`, `"/var/lib"`}},
		{"stateDir trailing slash", map[string]any{"stateDir": "/var/lib/x/"}, 7, []string{`stateDir "/var/lib/x/"`, `"/var/lib/x"`}},
		{"stateDir NUL", map[string]any{"stateDir": "/var/lib\x00x"}, 7, []string{`stateDir "/var/lib\x00x"`, `NUL`}},
		{"stateDir leading dotdot", map[string]any{"stateDir": "/../etc"}, 7, []string{`stateDir "/../etc"`, `".."`}},
		{"stateDir dotdot-looking name", map[string]any{"stateDir": "/var/lib/cni/..state"}, 0, nil},
		{"stateDir under /run", map[string]any{"stateDir": "/run/sriov-rdma/state"}, 0, nil},
		{"stateDir a sibling of a root", map[string]any{"stateDir": "/var/lib/cnix/state"}, 7, []string{`stateDir "/var/lib/cnix/state"`, `below /var/lib/cni/ or /run/`}},
		{"logFile outside /var/log", map[string]any{"logFile": "/tmp/sriov.log"}, 7, []string{`logFile "/tmp/sriov.log"`, `below /var/log/`}},
		{"logFile deep under /var/log", map[string]any{"logFile": "/var/log/sriov/net.log"}, 0, nil},
		{"logFile root", map[string]any{"logFile": "/"}, 7, []string{`logFile "/"`, `not a directory`}},
		{"logFile dot", map[string]any{"logFile": "/var/log/./x.log"}, 7, []string{`logFile "/var/log/./x.log"`, `clean`}},
		{"logFile NUL", map[string]any{"logFile": "/var/log/x\x00.log"}, 7, []string{`logFile "/var/log/x\x00.log"`, `NUL`}},
		{"logFile stdout", map[string]any{"logFile": "/dev/stdout"}, 7, []string{`logFile "/dev/stdout"`, `stdout carries the CNI result`}},
		{"logFile fd 1", map[string]any{"logFile": "/proc/self/fd/1"}, 7, []string{`logFile "/proc/self/fd/1"`, `not under /proc/`}},

		// logLevel
		{"logLevel WARNING", map[string]any{"logLevel": "WARNING"}, 0, nil},
		{"logLevel trace", map[string]any{"logLevel": "trace"}, 7, []string{`logLevel "trace"`, `"debug", "info", "warn" (or "warning"), "error" (or "panic")`}},
		{"logLevel panic", map[string]any{"logLevel": "panic"}, 0, nil},
		{"logLevel warning", map[string]any{"logLevel": "warning"}, 0, nil},
		{"logLevel number", map[string]any{"logLevel": 4}, 7, []string{`logLevel 4`, `expected a string`}},

		// ipam
		{"ipam null is no ipam", map[string]any{"ipam": nil}, 0, nil},
		{"ipam empty object is no ipam", map[string]any{"ipam": map[string]any{}}, 0, nil},
		{"ipam without type", map[string]any{"ipam": map[string]any{"subnet": "10.0.0.0/24"}}, 7, []string{`missing ipam.type`}},
		{"ipam type dotdot", map[string]any{"ipam": map[string]any{"type": ".."}}, 7, []string{`ipam.type ".."`, `file name`}},
		{"ipam type absolute", map[string]any{"ipam": map[string]any{"type": "/opt/cni/bin/host-local"}}, 7, []string{`ipam.type "/opt/cni/bin/host-local"`, `no "/"`}},
		{"ipam type number", map[string]any{"ipam": map[string]any{"type": 5}}, 7, []string{`ipam.type 5`, `expected a string`}},

		// runtimeConfig
		// rates
		{"max_tx_rate at the kernel's limit", map[string]any{"max_tx_rate": 4294967295}, 0, nil},
		{"max_tx_rate past it", map[string]any{"max_tx_rate": 4294967296}, 7, []string{`max_tx_rate 4294967296`, `0-4294967295`}},
		{"min_tx_rate past it", map[string]any{"min_tx_rate": 4294967396}, 7, []string{`min_tx_rate 4294967396`, `0-4294967295`}},

		// device-info file
		{"device-info under /run", map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": "/run/k8s.cni.cncf.io/devinfo/cni/a.json"}}, 0, nil},
		{"device-info in a CNI config dir", map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": "/etc/cni/net.d/10.conflist"}}, 7, []string{`runtimeConfig.CNIDeviceInfoFile "/etc/cni/net.d/10.conflist"`, `below /run/k8s.cni.cncf.io/devinfo/`}},
		{"device-info relative", map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": "devinfo.json"}}, 7, []string{`runtimeConfig.CNIDeviceInfoFile "devinfo.json"`, `absolute`}},

		{"runtimeConfig not an object", map[string]any{"runtimeConfig": "x"}, 7, []string{`runtimeConfig "x"`, `expected an object`}},
		{"infinibandGUID upper case", map[string]any{"runtimeConfig": map[string]any{"infinibandGUID": "AA:BB:CC:DD:EE:FF:00:11"}}, 0, nil},
		{"guid", map[string]any{"guid": "02:00:00:00:00:00:00:07"}, 0, nil},
		{"guid short", map[string]any{"guid": "02:00:00:00:00:07"}, 7, []string{`guid "02:00:00:00:00:07"`, `8 hex octets`}},
		{"guid all F", map[string]any{"guid": "ff:ff:ff:ff:ff:ff:ff:ff"}, 7, []string{`guid "ff:ff:ff:ff:ff:ff:ff:ff"`, `no GUID`}},
		{"infinibandGUID all zero", map[string]any{"runtimeConfig": map[string]any{"infinibandGUID": "00:00:00:00:00:00:00:00"}}, 7, []string{`runtimeConfig.infinibandGUID`, `no GUID`}},
		{"pkey hex", map[string]any{"pkey": "0x8001"}, 0, nil},
		{"pkey decimal", map[string]any{"pkey": "32767"}, 0, nil},
		{"pkey 0x8000", map[string]any{"pkey": "0x8000"}, 7, []string{`pkey "0x8000"`, `invalid`}},
		{"pkey too big", map[string]any{"pkey": "0x10000"}, 7, []string{`pkey "0x10000"`, `16-bit`}},
		{"pkey word", map[string]any{"pkey": "default"}, 7, []string{`pkey "default"`}},
		{"infinibandGUID dashes", map[string]any{"runtimeConfig": map[string]any{"infinibandGUID": "aa-bb-cc-dd-ee-ff-00-11"}}, 7, []string{`runtimeConfig.infinibandGUID "aa-bb-cc-dd-ee-ff-00-11"`, `8 hex octets`}},
		{"unknown runtimeConfig keys", map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.0.0.1/24"}, "portMappings": []any{}}}, 0, nil},

		// other fields
		{"unknown top-level fields", map[string]any{"kubeVirtVmName": "x", "spec": map[string]any{"a": 1}}, 0, nil},
		{"capabilities wrong type", map[string]any{"capabilities": map[string]any{"mac": "yes"}}, 7, []string{`capabilities`, `expected a boolean`, `got a string`}},
		{"dns wrong type", map[string]any{"dns": map[string]any{"nameservers": "8.8.8.8"}}, 7, []string{`dns.nameservers "8.8.8.8"`, `expected an array`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := netconf(t, tt.fields)
			// json.Marshal cannot write an integer beyond int64; splice it in.
			stdin = []byte(strings.ReplaceAll(string(stdin), `"__raw__99999999999999999999"`, `99999999999999999999`))
			cfg, err := Load(stdin, typicalArgs)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("Load(%s): %v", stdin, err)
				}
				if cfg == nil {
					t.Fatal("nil config without an error")
				}
				return
			}
			wantError(t, err, tt.code, tt.contains...)
		})
	}
}

// TestFirstProblemWins: with several problems, the user sees the one that
// comes first in field order, and fixing it reveals the next.
func TestFirstProblemWins(t *testing.T) {
	problems := []struct {
		field, value string
		set          map[string]any
	}{
		{"type", `"bridge"`, map[string]any{"type": "bridge"}},
		{"name", `"a b"`, map[string]any{"name": "a b"}},
		{"cniVersion", `"9.9.9"`, map[string]any{"cniVersion": "9.9.9"}},
		{"deviceID", `"x"`, map[string]any{"deviceID": "x"}},
		{"mac", `"01:00:00:00:00:01"`, map[string]any{"mac": "01:00:00:00:00:01"}},
		{"vlan", `5000`, map[string]any{"vlan": 5000}},
		{"spoofchk", `"x"`, map[string]any{"spoofchk": "x"}},
		{"trust", `"x"`, map[string]any{"trust": "x"}},
		{"link_state", `"x"`, map[string]any{"link_state": "x"}},
		{"min_tx_rate", `-1`, map[string]any{"min_tx_rate": -1}},
		{"mtu", `1`, map[string]any{"mtu": 1}},
		{"rdma", `"x"`, map[string]any{"rdma": "x"}},
		{"stateDir", `"x"`, map[string]any{"stateDir": "x"}},
		{"logFile", `"x"`, map[string]any{"logFile": "x"}},
		{"logLevel", `"x"`, map[string]any{"logLevel": "x"}},
		{"ipam.type", `"a/b"`, map[string]any{"ipam": map[string]any{"type": "a/b"}}},
		{"runtimeConfig.infinibandGUID", `"x"`, map[string]any{"runtimeConfig": map[string]any{"infinibandGUID": "x"}}},
	}
	for i := range problems {
		fields := map[string]any{}
		for _, p := range problems[i:] {
			for k, v := range p.set {
				fields[k] = v
			}
		}
		_, err := Load(netconf(t, fields), "")
		p := problems[i]
		code := uint(7)
		if p.field == "cniVersion" {
			code = 1
		}
		wantError(t, err, code, p.field+" "+p.value)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load(netconf(t, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != DefaultStateDir || cfg.RDMA != RDMAAuto || cfg.LogLevel != slog.LevelInfo ||
		cfg.LogFile != "" || cfg.MTU != 0 || cfg.MAC != nil || cfg.IPAMType != "" || cfg.Args != (K8sArgs{}) {
		t.Errorf("defaults: %+v", cfg)
	}
	if len(cfg.VF.Asked()) != 0 {
		t.Errorf("VF = %+v, want nothing asked", cfg.VF)
	}
}

func TestLogLevels(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn,
		"Warning": slog.LevelWarn, "error": slog.LevelError,
	} {
		cfg, err := Load(netconf(t, map[string]any{"logLevel": in}), "")
		if err != nil {
			t.Fatalf("logLevel %q: %v", in, err)
		}
		if cfg.LogLevel != want {
			t.Errorf("logLevel %q resolved to %v, want %v", in, cfg.LogLevel, want)
		}
	}
}

func TestOversizeInput(t *testing.T) {
	// Valid JSON padded to exactly the limit still loads.
	base := netconf(t, nil)
	atLimit := append(append([]byte{}, base...), []byte(strings.Repeat(" ", MaxConfigBytes-len(base)))...)
	if _, err := Load(atLimit, ""); err != nil {
		t.Errorf("a netconf of exactly MaxConfigBytes was refused: %v", err)
	}
	over := append(atLimit, ' ')
	cfg, err := Load(over, "")
	if cfg != nil {
		t.Error("oversize input returned a config")
	}
	wantError(t, err, 7, "1048577 bytes", "at most 1048576")
}

func TestLongValuesAreClipped(t *testing.T) {
	for name, field := range map[string]map[string]any{
		// The odd leading byte puts the cut inside a two-byte rune.
		"string": {"deviceID": "x" + strings.Repeat("é", 5000)},
		"number": {"vlan": "__raw__" + strings.Repeat("9", 5000)},
	} {
		t.Run(name, func(t *testing.T) {
			stdin := netconf(t, field)
			stdin = []byte(strings.Replace(strings.Replace(string(stdin), `"__raw__`, ``, 1), `9"`, `9`, 1))
			_, err := Load(stdin, "")
			wantError(t, err, 7, `...`)
			msg := err.Error()
			if n := len(msg); n > 300 {
				t.Errorf("message is %d bytes long; a bad value must not flood the runtime's events", n)
			}
			if !utf8.ValidString(msg) {
				t.Errorf("clipping split a rune: %q", msg)
			}
		})
	}
}

func TestNotAnObject(t *testing.T) {
	for stdin, got := range map[string]string{
		`true`: "got a boolean", `"netconf"`: "got a string", `42`: "got a number",
		`[{}]`: "got an array", ` null `: "got null", "\t\n": "empty netconf",
	} {
		_, err := Load([]byte(stdin), "")
		wantError(t, err, 6, got)
	}
}

func TestTypeErrorFindsValueRegardlessOfKeyCase(t *testing.T) {
	// encoding/json matches keys case-insensitively, as sriov-cni did.
	_, err := Load([]byte(`{"cniVersion":"1.0.0","name":"n","type":"sriov-rdma","deviceID":"0000:01:10.0","VLAN":"ten"}`), "")
	wantError(t, err, 7, `invalid vlan "ten": expected an integer, got a string`)
}

func TestLoadReturnsUntypedNilError(t *testing.T) {
	cfg, err := Load(netconf(t, nil), typicalArgs)
	if err != nil || cfg == nil {
		t.Fatalf("Load = %v, %v", cfg, err)
	}
	// A typed nil *types.Error in an error interface would read as a failure.
	if _, err := LoadLenient(netconf(t, nil), ""); err != nil {
		t.Fatalf("LoadLenient on a valid config: %#v", err)
	}
}

func TestVersionInfo(t *testing.T) {
	got := strings.Join(VersionInfo().SupportedVersions(), ",")
	if got != "0.3.0,0.3.1,0.4.0,1.0.0,1.1.0" {
		t.Errorf("supported versions %s", got)
	}
	// Each call hands out its own list: a caller editing it changes nothing here.
	VersionInfo().SupportedVersions()[0] = "9.9.9"
	if VersionInfo().SupportedVersions()[0] != "0.3.0" {
		t.Error("VersionInfo shares its list between callers")
	}
}

// runtimeConfig.infinibandGUID (Multus' infinibandGUID capability) wins
// over the netconf's guid.
func TestGUIDPrecedence(t *testing.T) {
	c, err := Load(netconf(t, map[string]any{"guid": "02:00:00:00:00:00:00:01",
		"runtimeConfig": map[string]any{"infinibandGUID": "02:00:00:00:00:00:00:02"}, "pkey": "0x8001"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.GUID.String() != "02:00:00:00:00:00:00:02" || c.PKey != 0x8001 {
		t.Errorf("GUID %s pkey %#x", c.GUID, c.PKey)
	}
}
