package state

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// Salvage reads what it can from a journal that does not decode: a torn or
// truncated file still starts with the fields written first (identity,
// device, original netdev). It walks the JSON tokens until the first error
// and keeps each known field it saw whole; a nested object (the original PF
// settings, an RDMA device) counts only if it closed. It never fails and
// never panics; fields it could not read stay zero.
func Salvage(data []byte) *Record {
	s := salvager{r: &Record{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		s.token(tok)
	}
	return s.r
}

type frame struct {
	obj       bool
	key       string // the key whose value is being read (objects)
	expectKey bool
	fields    map[string]json.Token // the scalars read whole, by key
}

type salvager struct {
	r     *Record
	stack []*frame
}

func (s *salvager) top() *frame {
	if len(s.stack) == 0 {
		return nil
	}
	return s.stack[len(s.stack)-1]
}

// path is the chain of keys down to the value being read, arrays as "[]".
func (s *salvager) path() string {
	parts := make([]string, 0, len(s.stack))
	for _, f := range s.stack {
		if f.obj {
			parts = append(parts, f.key)
		} else {
			parts = append(parts, "[]")
		}
	}
	return strings.Join(parts, ".")
}

func (s *salvager) token(tok json.Token) {
	top := s.top()
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{', '[':
			s.stack = append(s.stack, &frame{obj: t == '{', expectKey: t == '{', fields: map[string]json.Token{}})
		case '}', ']':
			s.closeFrame()
		}
		return
	case string:
		if top != nil && top.obj && top.expectKey {
			top.key, top.expectKey = t, false
			return
		}
	}
	if top != nil {
		s.value(strings.TrimPrefix(s.path(), "."), tok)
		if top.obj {
			top.expectKey = true
		}
	}
}

// closeFrame finishes an object or array; objects that closed whole are
// where nested records (PF settings, RDMA devices) are taken from.
func (s *salvager) closeFrame() {
	done := s.top()
	s.stack = s.stack[:len(s.stack)-1]
	p := strings.TrimPrefix(s.path(), ".")
	switch {
	case done.obj && p == "original.vf":
		s.r.Orig.VF = vfState(done.fields)
	case done.obj && p == "rdma.[]":
		s.r.RDMA = append(s.r.RDMA, RDMADevice{
			Name: scalar(done.fields["name"]), Kind: pci.RDMAKind(scalar(done.fields["kind"])), Type: scalar(done.fields["type"]), Netdev: scalar(done.fields["netdev"]),
		})
	}
	if parent := s.top(); parent != nil && parent.obj {
		parent.expectKey = true
	}
}

func (s *salvager) value(path string, tok json.Token) {
	v := scalar(tok)
	if f := s.top(); f != nil && f.obj {
		f.fields[f.key] = tok
	}
	r := s.r
	switch path {
	case "bootID":
		r.BootID = v
	case "network":
		r.Network = v
	case "containerID":
		r.ContainerID = v
	case "ifName":
		r.IfName = v
	case "netns":
		r.Netns = v
	case "podNamespace":
		r.PodNamespace = v
	case "podName":
		r.PodName = v
	case "deviceID":
		r.DeviceID = v
	case "pfAddr":
		r.PFAddr = v
	case "pfNetdev":
		r.PFNetdev = v
	case "pfDriver":
		r.PFDriver = v
	case "vfIndex":
		r.VFIndex = atoi(v)
	case "rdmaInPod":
		r.RDMAInPod = v == "true"
	case "podIfIndex":
		r.PodIfIndex = atoi(v)
	case "original.netdev":
		r.Orig.Netdev = v
	case "original.mac":
		r.Orig.MAC = v
	case "original.mtu":
		r.Orig.MTU = atoi(v)
	case "original.ifIndex":
		r.Orig.IfIndex = atoi(v)
	case "original.up":
		r.Orig.Up = v == "true"
	case "original.parentDev":
		r.Orig.ParentDev = v
	case "deviceInfoFile":
		r.DeviceInfoFile = v
	case "deviceInfoRoot":
		r.DeviceInfoRoot = v
	case "deviceInfoOwned":
		r.DeviceInfoOwned = v == "true"
	case "ipam.type":
		r.IPAM.Type = v
	case "ipam.args":
		r.IPAM.Args = v
	case "ipam.path":
		r.IPAM.Path = v
	}
}

// vfState rebuilds the original PF-side settings from an object that
// closed whole, and only if it holds every field of vf.State (a State with
// a field missing would "restore" it to zero). The fields are vf.State's
// own, read from its encoding, so a setting added there needs nothing here.
func vfState(f map[string]json.Token) *vf.State {
	zero, err := json.Marshal(vf.State{})
	if err != nil {
		return nil
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(zero, &keys) != nil {
		return nil
	}
	for k := range keys {
		if _, ok := f[k]; !ok {
			return nil
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil
	}
	var st vf.State
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return &st
}

func scalar(tok json.Token) string {
	switch t := tok.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
