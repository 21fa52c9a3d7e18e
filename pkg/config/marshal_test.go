package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestNetConfMarshalRoundTrip: every valid fixture, written back out and
// loaded again, resolves to the same config.
func TestNetConfMarshalRoundTrip(t *testing.T) {
	for _, name := range fixtureNames(t, "valid") {
		t.Run(name, func(t *testing.T) {
			stdin, err := os.ReadFile(filepath.Join(fixtureDir, "valid", name))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(stdin, "")
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(&cfg.Net)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Load(out, "")
			if err != nil {
				t.Fatalf("reloading %s: %v", out, err)
			}
			again.Raw, cfg.Raw = nil, nil
			again.Net, cfg.Net = NetConf{}, NetConf{}
			if !reflect.DeepEqual(again, cfg) {
				t.Errorf("round trip changed the config:\n got %+v\nwant %+v", again, cfg)
			}
		})
	}
}

// TestNetConfMarshalAllFields: writing a NetConf back out (for a journal or a
// delegate) keeps every field, whether marshalled by value or by pointer.
func TestNetConfMarshalAllFields(t *testing.T) {
	stdin, err := os.ReadFile(filepath.Join(fixtureDir, "valid", "all-fields.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(stdin, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"pointer": &cfg.Net, "value": cfg.Net} {
		t.Run(name, func(t *testing.T) {
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{`"deviceID"`, `"vlanProto"`, `"link_state"`, `"stateDir"`, `"runtimeConfig"`, `"ipam"`, `"cniVersion"`} {
				if !strings.Contains(string(out), key) {
					t.Errorf("marshalled netconf lacks %s: %s", key, out)
				}
			}
			if strings.Contains(string(out), `"dns"`) {
				t.Errorf("empty dns written: %s", out)
			}
		})
	}
}

func TestNetConfMarshalPrevResult(t *testing.T) {
	stdin, err := os.ReadFile(filepath.Join(fixtureDir, "valid", "check-prevresult.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(stdin, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(cfg.Net)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"prevResult"`) || !strings.Contains(string(out), `"10.0.0.5/24"`) {
		t.Errorf("prevResult lost on the way out: %s", out)
	}
}

func TestNetConfMarshalOmitsUnset(t *testing.T) {
	out, err := json.Marshal(NetConf{})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "{}" {
		t.Errorf("empty NetConf marshals to %s, want {}", out)
	}
}
