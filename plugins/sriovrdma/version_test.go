package sriovrdma

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Every record, in the log file and on stderr alike, names the build that
// wrote it: a record copied off a node is traceable to its code.
func TestEveryLogRecordCarriesVersionAndCommit(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.p.Version, n.p.Commit = "1.2.3", "0123456789abcdef"
	var stderr bytes.Buffer
	n.p.Stderr = &stderr
	p := n.newPod("version")
	conf := n.conf(0, map[string]any{"logLevel": "debug"})
	n.mustAdd(p, conf)
	if err := n.del(p, conf); err != nil {
		t.Fatal(err)
	}
	// Without a logFile, errors go to stderr: a bad netconf is one.
	if _, err := n.add(n.newPod("bad"), []byte(`{"cniVersion":"1.0.0","name":"x","type":"sriov-rdma","mtu":"big"}`)); err == nil {
		t.Fatal("ADD of a bad netconf succeeded")
	}
	records := 0
	for _, out := range []string{n.logText(), stderr.String()} {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			records++
			if rec["version"] != "1.2.3" || rec["commit"] != "0123456789abcdef" {
				t.Errorf("record without the build: %s", line)
			}
		}
	}
	if records < 3 {
		t.Errorf("%d records in the log and on stderr, want ADD's, DEL's and the refused ADD's", records)
	}
}
