package config

import (
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

func TestDeviceIDPrecedence(t *testing.T) {
	tests := []struct {
		name               string
		deviceID, pciBusID string
		runtimeDeviceID    string
		want               string
		wantCode           uint
		wantErrContains    []string
	}{
		{name: "deviceID only", deviceID: "0000:01:10.0", want: "0000:01:10.0"},
		{name: "pciBusID only, as sriov-cni NADs", pciBusID: "0000:01:10.1", want: "0000:01:10.1"},
		{name: "runtimeConfig.deviceID only", runtimeDeviceID: "0000:01:10.2", want: "0000:01:10.2"},
		{name: "deviceID over runtimeConfig.deviceID", deviceID: "0000:01:10.0", runtimeDeviceID: "0000:01:10.2", want: "0000:01:10.0"},
		{name: "runtimeConfig.deviceID over pciBusID", runtimeDeviceID: "0000:01:10.2", pciBusID: "0000:01:10.1", want: "0000:01:10.2"},
		{name: "Multus: deviceID and pciBusID agree", deviceID: "0000:3B:00.2", pciBusID: "0000:3b:00.2", want: "0000:3b:00.2"},
		{name: "all three, deviceID wins", deviceID: "0000:01:10.0", runtimeDeviceID: "0000:01:10.2", pciBusID: "0000:01:10.0", want: "0000:01:10.0"},
		{name: "deviceID and pciBusID disagree", deviceID: "0000:01:10.0", pciBusID: "0000:01:10.1",
			wantCode: 7, wantErrContains: []string{`deviceID "0000:01:10.0"`, `pciBusID "0000:01:10.1"`}},
		{name: "losing pciBusID is still checked", deviceID: "0000:01:10.0", pciBusID: "garbage",
			wantCode: 7, wantErrContains: []string{`pciBusID "garbage"`}},
		{name: "losing runtimeConfig.deviceID is still checked", deviceID: "0000:01:10.0", runtimeDeviceID: "../x",
			wantCode: 7, wantErrContains: []string{`runtimeConfig.deviceID "../x"`}},
		{name: "none", wantCode: 7, wantErrContains: []string{`missing deviceID`, `"0000:01:10.0"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]any{"deviceID": nil}
			if tt.deviceID != "" {
				fields["deviceID"] = tt.deviceID
			}
			if tt.pciBusID != "" {
				fields["pciBusID"] = tt.pciBusID
			}
			if tt.runtimeDeviceID != "" {
				fields["runtimeConfig"] = map[string]any{"deviceID": tt.runtimeDeviceID}
			}
			cfg, err := Load(netconf(t, fields), "")
			if tt.wantCode != 0 {
				wantError(t, err, tt.wantCode, tt.wantErrContains...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DeviceID != tt.want {
				t.Errorf("DeviceID = %q, want %q", cfg.DeviceID, tt.want)
			}
		})
	}
}

func TestMACPrecedence(t *testing.T) {
	tests := []struct {
		name, mac, runtimeMAC string
		want                  string // "" = keep
	}{
		{name: "neither keeps the MAC"},
		{name: "mac", mac: "02:00:00:00:00:01", want: "02:00:00:00:00:01"},
		{name: "runtimeConfig.mac", runtimeMAC: "02:00:00:00:00:02", want: "02:00:00:00:00:02"},
		{name: "runtimeConfig.mac overrides mac", mac: "02:00:00:00:00:01", runtimeMAC: "02:00:00:00:00:02", want: "02:00:00:00:00:02"},
		{name: "normalized", mac: "02-AA-BB-CC-DD-EE", want: "02:aa:bb:cc:dd:ee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]any{}
			if tt.mac != "" {
				fields["mac"] = tt.mac
			}
			if tt.runtimeMAC != "" {
				fields["runtimeConfig"] = map[string]any{"mac": tt.runtimeMAC}
			}
			cfg, err := Load(netconf(t, fields), "")
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if cfg.MAC != nil || cfg.VF.MAC != nil {
					t.Errorf("MAC = %v, VF.MAC = %v; want both nil (keep)", cfg.MAC, cfg.VF.MAC)
				}
				return
			}
			// The pod-side MAC and the PF-side admin MAC are the same address.
			if cfg.MAC.String() != tt.want || cfg.VF.MAC.String() != tt.want {
				t.Errorf("MAC = %v, VF.MAC = %v; want %s", cfg.MAC, cfg.VF.MAC, tt.want)
			}
		})
	}
}

func TestVFSettings(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		check  func(*testing.T, vf.Request)
	}{
		{"nothing asked", nil, func(t *testing.T, s vf.Request) {
			if len(s.Asked()) != 0 {
				t.Errorf("%+v asks for %v", s, s.Asked())
			}
		}},
		{"vlan without qos leaves qos alone", map[string]any{"vlan": 10}, func(t *testing.T, s vf.Request) {
			if deref(s.VLAN) != 10 || s.QoS != nil || s.Proto != nil {
				t.Errorf("vlan/qos/proto = %v/%v/%v, want 10/nil/nil", deref(s.VLAN), deref(s.QoS), deref(s.Proto))
			}
			if len(s.Asked()) == 0 {
				t.Error("a vlan asked is not listed as asked")
			}
		}},
		{"proto normalized", map[string]any{"vlan": 10, "vlanQoS": 1, "vlanProto": "802.1AD"}, func(t *testing.T, s vf.Request) {
			if deref(s.Proto) != "802.1ad" || deref(s.QoS) != 1 {
				t.Errorf("proto %v qos %v", deref(s.Proto), deref(s.QoS))
			}
		}},
		{"spoofchk off, trust on", map[string]any{"spoofchk": "off", "trust": "ON"}, func(t *testing.T, s vf.Request) {
			if s.SpoofChk == nil || *s.SpoofChk || s.Trust == nil || !*s.Trust {
				t.Errorf("spoofchk %v trust %v, want false/true", deref(s.SpoofChk), deref(s.Trust))
			}
		}},
		{"empty switch strings are not asked", map[string]any{"spoofchk": "", "trust": "", "link_state": ""}, func(t *testing.T, s vf.Request) {
			if len(s.Asked()) != 0 {
				t.Errorf("%+v asks for %v", s, s.Asked())
			}
		}},
		{"link state normalized", map[string]any{"link_state": "Auto"}, func(t *testing.T, s vf.Request) {
			if deref(s.LinkState) != "auto" {
				t.Errorf("link state %v", deref(s.LinkState))
			}
		}},
		{"only max rate", map[string]any{"max_tx_rate": 0}, func(t *testing.T, s vf.Request) {
			if s.MinTxRate != nil || deref(s.MaxTxRate) != 0 {
				t.Errorf("rates %v/%v, want nil/0", deref(s.MinTxRate), deref(s.MaxTxRate))
			}
		}},
		{"mac only", map[string]any{"mac": "02:00:00:00:00:09"}, func(t *testing.T, s vf.Request) {
			if s.MAC.String() != "02:00:00:00:00:09" || len(s.Asked()) == 0 {
				t.Errorf("MAC %v, asked %v", s.MAC, s.Asked())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(netconf(t, tt.fields), "")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg.VF)
		})
	}
}

// The resolved settings are applied and undone apart from the netconf; editing
// one must not edit the other.
func TestConfigDoesNotAliasNetConf(t *testing.T) {
	cfg, err := Load(netconf(t, map[string]any{"vlan": 5, "vlanQoS": 1, "min_tx_rate": 1, "max_tx_rate": 2, "mac": "02:00:00:00:00:01"}), "")
	if err != nil {
		t.Fatal(err)
	}
	*cfg.VF.VLAN, *cfg.VF.QoS, *cfg.VF.MinTxRate, *cfg.VF.MaxTxRate = 99, 7, 50, 60
	cfg.VF.MAC[5] = 0xff
	if *cfg.Net.VLAN != 5 || *cfg.Net.VLANQoS != 1 || *cfg.Net.MinTxRate != 1 || *cfg.Net.MaxTxRate != 2 {
		t.Error("vf.Request alias NetConf")
	}
	if cfg.MAC.String() != "02:00:00:00:00:01" {
		t.Errorf("pod-side MAC changed to %v with the VF admin MAC", cfg.MAC)
	}
}
