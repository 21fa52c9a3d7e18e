package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
)

// Errors callers decide on.
var (
	ErrNotFound = errors.New("no journal")
	ErrCorrupt  = errors.New("corrupt journal")
	// ErrNewer: the journal was written by a newer plugin, in a schema this
	// one does not know. It is ErrCorrupt too, so that its own DEL salvages
	// what it can; GC and reclaim leave it alone.
	ErrNewer  = errors.New("journal written by a newer plugin")
	ErrBadKey = errors.New("invalid attachment key")
	// ErrForeign: the journal at this key belongs to another attachment.
	// Keys join containerID and ifname with "-", and both may contain one:
	// ("a-b","c") and ("a","b-c") share a file name.
	ErrForeign = errors.New("journal belongs to another attachment")
)

const (
	dirMode   = 0o700
	fileMode  = 0o600
	journalEx = ".json"
	// maxJournal bounds what a reader accepts; a record is a few KiB.
	maxJournal = 1 << 20
)

// Store is a state directory. Root is the node's root it lies below (see
// package confine): Init creates nothing above it.
type Store struct {
	Dir  string
	Root string
}

// Init creates the directory, and whatever is missing of it below Root,
// with owner-only permissions: journals hold IPAM configs and pod names. A
// directory that already exists keeps its permissions (it may be shared,
// e.g. /run), and no symbolic link below Root is followed.
func (s Store) Init() error {
	root := s.Root
	if root == "" {
		root = filepath.Dir(s.Dir)
	}
	if err := confine.MkdirAll(root, s.Dir, dirMode); err != nil {
		return fmt.Errorf("create state dir %s: %w", s.Dir, err)
	}
	return nil
}

// Key validates an attachment's identity and returns its journal key. The
// runtime validates both already; checking again keeps a hostile value from
// ever naming a path outside the state directory.
func Key(containerID, ifName string) (string, error) {
	for _, v := range []string{containerID, ifName} {
		if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\x00") || len(v) > 256 {
			return "", fmt.Errorf("%w: %q", ErrBadKey, v)
		}
	}
	return containerID + "-" + ifName, nil
}

// Path is where the journal of key lives; lock files name owners by it.
func (s Store) Path(key string) string { return filepath.Join(s.Dir, key+journalEx) }

// Write stores r atomically: a temporary file in the same directory,
// fsync'd, renamed over the journal, and the directory fsync'd, so a crash
// leaves either the old record or the new one, never a torn one.
func (s Store) Write(r *Record) error { return s.put(r, true) }

// Update replaces a journal Write already made durable. The new file is
// fsync'd before it is renamed over the old one: on XFS (and ext4 without
// auto_da_alloc) a rename over an unsynced file can leave a zero-length
// journal after a power loss, and the first write's IPAM config with it.
// The directory is not synced: the rename replaces an entry that already
// exists, so after a power loss the directory names the old journal or the
// new one, both whole.
func (s Store) Update(r *Record) error { return s.put(r, false) }

func (s Store) put(r *Record, created bool) error {
	key, err := Key(r.ContainerID, r.IfName)
	if err != nil {
		return err
	}
	r.Version = SchemaVersion
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode journal %s: %w", key, err)
	}
	return writeAtomic(s.Dir, s.Path(key), data, created)
}

// writeAtomic writes data to a temporary file, fsyncs it and renames it over
// path; with created (a new name in the directory) the directory is fsync'd
// too, so that the name survives a power loss.
func writeAtomic(dir, path string, data []byte, created bool) error {
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("create temp for %s: %w", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	ok = true
	if !created {
		return nil
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// Read returns an attachment's journal: ErrNotFound when there is none,
// ErrCorrupt when it cannot be trusted (torn, truncated, foreign version).
func (s Store) Read(containerID, ifName string) (*Record, error) {
	key, err := Key(containerID, ifName)
	if err != nil {
		return nil, err
	}
	r, err := s.ReadKey(key)
	if err != nil {
		return nil, err
	}
	if r.ContainerID != containerID || r.IfName != ifName {
		return nil, fmt.Errorf("%s holds %s/%s: %w", key, r.ContainerID, r.IfName, ErrForeign)
	}
	return r, nil
}

// ReadKey is Read by journal key.
func (s Store) ReadKey(key string) (*Record, error) {
	return ReadFile(s.Path(key))
}

// ReadFile reads the journal at path, which may belong to another state
// directory (a VF's owner can be an attachment of another network).
func ReadFile(path string) (*Record, error) {
	key := strings.TrimSuffix(filepath.Base(path), journalEx)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", key, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", key, err)
	}
	return Decode(data)
}

// ReadRaw returns a journal's bytes as they are, for Salvage.
func ReadRaw(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal))
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	return data, nil
}

// Decode parses and checks a journal. It never panics on hostile bytes.
func Decode(data []byte) (*Record, error) {
	if len(data) > maxJournal {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, maxJournal)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if r.Version > SchemaVersion {
		return nil, fmt.Errorf("%w: %w: version %d, this plugin reads version %d", ErrCorrupt, ErrNewer, r.Version, SchemaVersion)
	}
	if r.Version != SchemaVersion {
		return nil, fmt.Errorf("%w: version %d, this plugin reads version %d", ErrCorrupt, r.Version, SchemaVersion)
	}
	if _, err := Key(r.ContainerID, r.IfName); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if !pci.ValidAddress(r.DeviceID) {
		// A device that is no PCI address could never be locked or found:
		// calling the journal corrupt sends DEL to its salvage path, which
		// takes the address from the netconf.
		return nil, fmt.Errorf("%w: deviceID %q is not a PCI address", ErrCorrupt, r.DeviceID)
	}
	return &r, nil
}

// Remove deletes an attachment's journal; a missing one is not an error.
func (s Store) Remove(containerID, ifName string) error {
	key, err := Key(containerID, ifName)
	if err != nil {
		return err
	}
	return s.RemoveKey(key)
}

// RemoveKey is Remove by journal key.
func (s Store) RemoveKey(key string) error { return RemoveFile(s.Path(key)) }

// RemoveFile deletes the journal at path; a missing one is not an error.
// The removal is not flushed: a journal that comes back after a power loss
// is an earlier boot's, whose only use is an IPAM DEL of its own container,
// which releases nothing that is not its own.
func RemoveFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove journal %s: %w", path, err)
	}
	return nil
}

// List returns the keys of every journal in the directory, sorted; a missing
// directory has none.
func (s Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list state dir %s: %w", s.Dir, err)
	}
	var keys []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, journalEx) {
			continue
		}
		keys = append(keys, strings.TrimSuffix(n, journalEx))
	}
	sort.Strings(keys)
	return keys, nil
}
