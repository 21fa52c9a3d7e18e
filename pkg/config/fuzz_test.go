package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// FuzzLoad: whatever arrives on stdin and in CNI_ARGS, Load does not panic,
// fails only with a CNI error of a documented code, and what it accepts obeys
// the rules the rest of the plugin relies on (the device address names a sysfs
// path, the state directory is where journals go).
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		paths, err := filepath.Glob(filepath.Join(fixtureDir, dir, "*.json"))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, typicalArgs)
		}
	}
	f.Add([]byte(`{}`), "a;=b;;c=d")

	f.Fuzz(func(t *testing.T, stdin []byte, cniArgs string) {
		cfg, err := Load(stdin, cniArgs)
		lcfg, lerr := LoadLenient(stdin, cniArgs)
		if lcfg == nil {
			t.Fatal("LoadLenient returned a nil config")
		}
		if (err == nil) != (lerr == nil) {
			t.Fatalf("Load error %v but LoadLenient error %v", err, lerr)
		}
		for _, c := range []*Config{cfg, lcfg} {
			if c == nil {
				continue
			}
			if c.DeviceID != "" && !pciAddrRE.MatchString(c.DeviceID) {
				t.Fatalf("resolved DeviceID %q is not a PCI address", c.DeviceID)
			}
			if checkPath("stateDir", c.StateDir, "") != nil {
				t.Fatalf("resolved StateDir %q is not absolute and clean", c.StateDir)
			}
			if c.LogFile != "" && checkPath("logFile", c.LogFile, "") != nil {
				t.Fatalf("resolved LogFile %q is not absolute and clean", c.LogFile)
			}
		}
		if err == nil {
			if cfg == nil || cfg.DeviceID == "" {
				t.Fatalf("Load succeeded without a device: %+v", cfg)
			}
			return
		}
		if cfg != nil {
			t.Fatal("Load returned a config with an error")
		}
		var e *types.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is a %T, want *types.Error", err, err)
		}
		switch e.Code {
		case types.ErrIncompatibleCNIVersion, types.ErrInvalidEnvironmentVariables,
			types.ErrDecodingFailure, types.ErrInvalidNetworkConfig:
		default:
			t.Fatalf("error code %d (%v) is not one of 1, 4, 6, 7", e.Code, e)
		}
		if e.Msg == "" {
			t.Fatal("error without a message")
		}
	})
}
