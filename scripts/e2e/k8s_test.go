package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The k8s lane's own logic that needs no root or cluster.

func TestManifestsSplitsAndIdentifies(t *testing.T) {
	text := `# a header comment
apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: roce-net # trailing comment
  namespace: 'ml'
  annotations:
    name: not-this-one
spec:
  config: |
    {"name": "inner"}
---
# only a comment
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  labels:
    app: x
  name: sriov-rdma
spec:
  template:
    metadata:
      name: nested
`
	ms, err := manifests(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d documents, want 2 (the comment-only one skipped)", len(ms))
	}
	want := [][4]string{
		{"k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", "roce-net", "ml"},
		{"apps/v1", "DaemonSet", "sriov-rdma", ""},
	}
	for i, m := range ms {
		got := [4]string{m.id.APIVersion, m.id.Kind, m.id.Metadata.Name, m.id.Metadata.Namespace}
		if got != want[i] {
			t.Errorf("document %d = %v, want %v", i, got, want[i])
		}
	}
	if _, err := manifests("metadata:\n  name: x\n"); err == nil {
		t.Error("a document without kind was accepted")
	}
}

// Every shipped manifest is found by the dry-run case: it must split.
func TestShippedManifestsSplit(t *testing.T) {
	for _, g := range []string{"../../testdata/nad/*.yaml", "../deploy/*.yaml"} {
		files, _ := filepath.Glob(g)
		if len(files) == 0 {
			t.Fatalf("no files match %s", g)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := manifests(string(b))
			if err != nil || len(ms) == 0 {
				t.Errorf("%s: %d documents, %v", f, len(ms), err)
			}
			for _, m := range ms {
				if m.id.Metadata.Name == "" {
					t.Errorf("%s: %s without a name", f, m.id.Kind)
				}
			}
		}
	}
}

func TestSelectK8sCases(t *testing.T) {
	all, err := selectK8sCases(nil, false)
	if err != nil || len(all) != 10 {
		t.Fatalf("all cases: %d, %v; want the 10 the lane promises", len(all), err)
	}
	thick, _ := selectK8sCases([]string{"verbs"}, true)
	if len(thick) != 1 || thick[0].what == all[8].what {
		t.Errorf("thick Multus does not get its own verbs case: %+v", thick)
	}
	if _, err := selectK8sCases([]string{"nope"}, false); err == nil {
		t.Error("an unknown case was accepted")
	}
}

func TestConfAsList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "00-multus.conf")
	if err := os.WriteFile(path, []byte(`{"cniVersion":"1.1.0","name":"multus-cni-network","type":"multus-shim","socketDir":"/run/multus/"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := confAsList(path)
	if err != nil {
		t.Fatal(err)
	}
	if list.Name != "multus-cni-network" || list.CNIVersion != "1.1.0" || len(list.Plugins) != 1 || list.Plugins[0].Network.Type != "multus-shim" {
		t.Errorf("list = %s %s, %d plugins", list.Name, list.CNIVersion, len(list.Plugins))
	}
}
