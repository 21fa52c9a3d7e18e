package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// decoded says whether the netconf's fields can be checked.
type decoded struct {
	ok      bool // stdin is a JSON object; net holds every field whose JSON type was right
	ipamSet bool // "ipam" was present with a non-null value
}

// decode fills net from stdin. A wrong JSON type in one field is reported but
// the other fields are still decoded: LoadLenient builds on them.
func decode(stdin []byte, net *NetConf) (decoded, *types.Error) {
	if len(stdin) > MaxConfigBytes {
		return decoded{}, invalid("netconf is %d bytes: must be at most %d bytes", len(stdin), MaxConfigBytes)
	}
	trimmed := bytes.TrimSpace(stdin)
	if len(trimmed) == 0 {
		return decoded{}, undecodable("empty netconf on stdin: expected a JSON object")
	}
	err := json.Unmarshal(stdin, net)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &syntaxErr):
		return decoded{}, undecodable("netconf is not valid JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return decoded{}, undecodable("netconf must be a JSON object, got %s", kindOf(typeErr.Value))
	case errors.As(err, &typeErr):
		return decoded{ok: true, ipamSet: presentIPAM(stdin, net)}, typeError(stdin, typeErr)
	default:
		return decoded{}, undecodable("netconf could not be decoded: %v", err)
	}
	// Only "null" gets here: it decodes into a struct without error, yet it is
	// no more a netconf than "[]" is.
	if trimmed[0] != '{' {
		return decoded{}, undecodable("netconf must be a JSON object, got null")
	}
	return decoded{ok: true, ipamSet: presentIPAM(stdin, net)}, nil
}

// presentIPAM tells an ipam object without a type (a mistake: no plugin
// named) from no ipam at all (fine: no addresses), which types.IPAM cannot.
// An empty object counts as no ipam: sriov-network-operator renders
// `"ipam":{}` for a network without IPAM, and sriov-cni read it that way.
func presentIPAM(stdin []byte, net *NetConf) bool {
	if net.IPAM.Type != "" {
		return true // the common case needs no second pass over stdin
	}
	var probe struct {
		IPAM json.RawMessage `json:"ipam"`
	}
	// Errors were already reported by the full decode; same matching rules here.
	_ = json.Unmarshal(stdin, &probe)
	if len(probe.IPAM) == 0 || string(probe.IPAM) == "null" {
		return false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(probe.IPAM, &fields) == nil && len(fields) == 0 {
		return false
	}
	return true
}

// typeError names the field by its JSON path, shows the value when it is a
// scalar, and says what JSON type the field takes.
func typeError(stdin []byte, e *json.UnmarshalTypeError) *types.Error {
	// encoding/json prefixes fields of the embedded struct with its Go name.
	field := strings.TrimPrefix(e.Field, "PluginConf.")
	got := kindOf(e.Value)
	want := wantOf(e.Type)
	if rawNum, isNum := strings.CutPrefix(e.Value, "number "); isNum && isInteger(e.Type) {
		if strings.ContainsAny(rawNum, ".eE") {
			got = "a number with a fraction or exponent"
		} else {
			got = "a number out of range"
		}
	}
	if v, ok := scalarAt(stdin, field); ok {
		return invalid("invalid %s %s: expected %s, got %s", field, v, want, got)
	}
	return invalid("invalid %s: expected %s, got %s", field, want, got)
}

// kindOf turns encoding/json's description of a JSON value ("string",
// "number 1.5", "array", ...) into words.
func kindOf(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	switch kind {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "a boolean"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	return kind
}

func isInteger(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func wantOf(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another type"
	}
	if isInteger(t) {
		return "an integer"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}

// scalarAt finds the value at a dotted JSON path so a type error can show it.
// Keys match the way encoding/json matches them: exactly, else ignoring case.
// Best effort: it only feeds a message.
func scalarAt(stdin []byte, path string) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(stdin))
	d.UseNumber()
	var cur any
	if d.Decode(&cur) != nil {
		return "", false
	}
	for _, key := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		next, ok := obj[key]
		if !ok {
			for k, v := range obj {
				if strings.EqualFold(k, key) {
					next, ok = v, true
					break
				}
			}
		}
		if !ok {
			return "", false
		}
		cur = next
	}
	switch v := cur.(type) {
	case string:
		return quote(v), true
	case json.Number:
		// A JSON number is ASCII; only its length needs bounding.
		if n := string(v); len(n) > maxQuoted {
			return n[:maxQuoted] + "...", true
		}
		return string(v), true
	case bool:
		return fmt.Sprint(v), true
	}
	return "", false
}
