package main

import (
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
)

// netconf is the sriov-rdma netconf of network name on VF v, shaped the way
// Multus hands a NetworkAttachmentDefinition's config to its delegate:
// top-level deviceID and pciBusID injected from the device plugin. set adds
// or overrides fields; a nil value removes one.
func (l *Lane) netconf(name, version string, v vfSpec, set map[string]any) map[string]any {
	c := map[string]any{
		"cniVersion": version,
		"name":       name,
		"type":       "sriov-rdma",
		"deviceID":   v.addr,
		"pciBusID":   v.addr,
		"stateDir":   l.stateDir,
		"logFile":    l.logFile(name),
		"logLevel":   "debug",
		"ipam": map[string]any{
			"type":    "host-local",
			"dataDir": l.ipamDir,
			"ranges": [][]map[string]any{{{
				"subnet": subnet, "rangeStart": rangeStart, "rangeEnd": rangeEnd, "gateway": gatewayIP,
			}}},
		},
	}
	for k, val := range set {
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
	}
	return c
}

func (l *Lane) logFile(network string) string { return filepath.Join(l.logDir, network+".log") }

// writeNet puts the netconf where cnitool finds it: a .conf, or with list a
// .conflist holding it as the only plugin, in the network's own directory.
func (l *Lane) writeNet(conf map[string]any, list bool) error {
	name, _ := conf["name"].(string)
	dir := filepath.Join(l.confDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	file := filepath.Join(dir, name+".conf")
	doc := conf
	if list {
		plugin := maps.Clone(conf)
		delete(plugin, "cniVersion")
		delete(plugin, "name")
		doc = map[string]any{"cniVersion": conf["cniVersion"], "name": name, "plugins": []any{plugin}}
		file += "list"
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// pod is a pod sandbox: its network namespace and the IDs a runtime passes.
type pod struct {
	name  string // also the K8S_POD_NAME
	netns string // /run/netns/<name>
	cid   string // the container ID cnitool derives from the netns path
}

const podNamespace = "e2e"

func newPodSpec(name string) *pod {
	netns := "/run/netns/" + name
	s := sha512.Sum512([]byte(netns))
	return &pod{name: name, netns: netns, cid: fmt.Sprintf("cnitool-%x", s[:10])}
}

// cniArgs is CNI_ARGS as kubelet and Multus pass it.
func (p *pod) cniArgs() string { return p.cniArgsFor(p.cid) }

// cniArgsFor is CNI_ARGS for another container ID in the same sandbox.
func (p *pod) cniArgsFor(cid string) string {
	return fmt.Sprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s", podNamespace, p.name, cid)
}

// journal is where the plugin keeps this pod's attachment of ifname.
func (l *Lane) journal(p *pod, ifname string) string {
	return filepath.Join(l.stateDir, p.cid+"-"+ifname+".json")
}

func (l *Lane) newPod(name string) (*pod, error) {
	p := newPodSpec(name)
	if err := l.ip("netns", "add", name); err != nil {
		return nil, err
	}
	if err := l.ip("-n", name, "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	return p, nil
}

// cnitoolRun runs `cnitool VERB NETWORK NETNS -i IFNAME` as a runtime
// would: CNI_ARGS from the pod, CAP_ARGS for runtimeConfig when capArgs is
// set.
func (l *Lane) cnitoolRun(verb, network string, p *pod, ifname, capArgs string) result {
	return l.cnitoolWith(l.cniPath, nil, verb, network, p, ifname, capArgs)
}

// cnitoolWith is cnitoolRun with another CNI_PATH and extra environment:
// the crash matrix puts the fault-injection build first in CNI_PATH under
// the plugin's own name and tells it where to die.
func (l *Lane) cnitoolWith(cniPath string, extra []string, verb, network string, p *pod, ifname, capArgs string) result {
	env := []string{
		"NETCONFPATH=" + filepath.Join(l.confDir, network),
		"CNI_PATH=" + cniPath,
		"CNI_ARGS=" + p.cniArgs(),
	}
	if capArgs != "" {
		env = append(env, "CAP_ARGS="+capArgs)
	}
	env = append(env, extra...)
	args := []string{verb, network, p.netns}
	if ifname != "" {
		args = append(args, "-i", ifname)
	}
	r := l.run(env, nil, l.cnitool, args...)
	// On error cobra prints "Error: <msg>", its usage text, then cnitool
	// the message again: the first line says it all.
	if first, _, _ := strings.Cut(r.stderr, "\n"); strings.HasPrefix(first, "Error: ") {
		r.stderr = first
	}
	return r
}

// pluginRun runs bin/sriov-rdma directly, as a runtime execs a plugin.
func (l *Lane) pluginRun(verb string, stdin []byte, cid, netns, ifname, args string) result {
	return l.run(l.cniEnv(verb, cid, netns, ifname, args), stdin, l.plugin)
}

// cniEnv is what a runtime sets to exec a plugin for verb.
func (l *Lane) cniEnv(verb, cid, netns, ifname, args string) []string {
	return []string{
		"CNI_COMMAND=" + verb,
		"CNI_CONTAINERID=" + cid,
		"CNI_NETNS=" + netns,
		"CNI_IFNAME=" + ifname,
		"CNI_ARGS=" + args,
		"CNI_PATH=" + l.cniPath,
	}
}

// cniResult is the part of an ADD result the cases look at.
type cniResult struct {
	CNIVersion string `json:"cniVersion"`
	Interfaces []struct {
		Name    string `json:"name"`
		Mac     string `json:"mac"`
		Mtu     int    `json:"mtu"`
		Sandbox string `json:"sandbox"`
		PciID   string `json:"pciID"`
	} `json:"interfaces"`
	IPs []struct {
		Version   string `json:"version"` // 0.x results only
		Address   string `json:"address"`
		Gateway   string `json:"gateway"`
		Interface *int   `json:"interface"`
	} `json:"ips"`
	raw map[string]any
}

func parseResult(s string) (*cniResult, error) {
	var r cniResult
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("result is not JSON: %w: %s", err, oneLine(s))
	}
	if err := json.Unmarshal([]byte(s), &r.raw); err != nil {
		return nil, err
	}
	return &r, nil
}

// ip is the first address, without its prefix length.
func (r *cniResult) ip() string {
	if len(r.IPs) == 0 {
		return ""
	}
	a, _, _ := strings.Cut(r.IPs[0].Address, "/")
	return a
}

// cniError is the error JSON a plugin prints on stdout.
type cniError struct {
	CNIVersion string `json:"cniVersion"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details"`
}

func parseError(s string) (*cniError, error) {
	var e cniError
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &e); err != nil {
		return nil, fmt.Errorf("stdout is not CNI error JSON: %w: %q", err, oneLine(s))
	}
	if e.Code == 0 || e.Msg == "" {
		return nil, errors.New("stdout has no error code and message: " + oneLine(s))
	}
	return &e, nil
}
