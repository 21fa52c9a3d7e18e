package config

import (
	"log/slog"
	"strings"
	"testing"
)

// TestLoadLenient: DEL, GC and STATUS must work from a config that no longer
// validates, using every part that still does and defaults for the rest.
func TestLoadLenient(t *testing.T) {
	tests := []struct {
		name     string
		stdin    []byte
		code     uint
		contains string
		check    func(*testing.T, *Config)
	}{
		{
			name: "one bad field keeps the rest",
			stdin: netconf(t, map[string]any{"vlan": 5000, "stateDir": "/run/custom", "logFile": "/var/log/x.log",
				"logLevel": "debug", "rdma": "required", "mtu": 9000, "ipam": map[string]any{"type": "whereabouts"}}),
			code: 7, contains: "vlan 5000",
			check: func(t *testing.T, c *Config) {
				if c.DeviceID != "0000:01:10.0" || c.StateDir != "/run/custom" || c.LogFile != "/var/log/x.log" ||
					c.LogLevel != slog.LevelDebug || c.RDMA != RDMARequired || c.MTU != 9000 || c.IPAMType != "whereabouts" {
					t.Errorf("lost valid parts: %+v", c)
				}
				if c.VF.VLAN != nil {
					t.Errorf("VF.VLAN = %v from an invalid vlan", *c.VF.VLAN)
				}
			},
		},
		{
			name: "bad stateDir, logLevel, rdma, ipam fall back to defaults",
			stdin: netconf(t, map[string]any{"stateDir": "relative", "logLevel": "loud", "rdma": "maybe",
				"logFile": "x.log", "ipam": map[string]any{"type": "../evil"}}),
			code: 7, contains: `rdma "maybe"`, // rdma comes first in field order
			check: func(t *testing.T, c *Config) {
				if c.StateDir != DefaultStateDir || c.LogLevel != slog.LevelInfo || c.RDMA != RDMAAuto ||
					c.LogFile != "" || c.IPAMType != "" {
					t.Errorf("want defaults, got %+v", c)
				}
				// A relative IPAM path must never reach exec.
				if strings.Contains(c.IPAMType, "/") {
					t.Errorf("IPAMType %q", c.IPAMType)
				}
			},
		},
		{
			name:  "conflicting device addresses give no device",
			stdin: netconf(t, map[string]any{"pciBusID": "0000:01:10.1", "ipam": map[string]any{"type": "host-local"}}),
			code:  7, contains: "pciBusID",
			check: func(t *testing.T, c *Config) {
				if c.DeviceID != "" {
					t.Errorf("DeviceID = %q from an ambiguous config", c.DeviceID)
				}
				if c.IPAMType != "host-local" {
					t.Errorf("IPAMType = %q; DEL must still release the address", c.IPAMType)
				}
			},
		},
		{
			name:  "wrong JSON type in one field keeps the rest",
			stdin: netconf(t, map[string]any{"mtu": "big", "stateDir": "/run/x", "ipam": map[string]any{"type": "static"}}),
			code:  7, contains: `mtu "big"`,
			check: func(t *testing.T, c *Config) {
				if c.StateDir != "/run/x" || c.IPAMType != "static" || c.DeviceID != "0000:01:10.0" {
					t.Errorf("lost valid parts: %+v", c)
				}
			},
		},
		{
			name:  "unsupported cniVersion keeps the rest",
			stdin: netconf(t, map[string]any{"cniVersion": "0.2.0", "stateDir": "/run/x"}),
			code:  1, contains: `cniVersion "0.2.0"`,
			check: func(t *testing.T, c *Config) {
				if c.StateDir != "/run/x" || c.DeviceID != "0000:01:10.0" {
					t.Errorf("lost valid parts: %+v", c)
				}
			},
		},
		{
			name:  "not JSON gives defaults and the pod",
			stdin: []byte(`{"type": "sriov-rdma", `),
			code:  6, contains: "not valid JSON",
			check: func(t *testing.T, c *Config) {
				if c.StateDir != DefaultStateDir || c.RDMA != RDMAAuto || c.LogLevel != slog.LevelInfo || c.DeviceID != "" {
					t.Errorf("want defaults, got %+v", c)
				}
				if c.Args.PodName != "rdma-pod-0" {
					t.Errorf("Args = %+v", c.Args)
				}
			},
		},
		{
			name:  "oversize gives defaults",
			stdin: []byte(`{"stateDir":"/run/x"}` + strings.Repeat(" ", MaxConfigBytes)),
			code:  7, contains: "at most",
			check: func(t *testing.T, c *Config) {
				if c.StateDir != DefaultStateDir {
					t.Errorf("StateDir = %q from unparsed input", c.StateDir)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadLenient(tt.stdin, typicalArgs)
			if cfg == nil {
				t.Fatal("nil config")
			}
			wantError(t, err, tt.code, tt.contains)
			if string(cfg.Raw) != string(tt.stdin) {
				t.Error("Raw is not stdin")
			}
			if cfg.Args.PodNamespace != "default" {
				t.Errorf("Args = %+v", cfg.Args)
			}
			tt.check(t, cfg)

			strict, strictErr := Load(tt.stdin, typicalArgs)
			if strict != nil || strictErr == nil || strictErr.Error() != err.Error() {
				t.Errorf("Load = %v, %v; want nil and the same error", strict, strictErr)
			}
		})
	}
}

func TestLoadLenientNilInput(t *testing.T) {
	cfg, err := LoadLenient(nil, "")
	if cfg == nil {
		t.Fatal("nil config")
	}
	wantError(t, err, 6, "empty netconf")
	if cfg.StateDir != DefaultStateDir {
		t.Errorf("StateDir = %q", cfg.StateDir)
	}
}
