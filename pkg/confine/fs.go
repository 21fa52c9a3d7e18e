package confine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrOutside: a path is not below the root it is used with.
var ErrOutside = errors.New("path is not below its root")

// rootMode is the mode of a missing root the plugin creates: roots are the
// node's directories (CNI's, the device-info directory), readable by all.
const rootMode = 0o755

// dir is an open directory below a root, reached without following a link.
type dir struct {
	fd   int
	path string
}

func (d dir) close() { _ = unix.Close(d.fd) }

// openDir opens p, which is root or below it. The root itself is the node's
// and is opened as named (/var/run is a link to /run); every component below
// it is opened with O_NOFOLLOW, so a link planted there is refused rather
// than followed. With create, missing directories are made with mode, and
// only those are given mode exactly (umask aside): a directory that existed
// keeps its permissions.
func openDir(root, p string, create bool, mode os.FileMode) (dir, error) {
	rel, err := relBelow(root, p, true)
	if err != nil {
		return dir{}, err
	}
	if create {
		if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(root, rootMode); err != nil {
				return dir{}, fmt.Errorf("create %s: %w", root, err)
			}
		}
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return dir{}, &os.PathError{Op: "open", Path: root, Err: err}
	}
	cur := dir{fd: fd, path: root}
	if rel == "." {
		return cur, nil
	}
	for _, c := range strings.Split(rel, "/") {
		next := filepath.Join(cur.path, c)
		nfd, err := openSub(cur.fd, c)
		made := false
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(cur.fd, c, uint32(mode.Perm())); err == nil {
				made = true
			}
			if err == nil || errors.Is(err, unix.EEXIST) {
				nfd, err = openSub(cur.fd, c)
			}
		}
		if err == nil && made {
			err = unix.Fchmod(nfd, uint32(mode.Perm()))
			if err != nil {
				_ = unix.Close(nfd)
			}
		}
		cur.close()
		if err != nil {
			return dir{}, componentError(next, err)
		}
		cur = dir{fd: nfd, path: next}
	}
	return cur, nil
}

func openSub(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// componentError says what was wrong with a directory on the way.
func componentError(p string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s is a symbolic link, which the plugin does not follow below its root", p)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s is not a directory (or is a symbolic link, which the plugin does not follow below its root)", p)
	}
	return &os.PathError{Op: "open", Path: p, Err: err}
}

// relBelow is p relative to root; "." only when allowRoot and p is root.
func relBelow(root, p string, allowRoot bool) (string, error) {
	if root == "" || !filepath.IsAbs(root) || !filepath.IsAbs(p) {
		return "", fmt.Errorf("%w: %q below %q", ErrOutside, p, root)
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || (rel == "." && !allowRoot) {
		return "", fmt.Errorf("%w: %q below %q", ErrOutside, p, root)
	}
	return rel, nil
}

// MkdirAll makes sure directory p exists below root, creating what is
// missing with mode; see openDir for what it refuses.
func MkdirAll(root, p string, mode os.FileMode) error {
	d, err := openDir(root, p, true, mode)
	if err != nil {
		return err
	}
	d.close()
	return nil
}

// parent opens the directory of file p below root and returns p's name.
func parent(root, p string, create bool, mode os.FileMode) (dir, string, error) {
	if _, err := relBelow(root, p, false); err != nil {
		return dir{}, "", err
	}
	d, err := openDir(root, filepath.Dir(p), create, mode)
	if err != nil {
		return dir{}, "", err
	}
	return d, filepath.Base(p), nil
}

// ReadFile reads the regular file p below root, at most limit bytes. A
// missing file is os.ErrNotExist; a link, a FIFO or a device is refused.
func ReadFile(root, p string, limit int64) ([]byte, error) {
	d, name, err := parent(root, p, false, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("%s: %w", p, os.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	defer d.close()
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%s: %w", p, os.ErrNotExist)
		}
		return nil, fileError(p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer func() { _ = f.Close() }()
	if err := regular(f, p); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

func fileError(p string, err error) error {
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("%s is a symbolic link, which the plugin does not follow", p)
	}
	return &os.PathError{Op: "open", Path: p, Err: err}
}

func regular(f *os.File, p string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", p, fi.Mode().Type())
	}
	return nil
}

// Exists reports whether p below root names anything (a link included),
// without following it.
func Exists(root, p string) (bool, error) {
	d, name, err := parent(root, p, false, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer d.close()
	var st unix.Stat_t
	err = unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return true, nil
}

// WriteAtomic replaces file p below root with data: a new file of mode in
// the same directory, written, fsync'd when durable, then renamed over p. A
// rename replaces a link at p instead of writing through it. Missing
// directories are created with dirMode.
func WriteAtomic(root, p string, data []byte, mode, dirMode os.FileMode, durable bool) error {
	d, name, err := parent(root, p, true, dirMode)
	if err != nil {
		return err
	}
	defer d.close()
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("temp name for %s: %w", p, err)
	}
	tmp := "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return &os.PathError{Op: "create", Path: filepath.Join(d.path, tmp), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = unix.Unlinkat(d.fd, tmp, 0)
		}
	}()
	if err := f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", f.Name(), err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		_ = unix.Unlinkat(d.fd, tmp, 0)
		done = true
		return &os.LinkError{Op: "rename", Old: tmp, New: p, Err: err}
	}
	done = true
	return nil
}

// Remove deletes file p below root (a link at p is removed, not followed);
// a missing file is not an error.
func Remove(root, p string) error {
	d, name, err := parent(root, p, false, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.close()
	if err := unix.Unlinkat(d.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: p, Err: err}
	}
	return nil
}

// OpenAppend opens the regular file p below root for appending, creating it
// with mode (and missing directories with dirMode). It never follows a link
// at p or below root, and refuses anything but a regular file.
func OpenAppend(root, p string, mode, dirMode os.FileMode) (*os.File, error) {
	d, name, err := parent(root, p, true, dirMode)
	if err != nil {
		return nil, err
	}
	defer d.close()
	fd, err := unix.Openat(d.fd, name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return nil, fileError(p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	if err := regular(f, p); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}
