package main

// The plugin's log as the driver reads it: one slog JSON object a line
// (plugins/sriovrdma/run.go). Each verb ends with one record whose msg is
// the verb (ADD, DEL, CHECK, GC, ...), with its outcome ("ok" or "error"),
// its total and its steps in the order they ran; warnings and other
// messages stand between. The lane's cases and the demo look for messages,
// the stress harness for the plugin's totals and slowest steps, the bench
// for the steps of every ADD and DEL: all read the file through readLog.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// logRecord is one record of the plugin's log.
type logRecord struct {
	Msg         string
	Level       string
	ContainerID string
	Outcome     string
	Total       time.Duration
	Steps       []logStep      // in the order the plugin logged them: the order it ran them
	fields      map[string]any // every field as logged, those above included
}

type logStep struct {
	name string
	d    time.Duration
}

// str is a string field of the record; "" when it is absent or no string.
func (r logRecord) str(key string) string {
	s, _ := r.fields[key].(string)
	return s
}

func (r *logRecord) UnmarshalJSON(data []byte) error {
	var named struct {
		Msg         string   `json:"msg"`
		Level       string   `json:"level"`
		ContainerID string   `json:"containerID"`
		Outcome     string   `json:"outcome"`
		Total       string   `json:"total"`
		Steps       logSteps `json:"steps"`
	}
	if err := json.Unmarshal(data, &named); err != nil {
		return err
	}
	*r = logRecord{Msg: named.Msg, Level: named.Level, ContainerID: named.ContainerID, Outcome: named.Outcome, Steps: named.Steps}
	if named.Total != "" {
		d, err := time.ParseDuration(named.Total)
		if err != nil {
			return fmt.Errorf("total: %w", err)
		}
		r.Total = d
	}
	return json.Unmarshal(data, &r.fields)
}

// logSteps decodes the steps object in its order, which a map would lose.
type logSteps []logStep

func (s *logSteps) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("steps: not an object: %s", data)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		var v string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		*s = append(*s, logStep{name, d})
	}
	return nil
}

// readLog reads a plugin log file; see parseLog.
func readLog(file string) ([]logRecord, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return parseLog(f)
}

// parseLog returns every record of a log. A line that is no record is an
// error, the first such one named; the records around it are still
// returned.
func parseLog(rd io.Reader) ([]logRecord, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	var out []logRecord
	var bad error
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r logRecord
		if err := json.Unmarshal(line, &r); err != nil {
			if bad == nil {
				bad = fmt.Errorf("log record on line %d: %w: %s", i+1, err, oneLine(string(line)))
			}
			continue
		}
		out = append(out, r)
	}
	return out, bad
}

// verbRecords are the records of verb that ended ok and whose container ID
// keep accepts (nil: any): the timings of the verb's successful runs.
func verbRecords(rs []logRecord, verb string, keep func(cid string) bool) []logRecord {
	var out []logRecord
	for _, r := range rs {
		if r.Msg == verb && r.Outcome == "ok" && (keep == nil || keep(r.ContainerID)) {
			out = append(out, r)
		}
	}
	return out
}

// stepNames is every step name of rs in the order first seen.
func stepNames(rs []logRecord) []string {
	var names []string
	for _, r := range rs {
		for _, s := range r.Steps {
			if !slices.Contains(names, s.name) {
				names = append(names, s.name)
			}
		}
	}
	return names
}

// stepDurations are the durations of the named step in rs.
func stepDurations(rs []logRecord, name string) durations {
	var d durations
	for _, r := range rs {
		for _, s := range r.Steps {
			if s.name == name {
				d = append(d, s.d)
			}
		}
	}
	return d
}

// totals are the plugin's own totals of rs: its time without its exec.
func totals(rs []logRecord) durations {
	var d durations
	for _, r := range rs {
		d = append(d, r.Total)
	}
	return d
}
