package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
)

func env(cmd string) func(string) string {
	return func(k string) string {
		if k == "CNI_COMMAND" {
			return cmd
		}
		return ""
	}
}

func TestVersionAnswersInTheRequestsVersion(t *testing.T) {
	info := config.VersionInfo()
	for _, tc := range []struct {
		stdin string
		want  string
	}{
		{`{"cniVersion":"0.4.0"}`, "0.4.0"},
		{`{"cniVersion":"1.0.0"}`, "1.0.0"},
		{`{"cniVersion":"1.1.0"}`, "1.1.0"},
		// The spec's rule is the request's value, supported or not; the
		// supported list tells the runtime the rest.
		{`{"cniVersion":"0.2.0"}`, "0.2.0"},
		{`{"cniVersion":"9.9.9"}`, "9.9.9"},
		// Nothing to echo: the newest version spoken.
		{``, "1.1.0"},
		{`{}`, "1.1.0"},
		{`{"cniVersion":""}`, "1.1.0"},
		{`{"cniVersion":"latest"}`, "1.1.0"},
		{`{"cniVersion":1}`, "1.1.0"},
		{`not json`, "1.1.0"},
	} {
		var out bytes.Buffer
		called := false
		rc := serve(env("VERSION"), strings.NewReader(tc.stdin), &out, info, func([]byte) *types.Error {
			called = true
			return nil
		})
		if rc != 0 || called {
			t.Errorf("VERSION with %q: exit %d, dispatched %v", tc.stdin, rc, called)
		}
		var got struct {
			CNIVersion        string   `json:"cniVersion"`
			SupportedVersions []string `json:"supportedVersions"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("VERSION with %q printed %q: %v", tc.stdin, out.String(), err)
		}
		if got.CNIVersion != tc.want {
			t.Errorf("VERSION with %q: cniVersion %q, want %q", tc.stdin, got.CNIVersion, tc.want)
		}
		if !slices.Equal(got.SupportedVersions, info.SupportedVersions()) {
			t.Errorf("VERSION with %q: supportedVersions %v", tc.stdin, got.SupportedVersions)
		}
	}
}

func TestErrorObjectCarriesTheRequestsVersion(t *testing.T) {
	info := config.VersionInfo()
	for _, tc := range []struct {
		stdin string
		want  string
	}{
		{`{"cniVersion":"0.3.1","name":"n"}`, "0.3.1"},
		{`{"cniVersion":"0.4.0","name":"n"}`, "0.4.0"},
		{`{"cniVersion":"1.0.0","name":"n"}`, "1.0.0"},
		{`{"cniVersion":"1.1.0","name":"n"}`, "1.1.0"},
		// Not a version the plugin speaks (maybe the very error), none at
		// all, or no netconf: the newest version spoken.
		{`{"cniVersion":"0.2.0","name":"n"}`, "1.1.0"},
		{`{"name":"n"}`, "1.1.0"},
		{`{"cniVersion":`, "1.1.0"},
		{``, "1.1.0"},
	} {
		var out bytes.Buffer
		var seen []byte
		rc := serve(env("ADD"), strings.NewReader(tc.stdin), &out, info, func(stdin []byte) *types.Error {
			seen = stdin
			return types.NewError(7, "invalid vlan 5000", "")
		})
		if rc != 1 {
			t.Errorf("%q: exit %d, want 1", tc.stdin, rc)
		}
		if string(seen) != tc.stdin {
			t.Errorf("%q: dispatch got stdin %q", tc.stdin, seen)
		}
		var got errorObject
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%q: printed %q: %v", tc.stdin, out.String(), err)
		}
		if got != (errorObject{tc.want, 7, "invalid vlan 5000", ""}) {
			t.Errorf("%q: error object %+v, want cniVersion %q, code 7 and the message", tc.stdin, got, tc.want)
		}
	}
}

func TestLibraryCodesKeepTheSpecMeaning(t *testing.T) {
	for _, tc := range []struct{ from, want uint }{
		{types.ErrInvalidNetNS, 4}, // skel: CNI_NETNS is the plugin's own
		{types.ErrUnknown, 999},
		{6, 6},
		{11, 11},
		{101, 101},
	} {
		var out bytes.Buffer
		serve(env("DEL"), strings.NewReader(`{"cniVersion":"1.0.0"}`), &out, config.VersionInfo(), func([]byte) *types.Error {
			return types.NewError(tc.from, "m", "d")
		})
		var got errorObject
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Code != tc.want || got.Msg != "m" || got.Details != "d" {
			t.Errorf("library code %d printed as %+v, want code %d", tc.from, got, tc.want)
		}
	}
}

func TestSuccessPrintsNothing(t *testing.T) {
	var out bytes.Buffer
	if rc := serve(env("DEL"), strings.NewReader(`{}`), &out, config.VersionInfo(), func([]byte) *types.Error { return nil }); rc != 0 || out.Len() != 0 {
		t.Errorf("exit %d, printed %q", rc, out.String())
	}
}

// skel reads os.Stdin after serve has: the same bytes must be there, also
// more of them than a pipe holds.
func TestRefeedStdin(t *testing.T) {
	saved, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Dup3(saved, 0, 0)
		_ = unix.Close(saved)
	})
	data := bytes.Repeat([]byte(`{"cniVersion":"1.1.0"}`), 100000)
	if err := refeedStdin(data); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(os.Stdin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, want the %d written", len(got), len(data))
	}
}

// failReader fails the test when read.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("stdin was read")
	return 0, io.EOF
}

// Run by hand, without CNI_COMMAND: skel prints what the binary is, and
// stdin, maybe a terminal, is not waited on.
func TestRunByHandDoesNotReadStdin(t *testing.T) {
	var out bytes.Buffer
	var got []byte
	got = []byte("unset")
	rc := serve(env(""), failReader{t}, &out, config.VersionInfo(), func(stdin []byte) *types.Error {
		got = stdin
		return nil
	})
	if rc != 0 || out.Len() != 0 || got != nil {
		t.Errorf("exit %d, printed %q, dispatch got %q; want 0, nothing, nil", rc, out.String(), got)
	}
}

func TestStdinForReadsPipes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close(); _ = w.Close() }()
	for _, cmd := range []string{"VERSION", "ADD"} {
		if got := stdinFor(cmd, r); got != io.Reader(r) {
			t.Errorf("%s with a pipe on stdin reads %T, want the pipe", cmd, got)
		}
	}
}
