package config

import (
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
)

// A node administrator widens the roots; a netconf never can.
func TestLoadWithWidenedRoots(t *testing.T) {
	stdin := netconf(t, map[string]any{"stateDir": "/data/cni/sriov", "logFile": "/data/log/sriov.log"})
	if _, err := Load(stdin, ""); err == nil {
		t.Fatalf("stateDir /data/cni/sriov accepted with the default roots")
	}
	o := Options{Roots: confine.Default().Widen(confine.Roots{State: []string{"/data/cni"}, Log: []string{"/data/log"}})}
	cfg, err := LoadWith(stdin, "", o)
	if err != nil {
		t.Fatalf("LoadWith widened roots: %v", err)
	}
	if cfg.StateDir != "/data/cni/sriov" || cfg.StateRoot != "/data/cni" || cfg.LogRoot != "/data/log" {
		t.Errorf("state %q root %q log root %q", cfg.StateDir, cfg.StateRoot, cfg.LogRoot)
	}
	// A lenient load (DEL) that refuses a path falls back to the default
	// state directory, where no journal of the refused path can be.
	lc, lerr := LoadLenient(stdin, "")
	if lerr == nil || lc.StateDir != DefaultStateDir || lc.StateRoot != DefaultStateRoot || lc.LogFile != "" {
		t.Errorf("lenient load: %v, state %q root %q log %q", lerr, lc.StateDir, lc.StateRoot, lc.LogFile)
	}
}
