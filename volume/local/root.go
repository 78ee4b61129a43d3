package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

const (
	creatingPrefix = ".creating-"
	removingPrefix = ".removing-"
)

// Root is the directory holding the volumes.
type Root struct {
	path string // absolute, clean, symlinks resolved
}

// Open prepares the volumes root (made if missing) and deletes what a crash
// left of volumes being created or removed.
func Open(ctx context.Context, path string) (*Root, error) {
	if err := os.MkdirAll(path, 0o701); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	r := &Root{path: real}
	entries, err := os.ReadDir(r.path)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), creatingPrefix) || strings.HasPrefix(e.Name(), removingPrefix) {
			if err := r.purge(filepath.Join(r.path, e.Name())); err != nil {
				log.G(ctx).WithError(err).WithField("path", e.Name()).Warn("removing a volume directory left by a crash")
			}
		}
	}
	return r, nil
}

// Path is the volumes root.
func (r *Root) Path() string { return r.path }

// Dir is a volume's directory: <root>/<name>.
func (r *Root) Dir(name string) string { return filepath.Join(r.path, name) }

// DataPath is a volume's data directory, its mount point: <root>/<name>/_data.
func (r *Root) DataPath(name string) string { return filepath.Join(r.path, name, DataDir) }

// Names lists the volume directories: real directories (not symlinks) with
// valid names. Others are reported in skipped.
func (r *Root) Names() (names, skipped []string, err error) {
	entries, err := os.ReadDir(r.path)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		if e.Type()&fs.ModeType != fs.ModeDir || ValidateName(n) != nil {
			skipped = append(skipped, n)
			continue
		}
		names = append(names, n)
	}
	return names, skipped, nil
}

// ReadRecord reads a volume's record.
func (r *Root) ReadRecord(name string) ([]byte, error) {
	if err := r.check(name); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(r.Dir(name), RecordFile))
}

// WriteRecord replaces a volume's record atomically.
func (r *Root) WriteRecord(name string, record []byte) error {
	if err := r.check(name); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.Dir(name), RecordFile), record)
}

// Create makes a volume's directory with its empty data directory and its
// record, all at once: a crash leaves either nothing or the whole volume.
func (r *Root) Create(name string, record []byte) (retErr error) {
	if err := r.check(name); err != nil {
		return err
	}
	dir := r.Dir(name)
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("volume directory %s already exists: %w", dir, errdefs.ErrAlreadyExists)
	}
	tmp, err := os.MkdirTemp(r.path, creatingPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	// As Docker: the volume's directory is not listable by others, its
	// data directory is the root of what containers see.
	if err := os.Chmod(tmp, 0o701); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, DataDir), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(tmp, DataDir), 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(tmp, RecordFile), record); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return syncDir(r.path)
}

// Detach takes a volume's directory out of the root, renaming it to a
// .removing-* directory that Purge deletes. It refuses a volume whose
// directory is not a real directory directly under the root (a symlink
// would lead elsewhere), and one with anything still mounted below it:
// deleting through a mount would delete what it shows (a bind-mounted host
// directory).
func (r *Root) Detach(name string) (string, error) {
	if err := r.check(name); err != nil {
		return "", err
	}
	dir := r.Dir(name)
	fi, err := os.Lstat(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil // nothing on disk: nothing to delete
		}
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return "", fmt.Errorf("refusing to remove volume %s: %s is not a directory but %s", name, dir, kind(fi.Mode()))
	}
	if mounts, err := MountsUnder(dir); err != nil {
		return "", err
	} else if len(mounts) > 0 {
		return "", fmt.Errorf("refusing to remove volume %s: %s is still mounted", name, strings.Join(mounts, ", "))
	}
	tmp := filepath.Join(r.path, removingPrefix+name+"-"+NewName()[:8])
	if err := os.Rename(dir, tmp); err != nil {
		return "", err
	}
	_ = syncDir(r.path)
	return tmp, nil
}

// Purge deletes a directory Detach returned, checking again that it is one
// of the root's .removing-* directories with nothing mounted below it.
func (r *Root) Purge(path string) error {
	if path == "" {
		return nil
	}
	if !strings.HasPrefix(filepath.Base(path), removingPrefix) {
		return fmt.Errorf("refusing to delete %s: not a detached volume directory", path)
	}
	return r.purge(path)
}

func (r *Root) purge(path string) error {
	if filepath.Dir(path) != r.path || !strings.HasPrefix(filepath.Base(path), ".") {
		return fmt.Errorf("refusing to delete %s: outside the volumes root %s", path, r.path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	if !fi.IsDir() {
		// A symlink (or anything else) is removed itself, never followed.
		return os.Remove(path)
	}
	if mounts, err := MountsUnder(path); err != nil {
		return err
	} else if len(mounts) > 0 {
		return fmt.Errorf("refusing to delete %s: %s is mounted", path, strings.Join(mounts, ", "))
	}
	// RemoveAll never follows the symlinks it finds inside.
	return os.RemoveAll(path)
}

// check refuses names that could lead outside the root.
func (r *Root) check(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if filepath.Dir(r.Dir(name)) != r.path {
		return fmt.Errorf("volume %q is not directly under the volumes root: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsRegular():
		return "a file"
	}
	return "a special file"
}

// Size is the disk usage of a directory as Docker counts it: the sizes of
// everything but directories, each hard-linked file once. Symlinks are not
// followed.
func Size(ctx context.Context, dir string) (int64, error) {
	var size int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed meanwhile
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		size += fi.Size()
		return nil
	})
	return size, err
}

// writeFileAtomic writes a file by renaming a synced temporary file over it.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
