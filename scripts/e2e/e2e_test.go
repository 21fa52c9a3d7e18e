package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The lane's own logic that needs no root: if these break, the lane passes
// or fails for the wrong reason.

func TestEchoRequestChecksums(t *testing.T) {
	pkt := echoRequest(0x1234, 7)
	if got := checksum(pkt); got != 0 {
		t.Errorf("checksum over a finished echo request = %#x, want 0 (the receiver's check)", got)
	}
	// The reply a kernel sends back: type 0, same id and seq, behind a
	// 20-byte IPv4 header.
	reply := append(make([]byte, 20), pkt...)
	reply[0] = 0x45
	reply[20] = 0
	if !isEchoReply(reply, 0x1234, 7) {
		t.Error("isEchoReply rejects the reply to its own request")
	}
	if isEchoReply(reply, 0x1234, 8) || isEchoReply(append(make([]byte, 20), pkt...), 0x1234, 7) {
		t.Error("isEchoReply accepts another sequence number or an echo request")
	}
}

func TestLeftoversCountsEveryEntry(t *testing.T) {
	dir := t.TempDir()
	if got := leftovers(dir); len(got) != 0 {
		t.Errorf("stateFiles of an empty dir = %v, want none", got)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c1-net1.json"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "c1-net1.json"), filepath.Join(dir, "sub")}
	if got := leftovers(dir); !slices.Equal(got, want) {
		t.Errorf("stateFiles = %v, want %v (an empty subdirectory is a leftover too)", got, want)
	}
	if got := leftovers(filepath.Join(dir, "missing")); len(got) != 0 {
		t.Errorf("stateFiles of a missing dir = %v, want none (the plugin creates it on first ADD)", got)
	}
}

func TestSelectCases(t *testing.T) {
	got, err := selectCases([]string{"gc", "1"})
	if err != nil || len(got) != 2 || got[0].name != "gc" || got[1].name != "add" {
		t.Errorf("selectCases(gc 1) = %v, %v", got, err)
	}
	if _, err := selectCases([]string{"nope"}); err == nil {
		t.Error("selectCases accepted an unknown case")
	}
	// 11 core cases (10 of the first lane, the userspace-driver VF), 6 for
	// the spec in chains, 6 for the hardening.
	if all, _ := selectCases(nil); len(all) != len(cases) || len(cases) != 23 {
		t.Errorf("no argument selects %d of %d cases, want 23", len(all), len(cases))
	}
}

func TestShellLineQuotes(t *testing.T) {
	got := shellLine([]string{"CNI_ARGS=a=1;b=2"}, "/x/cnitool", []string{"add", "net", "/run/netns/p"})
	want := "CNI_ARGS='a=1;b=2' cnitool add net /run/netns/p"
	if got != want {
		t.Errorf("shellLine = %q, want %q", got, want)
	}
}

func TestVFAddressesAreDistinct(t *testing.T) {
	seen := map[string]bool{pfAddr: true}
	for _, v := range makeVFs(laneVFs) {
		if v.addr == "" || seen[v.addr] {
			t.Errorf("VF %d address %q is empty or taken", v.index, v.addr)
		}
		seen[v.addr] = true
		if len(v.netdev) > 15 || len(v.peer) > 15 {
			t.Errorf("VF %d netdev names %q/%q are longer than IFNAMSIZ-1", v.index, v.netdev, v.peer)
		}
	}
}
