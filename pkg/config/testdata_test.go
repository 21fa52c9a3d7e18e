package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const fixtureDir = "../../testdata/netconf"

// invalidFixture is what Load must answer for an invalid fixture: the code
// and what the message contains.
type invalidFixture struct {
	code     uint
	contains []string
}

// invalidFixtures pairs every file in testdata/netconf/invalid with what the
// user must see. Each contains list names the field, the bad value and what is
// allowed.
var invalidFixtures = map[string]invalidFixture{
	"type-bridge.json":                {7, []string{`type "bridge"`, `must be "sriov-rdma"`}},
	"type-missing.json":               {7, []string{`missing type`, `"sriov-rdma"`}},
	"name-missing.json":               {7, []string{`missing name`, `"name"`}},
	"name-space.json":                 {7, []string{`name "my net"`, `letters, digits`}},
	"cniversion-0.2.0.json":           {1, []string{`cniVersion "0.2.0"`, `0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0`}},
	"cniversion-missing.json":         {1, []string{`missing cniVersion`, `0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0`}},
	"deviceid-missing.json":           {7, []string{`missing deviceID: set "deviceID" (or "pciBusID"/runtimeConfig.deviceID) to the VF's PCI address, e.g. "0000:01:10.0"`}},
	"deviceid-traversal.json":         {7, []string{`deviceID "../../etc"`, `DDDD:BB:DD.F`}},
	"deviceid-slash.json":             {7, []string{`deviceID "0000:01:10.0/../../x"`, `DDDD:BB:DD.F`}},
	"deviceid-whitespace.json":        {7, []string{`deviceID " 0000:01:10.0"`, `DDDD:BB:DD.F`}},
	"deviceid-nul.json":               {7, []string{`deviceID "0000:01:10.0\x00"`, `DDDD:BB:DD.F`}},
	"deviceid-device-20.json":         {7, []string{`deviceID "0000:01:20.0"`, `device 00-1f`}},
	"deviceid-function-8.json":        {7, []string{`deviceID "0000:01:10.8"`, `function 0-7`}},
	"deviceid-no-domain.json":         {7, []string{`deviceID "01:10.0"`, `e.g. "0000:01:10.0"`}},
	"deviceid-number.json":            {7, []string{`deviceID 1`, `expected a string`, `got a number`}},
	"runtimeconfig-deviceid-bad.json": {7, []string{`runtimeConfig.deviceID "0000:01:10.0\n"`, `DDDD:BB:DD.F`}},
	"pcibusid-bad.json":               {7, []string{`pciBusID "0000:zz:00.0"`, `DDDD:BB:DD.F`}},
	"deviceid-pcibusid-conflict.json": {7, []string{`deviceID "0000:01:10.0"`, `pciBusID "0000:01:10.1"`, `same VF`}},
	"mac-multicast.json":              {7, []string{`mac "01:00:5e:00:00:01"`, `unicast`}},
	"mac-broadcast.json":              {7, []string{`mac "ff:ff:ff:ff:ff:ff"`, `unicast`}},
	"mac-zero.json":                   {7, []string{`mac "00:00:00:00:00:00"`, `not be all zeros`}},
	"mac-infiniband.json":             {7, []string{`mac "00:00:04:48:fe:80`, `6-byte Ethernet`, `infinibandGUID`}},
	"mac-garbage.json":                {7, []string{`mac "not-a-mac"`, `e.g. "02:00:00:00:00:01"`}},
	"runtimeconfig-mac-bad.json":      {7, []string{`runtimeConfig.mac "03:00:00:00:00:01"`, `unicast`}},
	"vlan-5000.json":                  {7, []string{`invalid vlan 5000: must be an integer 0-4094`}},
	"vlan-negative.json":              {7, []string{`vlan -1`, `0-4094`}},
	"vlan-string.json":                {7, []string{`invalid vlan "100": expected an integer, got a string`}},
	"vlan-fraction.json":              {7, []string{`vlan 1.5`, `expected an integer`}},
	"vlanqos-8.json":                  {7, []string{`vlanQoS 8`, `0-7`}},
	"vlanqos-without-vlan.json":       {7, []string{`vlanQoS 2`, `needs "vlan"`}},
	"vlanqos-vlan-0.json":             {7, []string{`vlanQoS 2`, `non-zero "vlan"`}},
	"vlanproto-8021x.json":            {7, []string{`vlanProto "802.1x"`, `"802.1q" or "802.1ad"`}},
	"vlanproto-without-vlan.json":     {7, []string{`vlanProto "802.1q"`, `needs "vlan"`}},
	"vlanproto-8021ad-vlan-0.json":    {7, []string{`vlanProto "802.1ad" with vlan 0`, `non-zero "vlan"`}},
	"spoofchk-maybe.json":             {7, []string{`invalid spoofchk "maybe": must be "on" or "off"`}},
	"spoofchk-bool.json":              {7, []string{`spoofchk true`, `expected a string`, `got a boolean`}},
	"trust-yes.json":                  {7, []string{`trust "yes"`, `"on" or "off"`}},
	"link-state-up.json":              {7, []string{`link_state "up"`, `"auto", "enable" or "disable"`}},
	"min-tx-rate-negative.json":       {7, []string{`min_tx_rate -5`, `0-4294967295`}},
	"max-tx-rate-negative.json":       {7, []string{`max_tx_rate -1`, `0-4294967295`}},
	"max-tx-rate-wraps.json":          {7, []string{`max_tx_rate 4294967396`, `0-4294967295`}},
	"min-tx-rate-above-max.json":      {7, []string{`min_tx_rate 2000`, `max_tx_rate 1000`, `must not exceed`}},
	"mtu-50.json":                     {7, []string{`mtu 50`, `68-65535`}},
	"mtu-70000.json":                  {7, []string{`mtu 70000`, `68-65535`}},
	"mtu-negative.json":               {7, []string{`mtu -1500`, `68-65535`}},
	"rdma-yes.json":                   {7, []string{`rdma "yes"`, `"auto", "required" or "off"`}},
	"statedir-relative.json":          {7, []string{`stateDir "var/lib/cni"`, `absolute`}},
	"statedir-dotdot.json":            {7, []string{`stateDir "/var/lib/../../etc"`, `".."`}},
	"statedir-unclean.json":           {7, []string{`stateDir "/var/lib//cni/"`, `clean`, `"/var/lib/cni"`}},
	"statedir-root.json":              {7, []string{`stateDir "/"`, `below /var/lib/cni/ or /run/`}},
	"statedir-outside-roots.json":     {7, []string{`stateDir "/etc/cni/net.d"`, `below /var/lib/cni/ or /run/`, `/etc/sriov-rdma/node.json`}},
	"statedir-a-root.json":            {7, []string{`stateDir "/var/lib/cni"`, `below /var/lib/cni/ or /run/`}},
	"logfile-cni-config.json":         {7, []string{`logFile "/etc/cni/net.d/10-flannel.conflist"`, `below /var/log/`}},
	"deviceinfo-cni-config.json":      {7, []string{`runtimeConfig.CNIDeviceInfoFile "/etc/cni/net.d/10-flannel.conflist"`, `below /run/k8s.cni.cncf.io/devinfo/ or /var/run/k8s.cni.cncf.io/devinfo/`}},
	"deviceinfo-dotdot.json":          {7, []string{`runtimeConfig.CNIDeviceInfoFile "/run/k8s.cni.cncf.io/devinfo/../../../etc/passwd"`, `".."`}},
	"logfile-relative.json":           {7, []string{`logFile "sriov.log"`, `absolute`}},
	"logfile-trailing-slash.json":     {7, []string{`logFile "/var/log/"`, `not a directory`}},
	"logfile-dotdot.json":             {7, []string{`logFile "/var/log/../../etc/passwd"`, `".."`}},
	"loglevel-verbose.json":           {7, []string{`logLevel "verbose"`, `"debug", "info", "warn" (or "warning"), "error" (or "panic")`}},
	"ipam-type-missing.json":          {7, []string{`missing ipam.type`, `"host-local"`}},
	"ipam-type-path.json":             {7, []string{`ipam.type "../../usr/bin/evil"`, `no "/"`}},
	"ipam-string.json":                {7, []string{`ipam "host-local"`, `expected an object`, `got a string`}},
	"infinibandguid-short.json":       {7, []string{`runtimeConfig.infinibandGUID "00:11:22:33:44:55"`, `8 hex octets`}},
	"prevresult-bad-ip.json":          {7, []string{`prevResult`, `not-an-ip`}},
	"first-problem-wins.json":         {7, []string{`type "bridge"`}},
	"syntax-trailing-comma.json":      {6, []string{`not valid JSON`, `at byte 59`}},
	"not-an-object.json":              {6, []string{`JSON object`, `got an array`}},
	"null.json":                       {6, []string{`JSON object`, `got null`}},
	"empty.json":                      {6, []string{`empty netconf`}},
}

// validFixtures pairs every file in testdata/netconf/valid with what is
// special about it.
var validFixtures = map[string]func(*testing.T, *Config){
	"vlanqos-0-alone.json": func(t *testing.T, c *Config) {
		// sriov-cni accepted it; it asks for no PF-side setting.
		if len(c.VF.Asked()) != 0 {
			t.Errorf("vlanQoS 0 without vlan asked for %+v, want nothing", c.VF)
		}
	},
	"minimal.json": func(t *testing.T, c *Config) {
		want := Config{DeviceID: "0000:01:10.0", RDMA: RDMAAuto, StateDir: DefaultStateDir, LogLevel: slog.LevelInfo}
		if c.DeviceID != want.DeviceID || c.RDMA != want.RDMA || c.StateDir != want.StateDir ||
			c.LogLevel != want.LogLevel || c.LogFile != "" || c.MTU != 0 || c.MAC != nil || c.IPAMType != "" {
			t.Errorf("minimal config resolved to %+v, want only defaults and the device", c)
		}
		if len(c.VF.Asked()) != 0 {
			t.Errorf("VF settings %+v, want none asked", c.VF)
		}
	},
	"multus-deviceid-pcibusid.json": func(t *testing.T, c *Config) {
		if c.DeviceID != "0000:3b:02.3" {
			t.Errorf("DeviceID = %q, want lower-cased %q", c.DeviceID, "0000:3b:02.3")
		}
		if c.MAC.String() != "02:11:22:33:44:55" || c.VF.MAC.String() != "02:11:22:33:44:55" {
			t.Errorf("MAC = %v, VF.MAC = %v, want runtimeConfig.mac", c.MAC, c.VF.MAC)
		}
		if c.IPAMType != "host-local" {
			t.Errorf("IPAMType = %q", c.IPAMType)
		}
		if !strings.HasSuffix(c.Net.RuntimeConfig.CNIDeviceInfoFile, "0000:3b:02.3-device.json") {
			t.Errorf("CNIDeviceInfoFile = %q", c.Net.RuntimeConfig.CNIDeviceInfoFile)
		}
	},
	"vlan-qos-proto.json": func(t *testing.T, c *Config) {
		if deref(c.VF.VLAN) != 100 || deref(c.VF.QoS) != 3 || deref(c.VF.Proto) != "802.1ad" {
			t.Errorf("VF vlan/qos/proto = %v/%v/%v, want 100/3/802.1ad", deref(c.VF.VLAN), deref(c.VF.QoS), deref(c.VF.Proto))
		}
	},
	"vlan-0-untagged.json": func(t *testing.T, c *Config) {
		if deref(c.VF.VLAN) != 0 || deref(c.VF.QoS) != 0 || deref(c.VF.Proto) != "802.1q" {
			t.Errorf("VF vlan/qos/proto = %v/%v/%v, want 0/0/802.1q", deref(c.VF.VLAN), deref(c.VF.QoS), deref(c.VF.Proto))
		}
	},
	"rates.json": func(t *testing.T, c *Config) {
		if deref(c.VF.MinTxRate) != 100 || deref(c.VF.MaxTxRate) != 1000 {
			t.Errorf("rates = %v/%v, want 100/1000", deref(c.VF.MinTxRate), deref(c.VF.MaxTxRate))
		}
	},
	"rates-max-0-unlimited.json": func(t *testing.T, c *Config) {
		if deref(c.VF.MinTxRate) != 500 || deref(c.VF.MaxTxRate) != 0 {
			t.Errorf("rates = %v/%v, want 500/0", deref(c.VF.MinTxRate), deref(c.VF.MaxTxRate))
		}
	},
	"mtu.json": func(t *testing.T, c *Config) {
		if c.MTU != 9000 {
			t.Errorf("MTU = %d, want 9000", c.MTU)
		}
	},
	"rdma-required.json": func(t *testing.T, c *Config) {
		if c.RDMA != RDMARequired {
			t.Errorf("RDMA = %q", c.RDMA)
		}
	},
	"rdma-off.json": func(t *testing.T, c *Config) {
		if c.RDMA != RDMAOff {
			t.Errorf("RDMA = %q", c.RDMA)
		}
	},
	"cni-0.4.0.json": func(t *testing.T, c *Config) {
		if c.Net.CNIVersion != "0.4.0" || c.IPAMType != "host-local" {
			t.Errorf("cniVersion %q ipam %q", c.Net.CNIVersion, c.IPAMType)
		}
	},
	"cni-1.1.0.json": func(t *testing.T, c *Config) {
		if c.Net.CNIVersion != "1.1.0" {
			t.Errorf("cniVersion %q", c.Net.CNIVersion)
		}
	},
	"ipam-whereabouts.json": func(t *testing.T, c *Config) {
		if c.IPAMType != "whereabouts" {
			t.Errorf("IPAMType = %q", c.IPAMType)
		}
		// IPAM gets the exact bytes, its own fields included.
		if !strings.Contains(string(c.Raw), `"exclude"`) {
			t.Errorf("Raw lost the whereabouts fields: %s", c.Raw)
		}
	},
	"ipam-static.json": func(t *testing.T, c *Config) {
		if c.IPAMType != "static" {
			t.Errorf("IPAMType = %q", c.IPAMType)
		}
	},
	"all-fields.json": func(t *testing.T, c *Config) {
		got := []any{c.DeviceID, c.MAC.String(), deref(c.VF.VLAN), deref(c.VF.QoS), deref(c.VF.Proto),
			deref(c.VF.SpoofChk), deref(c.VF.Trust), deref(c.VF.LinkState), deref(c.VF.MinTxRate), deref(c.VF.MaxTxRate),
			c.MTU, c.RDMA, c.StateDir, c.LogFile, c.LogLevel, c.IPAMType, c.Net.RuntimeConfig.InfinibandGUID}
		want := []any{"0000:af:00.2", "02:aa:bb:cc:dd:01", 42, 5, "802.1q",
			true, false, "enable", 10, 25000,
			4200, RDMAAuto, "/run/sriov-rdma", "/var/log/sriov-rdma.log", slog.LevelDebug, "host-local", "00:11:22:33:44:55:66:77"}
		if !slices.Equal(got, want) {
			t.Errorf("resolved\n got %v\nwant %v", got, want)
		}
	},
	"sriov-operator-no-ipam.json": func(t *testing.T, c *Config) {
		// What sriov-network-operator renders for a network without IPAM:
		// "ipam":{} is no IPAM, "vlan":0 alone is untagged, and the
		// device-info path Multus gives is accepted under /var/run.
		if c.IPAMType != "" || deref(c.VF.VLAN) != 0 || deref(c.VF.QoS) != 0 || c.LogLevel != slog.LevelInfo {
			t.Errorf("resolved ipam %q vlan %v qos %v level %v", c.IPAMType, deref(c.VF.VLAN), deref(c.VF.QoS), c.LogLevel)
		}
		if c.DeviceInfoRoot != "/var/run/k8s.cni.cncf.io/devinfo" || c.LogRoot != "/var/log" {
			t.Errorf("roots: device-info %q log %q", c.DeviceInfoRoot, c.LogRoot)
		}
	},
	"sriov-cni-nad.json": func(t *testing.T, c *Config) {
		// An unchanged sriov-cni NAD (pciBusID only, extra fields) carries over.
		if c.DeviceID != "0000:86:00.4" || c.LogLevel != slog.LevelWarn ||
			deref(c.VF.SpoofChk) != true || deref(c.VF.Trust) != true || deref(c.VF.LinkState) != "auto" {
			t.Errorf("resolved %+v / %+v", c, c.VF)
		}
	},
	"runtimeconfig-deviceid.json": func(t *testing.T, c *Config) {
		if c.DeviceID != "0000:d8:01.7" {
			t.Errorf("DeviceID = %q, want runtimeConfig.deviceID over pciBusID", c.DeviceID)
		}
	},
	"check-prevresult.json": func(t *testing.T, c *Config) {
		if c.Net.PrevResult == nil {
			t.Fatal("prevResult was not parsed")
		}
		if v := c.Net.PrevResult.Version(); v != "1.0.0" {
			t.Errorf("prevResult version %q", v)
		}
	},
}

// fixtureNames lists the .json files of a fixture directory and fails on any
// other file, so a stray file cannot escape the tables.
func fixtureNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(fixtureDir, dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			t.Errorf("%s/%s: only .json fixtures belong here", dir, e.Name())
			continue
		}
		names = append(names, e.Name())
	}
	return names
}

// eachFixture runs check, as a subtest, on the bytes of every fixture in
// dir (at least least of them) with its expectation from table; a fixture
// without an expectation fails, and so does an expectation without its
// fixture.
func eachFixture[E any](t *testing.T, dir string, least int, table map[string]E, check func(t *testing.T, want E, stdin []byte)) {
	t.Helper()
	names := fixtureNames(t, dir)
	if len(names) < least {
		t.Errorf("%d %s fixtures, want at least %d", len(names), dir, least)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, ok := table[name]
			if !ok {
				t.Fatalf("no expectation for %s/%s: add it to %sFixtures", dir, name, dir)
			}
			stdin, err := os.ReadFile(filepath.Join(fixtureDir, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			check(t, want, stdin)
		})
	}
	for name := range table {
		if !slices.Contains(names, name) {
			t.Errorf("%sFixtures names %s, which is not in testdata/netconf/%s", dir, name, dir)
		}
	}
}

func TestInvalidFixtures(t *testing.T) {
	eachFixture(t, "invalid", 30, invalidFixtures, func(t *testing.T, want invalidFixture, stdin []byte) {
		cfg, err := Load(stdin, typicalArgs)
		if cfg != nil {
			t.Errorf("Load returned a config alongside an error")
		}
		wantError(t, err, want.code, want.contains...)

		// DEL must still be able to run on the same bytes.
		lcfg, lerr := LoadLenient(stdin, typicalArgs)
		if lcfg == nil {
			t.Fatal("LoadLenient returned a nil config")
		}
		if lerr == nil || lerr.Error() != err.Error() {
			t.Errorf("LoadLenient error %v, want the same as Load's: %v", lerr, err)
		}
	})
}

func TestValidFixtures(t *testing.T) {
	eachFixture(t, "valid", 8, validFixtures, func(t *testing.T, check func(*testing.T, *Config), stdin []byte) {
		cfg, err := Load(stdin, typicalArgs)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if string(cfg.Raw) != string(stdin) {
			t.Error("Raw is not the exact stdin")
		}
		if cfg.Args.PodName != "rdma-pod-0" {
			t.Errorf("Args.PodName = %q", cfg.Args.PodName)
		}
		check(t, cfg)

		// The lenient view of a valid config is the same config.
		lcfg, lerr := LoadLenient(stdin, typicalArgs)
		if lerr != nil || lcfg.DeviceID != cfg.DeviceID || lcfg.StateDir != cfg.StateDir || lcfg.IPAMType != cfg.IPAMType {
			t.Errorf("LoadLenient = %+v, %v; want what Load resolved", lcfg, lerr)
		}
	})
}
