package main

import (
	"strings"
	"testing"
	"time"
)

// Records as the plugin writes them (plugins/sriovrdma/run.go): slog JSON,
// steps in the order they ran, durations as Go strings, other messages
// between the verbs' closing records.
const pluginLog = `{"time":"2025-01-01T00:00:00Z","level":"INFO","msg":"PF reports no VF settings over netlink; PF-side work skipped","pf":"e2epf0"}
{"time":"2025-01-01T00:00:00Z","level":"INFO","msg":"ADD","containerID":"c1","ifname":"net1","steps":{"parse":"250µs","resolve":"200µs","lock":"150µs","netdev-to-pod":"17ms","addresses":"1.4ms"},"total":"20ms","outcome":"ok"}
{"time":"2025-01-01T00:00:01Z","level":"INFO","msg":"DEL","containerID":"c1","ifname":"net1","steps":{"parse":"260µs","lock":"440µs","restore":"30ms","journal":"360µs"},"total":"31.1ms","outcome":"ok"}
{"time":"2025-01-01T00:00:02Z","level":"ERROR","msg":"ADD","containerID":"c2","ifname":"net1","steps":{"parse":"1ms"},"total":"1ms","outcome":"error","code":7,"error":"bad"}

{"time":"2025-01-01T00:00:03Z","level":"INFO","msg":"ADD","containerID":"c3","ifname":"net1","steps":{"parse":"350µs","resolve":"200µs","lock":"150µs","netdev-to-pod":"19ms","addresses":"1.6ms","reclaim":"40µs"},"total":"22ms","outcome":"ok"}
`

func TestParseLog(t *testing.T) {
	rs, err := parseLog(strings.NewReader(pluginLog))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 {
		t.Fatalf("parsed %d records, want 5 (the blank line is none)", len(rs))
	}
	if r := rs[0]; r.Msg != "PF reports no VF settings over netlink; PF-side work skipped" || r.Level != "INFO" || r.str("pf") != "e2epf0" || r.str("nope") != "" || r.Steps != nil {
		t.Errorf("a message record = %+v", r)
	}
	if r := rs[3]; r.Level != "ERROR" || r.Outcome != "error" || r.str("error") != "bad" {
		t.Errorf("a failed verb's record = %+v", r)
	}
	adds := verbRecords(rs, "ADD", nil)
	if len(adds) != 2 || adds[0].ContainerID != "c1" || adds[1].ContainerID != "c3" {
		t.Fatalf("ok ADD records = %+v, want c1 and c3 (failed ADDs are not timings)", adds)
	}
	if got := verbRecords(rs, "ADD", func(cid string) bool { return cid == "c3" }); len(got) != 1 || got[0].ContainerID != "c3" {
		t.Errorf("ADD records of c3 = %+v", got)
	}
	want := []string{"parse", "resolve", "lock", "netdev-to-pod", "addresses", "reclaim"}
	if got := stepNames(adds); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("step order = %v, want the order ADD ran them: %v", got, want)
	}
	if got := stepDurations(adds, "parse"); len(got) != 2 || got[0] != 250*time.Microsecond || got[1] != 350*time.Microsecond {
		t.Errorf("parse durations = %v", got)
	}
	if got := totals(adds); len(got) != 2 || got[0] != 20*time.Millisecond || got[1] != 22*time.Millisecond {
		t.Errorf("totals = %v, want 20ms and 22ms", got)
	}
}

func TestParseLogNamesABadLine(t *testing.T) {
	for _, bad := range []string{
		`{"msg":"ADD","steps":{"parse":"soon"}}`,
		`{"msg":"ADD","total":"later"}`,
		`{"msg":"ADD","steps":["parse"]}`,
		`not JSON`,
	} {
		log := `{"msg":"a"}` + "\n" + bad + "\n" + `{"msg":"b"}` + "\n"
		rs, err := parseLog(strings.NewReader(log))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: error %v, want one naming line 2", bad, err)
		}
		if len(rs) != 2 || rs[0].Msg != "a" || rs[1].Msg != "b" {
			t.Errorf("%s: records around it = %+v, want a and b", bad, rs)
		}
	}
	if _, err := readLog("/nonexistent/sriov.log"); err == nil {
		t.Error("a missing log read as empty")
	}
}
