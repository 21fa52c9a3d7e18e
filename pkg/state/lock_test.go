package state_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

const dev = "0000:3b:00.3"

func lockFile(s state.Locks, deviceID string) string {
	return filepath.Join(s.Dir, deviceID+".lock")
}

func newLocks(t *testing.T) state.Locks {
	t.Helper()
	return state.Locks{Dir: filepath.Join(t.TempDir(), "locks")}
}

func TestLockOwner(t *testing.T) {
	s := newLocks(t)
	l, err := s.Lock(dev, time.Second)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	fi, err := os.Stat(lockFile(s, dev))
	if err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("lock file mode = %o, want 600", got)
	}
	if o, err := l.Owner(); err != nil || o != "" {
		t.Errorf("Owner of a fresh lock = %q, %v; want free", o, err)
	}
	if err := l.SetOwner("a-very-long-container-id-net1"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetOwner("cid-net1"); err != nil {
		t.Fatal(err)
	}
	if o, err := l.Owner(); err != nil || o != "cid-net1" {
		t.Errorf("Owner = %q, %v; want cid-net1 (a shorter owner must replace a longer one)", o, err)
	}
	l.Release()

	// Release keeps the file: the next lock holder sees the owner.
	l, err = s.Lock(dev, time.Second)
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	if o, err := l.Owner(); err != nil || o != "cid-net1" {
		t.Errorf("Owner after Release/Lock = %q, %v; want cid-net1", o, err)
	}
	if err := l.SetOwner(""); err != nil {
		t.Fatal(err)
	}
	if o, err := l.Owner(); err != nil || o != "" {
		t.Errorf("Owner after SetOwner(\"\") = %q, %v; want free", o, err)
	}
	if err := l.SetOwner("cid-net1"); err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseFree(); err != nil {
		t.Fatalf("ReleaseFree: %v", err)
	}
	if _, err := os.Stat(lockFile(s, dev)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after ReleaseFree: %v, want gone", err)
	}

	// The VF is free again: the previous owner is forgotten.
	l, err = s.Lock(dev, time.Second)
	if err != nil {
		t.Fatalf("Lock after ReleaseFree: %v", err)
	}
	defer l.Release()
	if o, err := l.Owner(); err != nil || o != "" {
		t.Errorf("Owner after ReleaseFree/Lock = %q, %v; want free", o, err)
	}
}

func TestLockExclusive(t *testing.T) {
	dir := newLocks(t).Dir
	a, b := state.Locks{Dir: dir}, state.Locks{Dir: dir}

	la, err := a.Lock(dev, time.Second)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if l, ok, err := b.TryLock(dev); err != nil || ok {
		if ok {
			l.Release()
		}
		t.Fatalf("TryLock while held = %v, %v; want false, nil", ok, err)
	}

	// Another VF is not blocked.
	lo, ok, err := b.TryLock("0000:3b:00.4")
	if err != nil || !ok {
		t.Fatalf("TryLock of another VF = %v, %v; want true", ok, err)
	}
	lo.Release()

	start := time.Now()
	_, err = b.Lock(dev, 50*time.Millisecond)
	if !errors.Is(err, state.ErrLockTimeout) {
		t.Fatalf("Lock while held: err = %v, want ErrLockTimeout", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("Lock gave up after %v, want about 50ms", d)
	}

	la.Release()
	lb, ok, err := b.TryLock(dev)
	if err != nil || !ok {
		t.Fatalf("TryLock after Release = %v, %v; want true", ok, err)
	}
	lb.Release()
}

func TestLockWaitsForRelease(t *testing.T) {
	s := newLocks(t)
	la, err := s.Lock(dev, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := s.Lock(dev, 2*time.Second)
		if err == nil {
			l.Release()
		}
		got <- err
	}()
	time.Sleep(30 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("second Lock returned (%v) while the first was held", err)
	default:
	}
	la.Release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiting Lock: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiting Lock did not get the lock after Release")
	}
}

// TestReleaseFreeWaiter: a waiter blocked while the holder unlinks the lock
// file must end up holding a lock on the file now at the path, not on the
// unlinked inode (where a third invocation would not see it).
func TestReleaseFreeWaiter(t *testing.T) {
	s := newLocks(t)
	for i := 0; i < 20; i++ {
		la, err := s.Lock(dev, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := la.SetOwner("old-owner"); err != nil {
			t.Fatal(err)
		}
		type res struct {
			l   *state.Lock
			err error
		}
		got := make(chan res, 1)
		go func() {
			l, err := state.Locks{Dir: s.Dir}.Lock(dev, 2*time.Second)
			got <- res{l, err}
		}()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		if err := la.ReleaseFree(); err != nil {
			t.Fatalf("ReleaseFree: %v", err)
		}
		var r res
		select {
		case r = <-got:
		case <-time.After(3 * time.Second):
			t.Fatal("waiter never got the lock")
		}
		if r.err != nil {
			t.Fatalf("waiter: %v", r.err)
		}
		if o, err := r.l.Owner(); err != nil || o != "" {
			t.Errorf("waiter sees owner %q (%v) of the freed VF, want none", o, err)
		}
		if _, err := os.Stat(lockFile(s, dev)); err != nil {
			t.Fatalf("waiter holds a lock but no lock file is on disk: %v", err)
		}
		if err := r.l.SetOwner("new-owner"); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(lockFile(s, dev)); err != nil || string(b) != "new-owner\n" {
			t.Errorf("lock file holds %q (%v): the waiter's lock is not the file at the path", b, err)
		}
		if l, ok, err := s.TryLock(dev); err != nil || ok {
			if ok {
				l.Release()
			}
			t.Fatalf("a third party took the lock the waiter holds (ok=%v err=%v)", ok, err)
		}
		if err := r.l.ReleaseFree(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLockMutualExclusionWithReleaseFree hammers one VF lock from many
// goroutines, each freeing the VF (unlinking the file) on the way out. At
// no time may two of them be inside.
func TestLockMutualExclusionWithReleaseFree(t *testing.T) {
	s := newLocks(t)
	var inside atomic.Int32
	var overlap atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := state.Locks{Dir: s.Dir}
			for i := 0; i < 40; i++ {
				l, err := st.Lock(dev, 5*time.Second)
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					overlap.Store(true)
				}
				time.Sleep(50 * time.Microsecond)
				inside.Add(-1)
				if err := l.ReleaseFree(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if overlap.Load() {
		t.Error("two holders of one VF lock at once")
	}
}

func TestLockBadDevice(t *testing.T) {
	s := newLocks(t)
	for _, d := range []string{"", "../x", "a/b", "..", "x\x00y"} {
		if _, err := s.Lock(d, 0); !errors.Is(err, state.ErrBadKey) {
			t.Errorf("Lock(%q) err = %v, want ErrBadKey", d, err)
		}
		if _, _, err := s.TryLock(d); !errors.Is(err, state.ErrBadKey) {
			t.Errorf("TryLock(%q) err = %v, want ErrBadKey", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "x.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock escaped the locks dir: %v", err)
	}
}

// TestOwnerLongestKey: every key Key accepts must read back whole, or the
// owner of a VF would never match the attachment that owns it.
func TestOwnerLongestKey(t *testing.T) {
	s := newLocks(t)
	key, err := state.Key(strings.Repeat("c", 256), strings.Repeat("i", 256))
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(dev, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.SetOwner(key); err != nil {
		t.Fatal(err)
	}
	if o, err := l.Owner(); err != nil || o != key {
		t.Errorf("Owner = %d bytes (%v), want the %d-byte key back", len(o), err, len(key))
	}
}

// TestOwnerLongJournalPath: the owner is the journal's full path, as long as
// the state directory makes it. Cut short, a VF's owner would look like
// another attachment, and DEL would leave the VF to nobody.
func TestOwnerLongJournalPath(t *testing.T) {
	s := newLocks(t)
	key, err := state.Key(strings.Repeat("c", 64), "net1")
	if err != nil {
		t.Fatal(err)
	}
	owner := state.Store{Dir: "/var/lib/cni/" + strings.Repeat("long-state-directory/", 40)}.Path(key)
	if len(owner) <= 2*256+2 {
		t.Fatalf("owner %d bytes: not long enough to test", len(owner))
	}
	l, err := s.Lock(dev, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.SetOwner(owner); err != nil {
		t.Fatal(err)
	}
	if o, err := l.Owner(); err != nil || o != owner {
		t.Errorf("Owner = %d bytes (%v), want the %d-byte journal path back", len(o), err, len(owner))
	}
}
