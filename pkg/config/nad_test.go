package config_test

// A NetworkAttachmentDefinition read without a YAML library: just what the
// examples test needs of one.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nad is what the test reads from a NetworkAttachmentDefinition.
type nad struct {
	apiVersion, kind, name, resourceName string
	config                               []byte // spec.config
}

var (
	topKey   = regexp.MustCompile(`^([A-Za-z]+):\s*(.*)$`)
	childKey = regexp.MustCompile(`^(\s+)([A-Za-z0-9_./-]+):\s*(.*)$`)
)

// parseNAD reads the few keys a NetworkAttachmentDefinition needs, without
// a YAML library: top-level apiVersion and kind, metadata.name, the
// resourceName annotation and spec.config, which must be a literal block
// scalar ("config: |") so the JSON reads as it will be used.
func parseNAD(data []byte) (nad, error) {
	var n nad
	var section string
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if m := topKey.FindStringSubmatch(l); m != nil {
			section = m[1]
			switch m[1] {
			case "apiVersion":
				n.apiVersion = m[2]
			case "kind":
				n.kind = m[2]
			}
			continue
		}
		m := childKey.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		indent, key, value := len(m[1]), m[2], m[3]
		switch {
		case section == "metadata" && indent == 2 && key == "name":
			n.name = value
		case section == "metadata" && key == "k8s.v1.cni.cncf.io/resourceName":
			n.resourceName = value
		case section == "spec" && indent == 2 && key == "config":
			if value != "|" && value != "|-" {
				return nad{}, fmt.Errorf("line %d: write spec.config as a literal block scalar (config: |), not %q", i+1, value)
			}
			var block []string
			for i+1 < len(lines) {
				next := lines[i+1]
				if strings.TrimSpace(next) != "" && len(next)-len(strings.TrimLeft(next, " ")) <= indent {
					break
				}
				block = append(block, next)
				i++
			}
			n.config = []byte(dedent(block))
		}
	}
	if n.config == nil {
		return nad{}, fmt.Errorf("no spec.config")
	}
	return n, nil
}

// readNAD reads and parses testdata/nad/name.
func readNAD(t *testing.T, name string) nad {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(nadDir, name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := parseNAD(data)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dedent strips the block's indentation, that of its first non-blank line.
func dedent(block []string) string {
	strip := -1
	var b strings.Builder
	for _, l := range block {
		if strip < 0 && strings.TrimSpace(l) != "" {
			strip = len(l) - len(strings.TrimLeft(l, " "))
		}
		if len(l) >= strip && strip >= 0 {
			l = l[strip:]
		} else {
			l = strings.TrimLeft(l, " ")
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

func TestParseNADRejectsFoldedConfig(t *testing.T) {
	in := "apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: x\nspec:\n  config: '{\"type\": \"sriov-rdma\"}'\n"
	if _, err := parseNAD([]byte(in)); err == nil || !strings.Contains(err.Error(), "block scalar") {
		t.Errorf("parseNAD = %v, want a block-scalar error", err)
	}
	in = "apiVersion: v1\nkind: NetworkAttachmentDefinition\nspec:\n  config: |\n    {\"a\": 1,\n\n     \"b\": 2}\nother: 1\n"
	n, err := parseNAD([]byte(in))
	if err != nil || string(n.config) != "{\"a\": 1,\n\n \"b\": 2}\n" {
		t.Errorf("parseNAD config = %q, %v", n.config, err)
	}
}
