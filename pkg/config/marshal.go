package config

import (
	"encoding/json"
	"reflect"
	"strings"
)

// MarshalJSON writes every field of the netconf.
//
// Without it, the MarshalJSON that types.PluginConf defines on its pointer is
// promoted to *NetConf, and json.Marshal(&netconf) would silently write only
// the generic CNI fields, dropping deviceID, vlan, stateDir and the rest.
// types.IPAM keeps only the IPAM type: delegate Config.Raw to IPAM, not this.
func (n NetConf) MarshalJSON() ([]byte, error) {
	// PluginConf's own encoder is kept for its fields: it drops an empty "dns".
	base, err := json.Marshal(&n.PluginConf)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	if err := json.Unmarshal(base, &out); err != nil {
		return nil, err
	}
	// PluginConf writes "ipam":{} for no IPAM, which Load refuses as an ipam
	// without a type: a netconf must survive its own round trip.
	if n.IPAM.IsEmpty() {
		delete(out, "ipam")
	}
	// Load parses prevResult into PrevResult (not marshalled by PluginConf);
	// write it back so CHECK/DEL delegates still get it.
	if n.RawPrevResult == nil && n.PrevResult != nil {
		b, err := json.Marshal(n.PrevResult)
		if err != nil {
			return nil, err
		}
		out["prevResult"] = b
	}

	// Reflection rather than a hand-kept copy of the field list, so a field
	// added to NetConf cannot be forgotten here.
	v := reflect.ValueOf(n)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fv := v.Field(i)
		// IsZero also omits an empty runtimeConfig object, which encoding/json's
		// omitempty would not.
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		b, err := json.Marshal(fv.Interface())
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return json.Marshal(out)
}
