package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// typicalArgs is CNI_ARGS as Multus passes it.
const typicalArgs = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=rdma-pod-0;K8S_POD_INFRA_CONTAINER_ID=4b5c0f;K8S_POD_UID=6f1e3c2a-0d7b-4a7e-9c55-1f0e2d3c4b5a"

// netconf builds a valid minimal netconf with the given fields overridden;
// a nil value removes the field.
func netconf(t testing.TB, overrides map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "sriov-rdma-net",
		"type":       "sriov-rdma",
		"deviceID":   "0000:01:10.0",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError checks what a user sees: the CNI code and that the message names
// the field, the bad value and what is allowed.
func wantError(t *testing.T, err error, code uint, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d containing %q", code, contains)
	}
	var e *types.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is a %T, want *types.Error", err, err)
	}
	if e.Code != code {
		t.Errorf("code = %d, want %d (message %q)", e.Code, code, e.Msg)
	}
	for _, s := range contains {
		if !strings.Contains(e.Msg, s) {
			t.Errorf("message %q does not contain %q", e.Msg, s)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
