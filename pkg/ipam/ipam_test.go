package ipam_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
)

const netconf = `{"cniVersion":"1.0.0","name":"rdma-net","type":"sriov-rdma","ipam":{"type":"fake-ipam","subnet":"10.1.2.0/24"}}`

const addResult = `{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24","gateway":"10.1.2.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.1.2.53"]}}`

// fakePlugin writes an IPAM plugin script into a fresh CNI_PATH directory.
// It records its CNI_* environment and stdin per command under rec, then
// behaves as body says.
func fakePlugin(t *testing.T, name, body string) (cniPath, rec string) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh to run the fake IPAM plugin script")
	}
	cniPath = t.TempDir()
	rec = t.TempDir()
	script := "#!/bin/sh\n" +
		"env | grep '^CNI_' | sort > '" + rec + "'/env.$CNI_COMMAND\n" +
		"cat > '" + rec + "'/stdin.$CNI_COMMAND\n" +
		body + "\n"
	if err := os.WriteFile(filepath.Join(cniPath, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return cniPath, rec
}

func recorded(t *testing.T, rec, what, cmd string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rec, what+"."+cmd))
	if err != nil {
		t.Fatalf("plugin did not run for %s: %v", cmd, err)
	}
	return string(b)
}

func envOf(t *testing.T, rec, cmd string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(recorded(t, rec, "env", cmd)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

func call(cniPath string) ipam.Call {
	return ipam.Call{
		Type:        "fake-ipam",
		Conf:        []byte(netconf),
		ContainerID: "0123456789abcdef",
		Netns:       "/var/run/netns/cni-1234",
		IfName:      "net1",
		Args:        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=rdma-pod",
		Path:        "/nonexistent/first" + string(os.PathListSeparator) + cniPath,
	}
}

func TestAdd(t *testing.T) {
	// The caller's own CNI environment (the plugin is itself run as a CNI
	// plugin) must not leak into the IPAM call: DEL and GC release
	// addresses of other attachments.
	t.Setenv("CNI_COMMAND", "DEL")
	t.Setenv("CNI_CONTAINERID", "the-callers-container")
	t.Setenv("CNI_IFNAME", "eth0")
	t.Setenv("CNI_ARGS", "K8S_POD_NAME=someone-else")

	cniPath, rec := fakePlugin(t, "fake-ipam", `[ "$CNI_COMMAND" = ADD ] && printf '%s' '`+addResult+`'`)
	c := call(cniPath)
	res, err := ipam.Exec{}.Add(context.Background(), c)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}

	want := map[string]string{
		"CNI_COMMAND":     "ADD",
		"CNI_CONTAINERID": c.ContainerID,
		"CNI_NETNS":       c.Netns,
		"CNI_IFNAME":      c.IfName,
		"CNI_ARGS":        c.Args,
		"CNI_PATH":        c.Path,
	}
	if got := envOf(t, rec, "ADD"); !reflect.DeepEqual(got, want) {
		t.Errorf("plugin environment\n got %v\nwant %v", got, want)
	}
	if got := recorded(t, rec, "stdin", "ADD"); got != netconf {
		t.Errorf("plugin stdin\n got %q\nwant %q", got, netconf)
	}

	r, err := types100.NewResultFromResult(res)
	if err != nil {
		t.Fatalf("convert result: %v", err)
	}
	if len(r.IPs) != 1 || r.IPs[0].Address.String() != "10.1.2.3/24" || r.IPs[0].Gateway.String() != "10.1.2.1" {
		t.Errorf("result IPs = %v, want 10.1.2.3/24 via 10.1.2.1", r.IPs)
	}
	if len(r.Routes) != 1 || r.Routes[0].Dst.String() != "0.0.0.0/0" {
		t.Errorf("result routes = %v", r.Routes)
	}
	if !reflect.DeepEqual(r.DNS.Nameservers, []string{"10.1.2.53"}) {
		t.Errorf("result DNS = %v", r.DNS)
	}
}

func TestVerbs(t *testing.T) {
	cniPath, rec := fakePlugin(t, "fake-ipam", "exit 0")
	c := call(cniPath)
	verbs := map[string]func(context.Context, ipam.Call) error{
		"DEL":    ipam.Exec{}.Del,
		"CHECK":  ipam.Exec{}.Check,
		"GC":     ipam.Exec{}.GC,
		"STATUS": ipam.Exec{}.Status,
	}
	var names []string
	for name := range verbs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if err := verbs[name](context.Background(), c); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			env := envOf(t, rec, name)
			if env["CNI_COMMAND"] != name || env["CNI_CONTAINERID"] != c.ContainerID || env["CNI_IFNAME"] != c.IfName {
				t.Errorf("%s ran the plugin with %v", name, env)
			}
			if got := recorded(t, rec, "stdin", name); got != netconf {
				t.Errorf("%s stdin = %q, want the netconf", name, got)
			}
		})
	}
}

func TestMissingPlugin(t *testing.T) {
	dir := t.TempDir()
	c := call(dir)
	c.Type = "whereabouts"
	_, err := ipam.Exec{}.Add(context.Background(), c)
	if err == nil {
		t.Fatal("Add with a missing plugin succeeded")
	}
	for _, want := range []string{"whereabouts", c.Path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := (ipam.Exec{}).Del(context.Background(), c); err == nil || !strings.Contains(err.Error(), "whereabouts") {
		t.Errorf("Del with a missing plugin: %v", err)
	}
}

func TestPluginError(t *testing.T) {
	cniPath, _ := fakePlugin(t, "fake-ipam",
		`printf '%s' '{"cniVersion":"1.0.0","code":11,"msg":"no addresses left in range","details":"10.1.2.0/24 exhausted"}'; exit 1`)
	c := call(cniPath)
	_, err := ipam.Exec{}.Add(context.Background(), c)
	if err == nil {
		t.Fatal("Add succeeded although the plugin failed")
	}
	for _, want := range []string{"no addresses left in range", "fake-ipam", "ADD"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != 11 {
		t.Errorf("error %v does not carry the plugin's CNI error code 11", err)
	}
	err = ipam.Exec{}.Del(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "no addresses left in range") {
		t.Errorf("Del error = %v, want the plugin's message", err)
	}
}

// TestHungPlugin: a stuck IPAM plugin must not hang the CNI verb past its
// context.
func TestHungPlugin(t *testing.T) {
	cniPath, _ := fakePlugin(t, "fake-ipam", "exec sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ipam.Exec{}.Add(ctx, call(cniPath))
	if err == nil {
		t.Fatal("Add of a hung plugin succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Add returned after %v, want soon after the 200ms deadline", d)
	}
}

func TestTolerantArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"K8S_POD_NAME=p", "IgnoreUnknown=1;K8S_POD_NAME=p"},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p"},
		{"IgnoreUnknown=1;K8S_POD_NAME=p", "IgnoreUnknown=1;K8S_POD_NAME=p"},
		{"K8S_POD_NAME=p;IgnoreUnknown=true", "K8S_POD_NAME=p;IgnoreUnknown=true"},
		// The caller said no: respected.
		{"IgnoreUnknown=0;K8S_POD_NAME=p", "IgnoreUnknown=0;K8S_POD_NAME=p"},
		// CNI matches arg keys case-sensitively (types.LoadArgs): a
		// lower-case key is just another unknown key and tolerates nothing.
		{"ignoreunknown=1;K8S_POD_NAME=p", "IgnoreUnknown=1;ignoreunknown=1;K8S_POD_NAME=p"},
	}
	for _, tt := range tests {
		if got := ipam.TolerantArgs(tt.in); got != tt.want {
			t.Errorf("TolerantArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestArgsWithoutIgnoreUnknown: a caller without IgnoreUnknown (cnitool)
// still gets an address from host-local-like plugins.
func TestArgsWithoutIgnoreUnknown(t *testing.T) {
	cniPath, rec := fakePlugin(t, "fake-ipam", `printf '%s' '`+addResult+`'`)
	c := call(cniPath)
	c.Args = "K8S_POD_NAME=rdma-pod"
	if _, err := (ipam.Exec{}).Add(context.Background(), c); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if got := envOf(t, rec, "ADD")["CNI_ARGS"]; got != "IgnoreUnknown=1;K8S_POD_NAME=rdma-pod" {
		t.Errorf("CNI_ARGS = %q, want IgnoreUnknown=1 added", got)
	}
}
