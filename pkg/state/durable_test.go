package state_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// durableHelperEnv makes the test binary, re-run under strace, do one
// Write, one Update and one removal of a journal, and nothing else.
const durableHelperEnv = "SRIOV_RDMA_DURABLE_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(durableHelperEnv); dir != "" {
		os.Exit(durableHelper(dir))
	}
	os.Exit(m.Run())
}

func durableHelper(dir string) int {
	s := state.Store{Dir: dir, Root: filepath.Dir(dir)}
	if err := s.Init(); err != nil {
		fmt.Println(err)
		return 1
	}
	r := fullRecord()
	fmt.Println("MARK write")
	if err := s.Write(r); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("MARK update")
	r.Phase = state.PhaseCommitted
	if err := s.Update(r); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("MARK remove")
	if err := state.RemoveFile(s.Path(r.Key())); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("MARK end")
	return 0
}

// The journal's durability rules, read from the system calls themselves:
// every write of a journal (the first and each update) fsyncs the new file
// before renaming it over the journal, so a power loss on XFS cannot leave
// a zero-length journal; the directory is fsync'd only where a name is
// created (the first write). A removal is not flushed (see RemoveFile).
func TestJournalWritesAreSyncedBeforeRename(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed: the fsync order is read from the system calls")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "state")
	out := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command(strace, "-f", "-qq", "-o", out, "-e", "trace=write,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat", self, "-test.run=^$")
	cmd.Env = append(os.Environ(), durableHelperEnv+"="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper under strace: %v: %s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Each phase's calls, in order, as "fsync", "rename", "unlink".
	phases := map[string][]string{}
	phase := ""
	mark := regexp.MustCompile(`write\(1, "MARK (\w+)`)
	for _, line := range strings.Split(string(raw), "\n") {
		if m := mark.FindStringSubmatch(line); m != nil {
			phase = m[1]
			continue
		}
		for _, call := range []string{"fdatasync", "fsync", "rename", "unlink"} {
			if strings.Contains(line, " "+call) || strings.HasPrefix(strings.TrimLeft(line, "0123456789 "), call) {
				if phase != "" && !strings.Contains(line, "resumed") {
					phases[phase] = append(phases[phase], call)
				}
				break
			}
		}
	}
	want := map[string]string{
		"write":  "fsync rename fsync", // the file, its new name, the directory
		"update": "fsync rename",       // the file before its rename; the name already existed
		"remove": "unlink",             // a journal back from the dead is harmless
	}
	for p, w := range want {
		if got := strings.Join(phases[p], " "); got != w {
			t.Errorf("%s: system calls %q, want %q\nstrace:\n%s", p, got, w, raw)
		}
	}
}
