package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
)

// ErrLockTimeout: another invocation held the VF's lock for the whole wait.
var ErrLockTimeout = errors.New("timed out waiting for the vf lock")

// DefaultLockDir holds one lock file per VF. It is node-wide, not per
// stateDir: two networks with different state directories can be handed the
// same VF and must still exclude each other. It lives on /run, a tmpfs, so
// ownership records vanish at reboot, exactly when the VFs are reset.
const DefaultLockDir = "/run/sriov-rdma/locks"

// Locks is a directory of per-VF lock files.
type Locks struct{ Dir string }

// Lock is an exclusive flock on one VF's lock file. The file's content names
// the journal of the attachment that owns the VF ("" when free), so
// ownership changes only under the lock.
type Lock struct {
	f    *os.File
	path string
}

func (ls Locks) lockPath(deviceID string) (string, error) {
	if deviceID == "" || strings.ContainsAny(deviceID, "/\x00") || strings.Contains(deviceID, "..") {
		return "", fmt.Errorf("%w: device %q", ErrBadKey, deviceID)
	}
	// One stat on the hot path; create only when needed, owner-only. A
	// directory someone else made keeps its permissions.
	if fi, err := os.Stat(ls.Dir); err != nil || !fi.IsDir() {
		if err := confine.MkdirAll(filepath.Dir(ls.Dir), ls.Dir, dirMode); err != nil {
			return "", fmt.Errorf("create lock dir %s: %w", ls.Dir, err)
		}
	}
	return ls.Path(deviceID), nil
}

// Path is where the lock file of a VF lives; its content names the owner.
func (ls Locks) Path(deviceID string) string { return filepath.Join(ls.Dir, deviceID+".lock") }

// Lock takes the VF's lock, waiting at most wait. The lock is per VF, so
// ADDs of different VFs never wait for each other.
func (ls Locks) Lock(deviceID string, wait time.Duration) (*Lock, error) {
	path, err := ls.lockPath(deviceID)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	backoff := time.Millisecond
	for {
		l, got, err := tryLock(path)
		if err != nil {
			return nil, err
		}
		if got {
			return l, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w %s after %s", ErrLockTimeout, deviceID, wait)
		}
		time.Sleep(backoff)
		if backoff < 20*time.Millisecond {
			backoff *= 2
		}
	}
}

// TryLock takes the lock if it is free now.
func (ls Locks) TryLock(deviceID string) (*Lock, bool, error) {
	path, err := ls.lockPath(deviceID)
	if err != nil {
		return nil, false, err
	}
	return tryLock(path)
}

// tryLock opens and flocks path. DEL unlinks the lock file while holding it,
// so a waiter can end up holding a lock on an unlinked inode: after taking
// the flock it checks that the path still names the inode it locked, and
// starts over if not.
func tryLock(path string) (*Lock, bool, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, fileMode)
		if err != nil {
			return nil, false, fmt.Errorf("open lock %s: %w", path, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("flock %s: %w", path, err)
		}
		var held, named unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &held); err != nil {
			_ = f.Close()
			return nil, false, fmt.Errorf("stat lock %s: %w", path, err)
		}
		if err := unix.Stat(path, &named); err != nil || named.Ino != held.Ino || named.Dev != held.Dev {
			_ = f.Close()
			continue
		}
		return &Lock{f: f, path: path}, true, nil
	}
}

// Owner returns the journal path of the attachment that owns the VF, "" if
// none.
//
// The whole file is read, whatever its length: the owner is a journal path,
// as long as its state directory makes it, and a cut-off owner would never
// match its attachment, which would then be taken for another's.
func (l *Lock) Owner() (string, error) {
	b, err := io.ReadAll(io.NewSectionReader(l.f, 0, maxOwner+1))
	if err != nil {
		return "", fmt.Errorf("read lock %s: %w", l.path, err)
	}
	if len(b) > maxOwner {
		return "", fmt.Errorf("read lock %s: owner record longer than %d bytes", l.path, maxOwner)
	}
	return strings.TrimSpace(string(b)), nil
}

// maxOwner bounds an owner record: a journal path is at most PATH_MAX.
const maxOwner = 4096 + 1

// SetOwner records the owner's journal path ("" frees the VF). No fsync: after a
// power loss the boot ID changes and every older journal counts as stale, so
// the owner record only has to survive process crashes, which the page cache
// does.
func (l *Lock) SetOwner(key string) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate lock %s: %w", l.path, err)
	}
	if key == "" {
		return nil
	}
	if _, err := l.f.WriteAt([]byte(key+"\n"), 0); err != nil {
		return fmt.Errorf("write lock %s: %w", l.path, err)
	}
	return nil
}

// Release unlocks and keeps the file (the VF stays owned).
func (l *Lock) Release() {
	_ = l.f.Close()
}

// ReleaseFree removes the lock file, then unlocks: the VF is free and
// nothing of it is left in the state directory.
func (l *Lock) ReleaseFree() error {
	err := os.Remove(l.path)
	_ = l.f.Close()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove lock %s: %w", l.path, err)
	}
	return nil
}
