package config

import (
	"strings"
	"testing"
)

func TestCheckIfName(t *testing.T) {
	for _, ok := range []string{"net1", "eth0", "a", "fifteen-chars-x", "sriov_0.1"} {
		if err := CheckIfName(ok); err != nil {
			t.Errorf("CheckIfName(%q) = %v", ok, err)
		}
	}
	for name, want := range map[string]string{
		"net%d":            "pattern",
		"%":                "pattern",
		"":                 "missing CNI_IFNAME",
		"sixteen-chars-xy": "longer than 15",
		".":                `"."`,
		"..":               `".."`,
		"a/b":              "no '/'",
		"a:b":              "no '/'",
		"a b":              "white space",
		"a\tb":             "white space",
	} {
		err := CheckIfName(name)
		if err == nil {
			t.Errorf("CheckIfName(%q) accepted", name)
			continue
		}
		if err.Code != 4 || !strings.Contains(err.Msg, want) {
			t.Errorf("CheckIfName(%q) = code %d %q, want code 4 containing %q", name, err.Code, err.Msg, want)
		}
	}
}
