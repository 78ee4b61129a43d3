package container

// Files in a container's filesystem: stat, archive and extract (Docker's
// /containers/{id}/archive) and export.
//
// Paths never leave the container's root. Every path is resolved inside
// the root with openat2(RESOLVE_IN_ROOT) (filepath-securejoin's
// pathrs-lite), so symlinks and ".." the container planted resolve as they
// would inside the container; what follows is done on the handles that
// resolution returned, relative to a parent directory handle and never
// following a final symlink (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), and file
// contents are read by reopening such a handle. A container that swaps a
// directory for a symlink while a copy runs changes at most which of its
// own files are copied; it cannot make the daemon read or write a file of
// the host.

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/sys/mountinfo"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// ExtractOptions tunes ExtractToDir.
type ExtractOptions struct {
	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory, and a non-directory with a directory.
	NoOverwriteDirNonDir bool
	// CopyUIDGID owns every extracted file by the container's user
	// (Config.User) instead of by the archive's owners.
	CopyUIDGID bool
}

// StatPath stats a path in the container's filesystem, as
// HEAD /containers/{id}/archive does: a final symlink is not followed
// unless the path ends in "/" or "/.", and its LinkTarget is where it
// leads inside the container.
func (s *Service) StatPath(ctx context.Context, ref, p string) (*ctypes.PathStat, error) {
	_, fs, release, err := s.openFS(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer release()
	e, stat, err := fs.statPath(p)
	if err != nil {
		return nil, pathError(err, p, ref)
	}
	e.Close()
	return stat, nil
}

// ArchivePath writes a tar archive of a path in the container's
// filesystem, as GET /containers/{id}/archive does. open is called with
// the path's stat once it is known (the API sends it as a header) and
// returns where the archive goes; errors before open are the caller's to
// report, later ones mean a truncated archive.
func (s *Service) ArchivePath(ctx context.Context, ref, p string, open func(*ctypes.PathStat) (io.Writer, error)) error {
	c, fs, release, err := s.openFS(ctx, ref)
	if err != nil {
		return err
	}
	defer release()
	var lookupFailed bool
	err = fs.archivePath(p, open, &lookupFailed)
	if lookupFailed {
		return pathError(err, p, ref)
	}
	if err == nil {
		s.publish(c, string(events.ActionArchivePath), nil)
	}
	return err
}

// ExtractToDir extracts a tar archive (plain or compressed) into a
// directory of the container, as PUT /containers/{id}/archive does. The
// directory path is resolved in the container, symlinks included. Entries
// that would land outside the directory, and links pointing outside it,
// are refused, as Docker refuses them.
func (s *Service) ExtractToDir(ctx context.Context, ref, p string, opts ExtractOptions, r io.Reader) error {
	c, fs, release, err := s.openFS(ctx, ref)
	if err != nil {
		return err
	}
	defer release()
	c.mu.RLock()
	readonly, usr := c.HostConfig.ReadonlyRootfs, c.Config.User
	c.mu.RUnlock()
	x, err := fs.extractor(p, opts, usr)
	if err != nil {
		return pathError(err, p, ref)
	}
	if readonly {
		return fmt.Errorf("container rootfs is marked read-only: %w", errdefs.ErrInvalidArgument)
	}
	if err := x.untar(r); err != nil {
		return err
	}
	s.publish(c, string(events.ActionExtractToDir), nil)
	return nil
}

// extractor prepares the extraction into the directory p, resolved in the
// root with its symlinks.
func (r *rootFS) extractor(p string, opts ExtractOptions, usr string) (*extractor, error) {
	dst, err := r.lookup(path.Join("/", p), true)
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	if !dst.isDir() {
		return nil, fmt.Errorf("extraction point is not a directory: %w", errdefs.ErrInvalidArgument)
	}
	x := &extractor{fs: r, dest: dst.path, noOverwriteDirNonDir: opts.NoOverwriteDirNonDir}
	if opts.CopyUIDGID && usr != "" {
		uid, gid, err := r.lookupUser(usr)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
		}
		x.owner = &[2]int{uid, gid}
	}
	return x, nil
}

// Export writes a tar archive of the container's whole filesystem (its
// root filesystem alone, without the files the daemon mounts into it),
// as GET /containers/{id}/export does.
func (s *Service) Export(ctx context.Context, ref string, w io.Writer) error {
	c, fs, release, err := s.openFS(ctx, ref)
	if err != nil {
		return err
	}
	defer release()
	if err := fs.export(w); err != nil {
		return err
	}
	s.publish(c, string(events.ActionExport), nil)
	return nil
}

// openFS opens the container's root filesystem: the mounted rootfs of a
// running container, or its snapshot mounted for the occasion. For a
// stopped container the lifecycle lock is held until release, so it does
// not start or go away meanwhile, and operations on it take turns. A
// running container's lifecycle lock is let go once the rootfs is open
// (a slow client must not hold up kill, stop or the exit's handling):
// its fs read lock keeps the exit's teardown from unmounting the rootfs
// until release.
func (s *Service) openFS(ctx context.Context, ref string) (_ *Container, _ *rootFS, release func(), retErr error) {
	c, err := s.Get(ref)
	if err != nil {
		return nil, nil, nil, err
	}
	c.op.Lock()
	undo := []func(){c.op.Unlock}
	release = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if retErr != nil {
			release()
		}
	}()
	select {
	case <-c.gone:
		return nil, nil, nil, fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	default:
	}
	st := c.state()
	switch st.Status {
	case ctypes.StateRemoving:
		return nil, nil, nil, fmt.Errorf("container %s is being removed: %w", c.ID, errdefs.ErrConflict)
	case ctypes.StateDead:
		return nil, nil, nil, fmt.Errorf("container %s is dead: %w", c.ID, errdefs.ErrConflict)
	}
	dir := filepath.Join(c.bundle, "rootfs")
	if st.Running() {
		// Mounted by start and unmounted by the exit handling, both
		// under the lifecycle lock this holds.
		if ok, err := mountinfo.Mounted(dir); err != nil || !ok {
			return nil, nil, nil, fmt.Errorf("root filesystem of running container %s is not mounted: %w", c.ID, errdefs.ErrUnavailable)
		}
		c.fs.RLock()
		undo[0] = c.fs.RUnlock
		c.op.Unlock()
	} else {
		mounts, err := s.snapshots.Mounts(ctx, c.SnapshotKey)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("root filesystem of %s: %w", c.ID, err)
		}
		tmp, unmount, err := s.mountTemp(c.ID, mounts)
		if err != nil {
			return nil, nil, nil, err
		}
		dir = tmp
		undo = append(undo, unmount)
	}
	fs, err := openRootFS(dir, c.etcMounts())
	if err != nil {
		return nil, nil, nil, err
	}
	undo = append(undo, fs.Close)
	return c, fs, release, nil
}

// mountTemp mounts a snapshot on a fresh directory beside the bundles.
func (s *Service) mountTemp(id string, mounts []mount.Mount) (string, func(), error) {
	dir, err := os.MkdirTemp(s.cfg.StateDir, ".fs-"+shortID(id)+"-")
	if err != nil {
		return "", nil, err
	}
	if err := mount.All(mounts, dir); err != nil {
		_ = os.Remove(dir)
		return "", nil, fmt.Errorf("mount root filesystem of %s: %w", id, err)
	}
	return dir, func() {
		if err := mount.UnmountAll(dir, 0); err != nil {
			_ = mount.UnmountAll(dir, unix.MNT_DETACH)
		}
		// Never RemoveAll: were the unmount to fail, that would empty
		// the container's filesystem.
		_ = os.Remove(dir)
	}, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// etcMounts are the files the daemon bind-mounts into the container: a
// copy shows them as the container sees them, as Docker's does.
func (c *Container) etcMounts() map[string]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := map[string]string{}
	for dst, src := range map[string]string{"/etc/hosts": c.HostsPath, "/etc/hostname": c.HostnamePath, "/etc/resolv.conf": c.ResolvConfPath} {
		if src != "" {
			m[dst] = src
		}
	}
	return m
}

// pathError turns a failed lookup into the API's answer: Docker's "Could
// not find the file" for a path that does not exist.
func pathError(err error, p, ref string) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("Could not find the file %s in container %s: %w", p, ref, errdefs.ErrNotFound)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s: not a directory: %w", p, errdefs.ErrInvalidArgument)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s: too many levels of symbolic links: %w", p, errdefs.ErrInvalidArgument)
	case errors.Is(err, unix.ENAMETOOLONG):
		return fmt.Errorf("%s: file name too long: %w", p, errdefs.ErrInvalidArgument)
	}
	return err
}

// preserveTrailingDotOrSeparator keeps the "/" or "/." the original path
// ended in, which cleaning dropped: they say "the directory itself".
func preserveTrailingDotOrSeparator(cleaned, original string) string {
	if path.Base(cleaned) != "." && path.Base(original) == "." && original != "" {
		if !strings.HasSuffix(cleaned, "/") {
			cleaned += "/"
		}
		cleaned += "."
	}
	if !strings.HasSuffix(cleaned, "/") && strings.HasSuffix(original, "/") {
		cleaned += "/"
	}
	return cleaned
}

// rootFS is a container's root directory opened for file access.
type rootFS struct {
	root   *os.File          // O_PATH handle of the root directory
	prefix string            // the root's path on the host, as the kernel reports it
	mounts map[string]string // container path -> host file mounted there
}

func openRootFS(dir string, mounts map[string]string) (*rootFS, error) {
	f, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	prefix, err := fdPath(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &rootFS{root: f, prefix: prefix, mounts: mounts}, nil
}

// Close closes the root handle.
func (r *rootFS) Close() { r.root.Close() }

// fdPath is where the kernel says an open file is.
func fdPath(f *os.File) (string, error) {
	return os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
}

// procPath names an open file through /proc: opening, chmod-ing or
// setting times on it acts on the very inode the handle holds.
func procPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// containerPath turns a handle inside the root back into the path the
// container knows it by.
func (r *rootFS) containerPath(f *os.File) (string, error) {
	p, err := fdPath(f)
	if err != nil {
		return "", err
	}
	if p == r.prefix {
		return "/", nil
	}
	if rest, ok := strings.CutPrefix(p, r.prefix+"/"); ok && r.prefix != "/" {
		return "/" + rest, nil
	}
	// Resolution in the root cannot lead here; refuse rather than guess.
	return "", fmt.Errorf("%s is outside the container's root %s: %w", p, r.prefix, errdefs.ErrInvalidArgument)
}

// openParent resolves the directory holding the clean absolute path p
// (not "/") inside the root.
func (r *rootFS) openParent(p string) (dir *os.File, dirPath, base string, err error) {
	parent, base := path.Split(p)
	dir, err = pathrs.OpenatInRoot(r.root, parent)
	if err != nil {
		return nil, "", "", err
	}
	dirPath, err = r.containerPath(dir)
	if err != nil {
		dir.Close()
		return nil, "", "", err
	}
	return dir, dirPath, base, nil
}

// entry is one file of a container's filesystem, held open.
type entry struct {
	f       *os.File // O_PATH handle; a symlink is the link itself
	path    string   // where it is in the container
	st      unix.Stat_t
	mounted bool // a file of the daemon mounted into the container
}

func (e *entry) Close()          { e.f.Close() }
func (e *entry) typ() uint32     { return e.st.Mode & unix.S_IFMT }
func (e *entry) isDir() bool     { return e.typ() == unix.S_IFDIR }
func (e *entry) isLink() bool    { return e.typ() == unix.S_IFLNK }
func (e *entry) isRegular() bool { return e.typ() == unix.S_IFREG }

// lookup opens the clean absolute path p in the container. With follow, a
// final symlink is followed (inside the root); without, it is the entry.
// The daemon's mounted files stand in for what the root has at their place.
func (r *rootFS) lookup(p string, follow bool) (*entry, error) {
	if p == "" || p == "/" {
		follow = true
		p = "/"
	}
	if follow {
		f, err := pathrs.OpenatInRoot(r.root, p)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				// A mounted file the image does not have.
				if rp, rerr := r.resolve(p); rerr == nil {
					if src, ok := r.mounts[rp]; ok {
						return openMounted(src, rp)
					}
				}
			}
			return nil, err
		}
		cp, err := r.containerPath(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if src, ok := r.mounts[cp]; ok {
			f.Close()
			return openMounted(src, cp)
		}
		return newEntry(f, cp)
	}
	dir, dirPath, base, err := r.openParent(p)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return r.child(dir, dirPath, base, true)
}

// entryAt opens the clean absolute path p of the root filesystem itself:
// a final symlink is the entry, and the daemon's mounted files do not
// stand in.
func (r *rootFS) entryAt(p string) (*entry, error) {
	if p == "/" {
		return r.lookup(p, true)
	}
	dir, dirPath, base, err := r.openParent(p)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return r.child(dir, dirPath, base, false)
}

// child opens name in dir (at dirPath in the container) without following
// it; with mounts, a file the daemon mounts there stands in.
func (r *rootFS) child(dir *os.File, dirPath, name string, mounts bool) (*entry, error) {
	cp := path.Join(dirPath, name)
	if src, ok := r.mounts[cp]; ok && mounts {
		return openMounted(src, cp)
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: cp, Err: err}
	}
	return newEntry(os.NewFile(uintptr(fd), cp), cp)
}

func newEntry(f *os.File, cp string) (*entry, error) {
	e := &entry{f: f, path: cp}
	if err := unix.Fstat(int(f.Fd()), &e.st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "fstat", Path: cp, Err: err}
	}
	return e, nil
}

func openMounted(src, cp string) (*entry, error) {
	f, err := os.OpenFile(src, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	e, err := newEntry(f, cp)
	if err != nil {
		return nil, err
	}
	e.mounted = true
	return e, nil
}

// maxSymlinks bounds symlink resolution, as the kernel's 40.
const maxSymlinks = 40

// resolve follows every symlink of the clean absolute path p inside the
// root and returns where it leads; the last component need not exist (as
// Docker's FollowSymlinkInScope).
func (r *rootFS) resolve(p string) (string, error) {
	for i := 0; i < maxSymlinks; i++ {
		p = path.Join("/", p)
		if p == "/" {
			return p, nil
		}
		dir, dirPath, base, err := r.openParent(p)
		if errors.Is(err, unix.ENOENT) {
			// Its directory does not exist (yet): resolve that, and the
			// rest is a name in it.
			parent, err := r.resolve(path.Dir(p))
			if err != nil {
				return "", err
			}
			return path.Join(parent, path.Base(p)), nil
		}
		if err != nil {
			return "", err
		}
		var st unix.Stat_t
		err = unix.Fstatat(int(dir.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
			dir.Close()
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return "", err
			}
			return path.Join(dirPath, base), nil
		}
		target, err := readlinkAt(int(dir.Fd()), base)
		dir.Close()
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			p = target
		} else {
			p = path.Join(dirPath, target)
		}
	}
	return "", unix.ELOOP
}

func readlinkAt(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// statPath looks p up as Docker's archive endpoints do and returns the
// open entry with its stat.
func (r *rootFS) statPath(p string) (*entry, *ctypes.PathStat, error) {
	abs := preserveTrailingDotOrSeparator(path.Join("/", p), p)
	clean := path.Clean(abs)
	follow := clean == "/" || strings.HasSuffix(abs, "/") || path.Base(abs) == "."
	e, err := r.lookup(clean, follow)
	if err != nil {
		return nil, nil, err
	}
	if follow && !e.isDir() {
		e.Close()
		return nil, nil, unix.ENOTDIR
	}
	stat := &ctypes.PathStat{
		Name:  path.Base(abs),
		Size:  e.st.Size,
		Mode:  fileMode(e.st.Mode),
		Mtime: time.Unix(e.st.Mtim.Unix()),
	}
	if e.isLink() {
		if stat.LinkTarget, err = r.resolve(clean); err != nil {
			e.Close()
			return nil, nil, err
		}
	}
	return e, stat, nil
}

// archivePath writes a tar archive of p as Docker's archive endpoint
// does. lookupFailed is set when p itself could not be looked up.
func (r *rootFS) archivePath(p string, open func(*ctypes.PathStat) (io.Writer, error), lookupFailed *bool) error {
	e, stat, err := r.statPath(p)
	if err != nil {
		*lookupFailed = true
		return err
	}
	defer e.Close()
	// Entry names as Docker gives them: the resource's base name, then
	// its contents below it ("etc/", "etc/passwd"; "./" and "./passwd"
	// for "/etc/."; "/", "/bin/" for the root).
	abs := preserveTrailingDotOrSeparator(path.Join("/", p), p)
	include, rel := path.Base(abs), path.Base(abs)
	if e.isDir() {
		include, rel = ".", "."
	}
	rebase := path.Base(abs)
	rename := func(rel string) string {
		replacement := rebase
		if rebase == "/" {
			replacement = ""
		}
		return strings.Replace(rel, include, replacement, 1)
	}
	w, err := open(stat)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	t := &tarWalker{fs: r, tw: tw, mounts: true, rename: rename, seen: map[[2]uint64]string{}}
	if err := t.walk(e, rel); err != nil {
		return err
	}
	return tw.Close()
}

// export writes a tar archive of the whole root filesystem, without the
// daemon's mounted files and without an entry for the root itself.
func (r *rootFS) export(w io.Writer) error {
	root, err := r.lookup("/", true)
	if err != nil {
		return err
	}
	defer root.Close()
	tw := tar.NewWriter(w)
	t := &tarWalker{fs: r, tw: tw, rename: func(rel string) string { return rel }, seen: map[[2]uint64]string{}}
	if err := t.walk(root, ""); err != nil {
		return err
	}
	return tw.Close()
}

// fileMode converts a stat mode as os.FileMode does.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

// openFile opens a regular file of the container for reading.
func (r *rootFS) openFile(p string) (*os.File, error) {
	e, err := r.lookup(p, true)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if !e.isRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return pathrs.Reopen(e.f, unix.O_RDONLY|unix.O_CLOEXEC)
}

// lookupUser resolves a user[:group] spec with the container's own
// /etc/passwd and /etc/group, as Docker's `cp -a` does.
func (r *rootFS) lookupUser(spec string) (uid, gid int, err error) {
	var passwd, group io.Reader
	if f, err := r.openFile("/etc/passwd"); err == nil {
		defer f.Close()
		passwd = f
	}
	if f, err := r.openFile("/etc/group"); err == nil {
		defer f.Close()
		group = f
	}
	u, err := user.GetExecUser(spec, &user.ExecUser{}, passwd, group)
	if err != nil {
		return 0, 0, fmt.Errorf("failed to look up user %q in container: %v", spec, err)
	}
	return u.Uid, u.Gid, nil
}

// tarWalker writes entries of a root filesystem to a tar stream.
type tarWalker struct {
	fs     *rootFS
	tw     *tar.Writer
	mounts bool                // show the daemon's mounted files as the container sees them
	rename func(string) string // relative path -> entry name
	seen   map[[2]uint64]string
}

// walk writes e under rel and, for a directory, everything below it. The
// entry of an empty rel (the root of an export) is left out.
func (t *tarWalker) walk(e *entry, rel string) error {
	if rel != "" {
		if err := t.write(e, t.rename(rel)); err != nil {
			return err
		}
	}
	if !e.isDir() || e.mounted {
		return nil
	}
	dir, err := pathrs.Reopen(e.f, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	if t.mounts {
		// Mounted files the image lacks are there all the same.
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
		}
		for dst := range t.fs.mounts {
			if path.Dir(dst) == e.path && !have[path.Base(dst)] {
				names = append(names, path.Base(dst))
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		child, err := t.fs.child(dir, e.path, n, t.mounts)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed meanwhile
			}
			return err
		}
		childRel := n
		if rel != "" {
			childRel = rel + "/" + n
		}
		err = t.walk(child, childRel)
		child.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// write writes one entry (a directory without its contents) named name.
func (t *tarWalker) write(e *entry, name string) error {
	st := &e.st
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()).Truncate(time.Second),
		Format:  tar.FormatPAX,
	}
	var content *os.File
	switch e.typ() {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		if !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := t.seen[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			break
		}
		if st.Nlink > 1 {
			t.seen[key] = name
		}
		// Reopening the handle reads the inode that was stat-ed: never a
		// device or a file swapped in since.
		f, err := pathrs.Reopen(e.f, unix.O_RDONLY|unix.O_CLOEXEC)
		if err != nil {
			return err
		}
		defer f.Close()
		content = f
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if caps, err := getxattr(f, "security.capability"); err == nil && len(caps) > 0 {
			hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(caps)}
		}
	case unix.S_IFLNK:
		target, err := readlinkAt(int(e.f.Fd()), "")
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if e.typ() == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets cannot be archived: skipped, as Docker does
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if content != nil {
		// The size is the header's: a file that shrinks meanwhile is
		// padded, one that grows is cut.
		n, err := io.Copy(t.tw, io.LimitReader(content, hdr.Size))
		if err != nil {
			return err
		}
		if n < hdr.Size {
			if _, err := io.CopyN(t.tw, zeroReader{}, hdr.Size-n); err != nil {
				return err
			}
		}
	}
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func getxattr(f *os.File, name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := unix.Fgetxattr(int(f.Fd()), name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// extractor extracts a tar archive into a directory of a root filesystem.
type extractor struct {
	fs                   *rootFS
	dest                 string // container path of the directory
	noOverwriteDirNonDir bool
	owner                *[2]int // uid, gid of every entry; nil keeps the archive's
}

type dirTimes struct {
	path         string
	atime, mtime time.Time
}

// invalidArchive classifies a broken archive.
func invalidArchive(err error) error {
	return fmt.Errorf("invalid tar archive: %v: %w", err, errdefs.ErrInvalidArgument)
}

func (x *extractor) untar(r io.Reader) error {
	ds, err := compression.DecompressStream(r)
	if err != nil {
		return invalidArchive(err)
	}
	defer ds.Close()
	tr := tar.NewReader(ds)
	var dirs []dirTimes
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return invalidArchive(err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		rel, err := entryPath(hdr.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			// The destination itself: it stays the directory it is.
			if hdr.Typeflag != tar.TypeDir {
				return fmt.Errorf("archive entry %q would replace the extraction directory: %w", hdr.Name, errdefs.ErrInvalidArgument)
			}
			continue
		}
		target := path.Join(x.dest, rel)
		parent, err := pathrs.MkdirAllHandle(x.fs.root, path.Dir(target), 0o755)
		if err != nil {
			return extractFailed(fmt.Errorf("create parent directory of %s: %w", target, err))
		}
		parentPath, err := x.fs.containerPath(parent)
		if err == nil {
			err = x.extract(parent, parentPath, target, hdr, tr)
		}
		parent.Close()
		if err != nil {
			return extractFailed(err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirTimes{path: path.Join(parentPath, path.Base(target)), atime: latest(hdr.AccessTime, hdr.ModTime), mtime: hdr.ModTime})
		}
	}
	// Directory times last: creating their contents changed them.
	for _, d := range dirs {
		e, err := x.fs.entryAt(d.path)
		if err != nil {
			continue
		}
		if e.isDir() {
			_ = setTimes(e, d.atime, d.mtime)
		}
		e.Close()
	}
	return nil
}

// entryPath cleans an entry name into a path relative to the extraction
// directory ("" for the directory itself). Absolute names are taken as
// relative to it; names climbing out of it are refused.
func entryPath(name string) (string, error) {
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("archive entry %q is outside of the extraction directory: %w", name, errdefs.ErrInvalidArgument)
	}
	clean = strings.TrimLeft(path.Clean("/"+clean), "/")
	return clean, nil
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// extractFailed classifies what an archive's entries can cause (a file
// where its directory should be, a name taken meanwhile) as the request's
// fault; anything else stays as it is.
func extractFailed(err error) error {
	if errdefs.IsInvalidArgument(err) {
		return err
	}
	for _, errno := range []error{unix.ENOTDIR, unix.EEXIST, unix.ELOOP, unix.EISDIR, unix.ENAMETOOLONG, unix.ENOTEMPTY, unix.EXDEV, unix.ENOENT, unix.EMLINK} {
		if errors.Is(err, errno) {
			return fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
		}
	}
	return err
}

// extract creates one entry in parent (at parentPath in the container);
// target is where the archive puts it, lexically.
func (x *extractor) extract(parent *os.File, parentPath, target string, hdr *tar.Header, content io.Reader) error {
	pfd := int(parent.Fd())
	base := path.Base(target)
	full := path.Join(parentPath, base)
	if _, ok := x.fs.mounts[full]; ok {
		return fmt.Errorf("cannot overwrite %s: it is a file the daemon mounts into the container: %w", full, errdefs.ErrInvalidArgument)
	}
	isDir := hdr.Typeflag == tar.TypeDir
	var st unix.Stat_t
	existingDir := false
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		existingDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
		if x.noOverwriteDirNonDir && existingDir && !isDir {
			return fmt.Errorf("cannot overwrite directory %q with non-directory %q: %w", full, x.dest, errdefs.ErrInvalidArgument)
		}
		if x.noOverwriteDirNonDir && !existingDir && isDir {
			return fmt.Errorf("cannot overwrite non-directory %q with directory %q: %w", full, x.dest, errdefs.ErrInvalidArgument)
		}
		if !existingDir || !isDir {
			if err := removeAllAt(pfd, base); err != nil {
				return fmt.Errorf("remove %s: %w", full, err)
			}
			existingDir = false
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "lstat", Path: full, Err: err}
	}
	mode := uint32(hdr.Mode & 0o7777)
	var err error
	var created *entry // the new entry, when creating it gave a handle
	switch hdr.Typeflag {
	case tar.TypeDir:
		if !existingDir {
			err = unix.Mkdirat(pfd, base, 0o700)
		}
	case tar.TypeReg:
		created, err = writeFileAt(pfd, base, full, content)
	case tar.TypeSymlink:
		// As Docker: a relative target must stay inside the extraction
		// directory. An absolute one names a path of the container, which
		// is resolved inside its root whenever it is followed.
		if !path.IsAbs(hdr.Linkname) && !within(path.Join(path.Dir(target), hdr.Linkname), x.dest) {
			return fmt.Errorf("invalid symlink %q -> %q: %w", full, hdr.Linkname, errdefs.ErrInvalidArgument)
		}
		err = unix.Symlinkat(hdr.Linkname, pfd, base)
	case tar.TypeLink:
		err = x.link(pfd, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		err = unix.Mknodat(pfd, base, kind|mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	default:
		return fmt.Errorf("unhandled tar header type %d for %q: %w", hdr.Typeflag, hdr.Name, errdefs.ErrInvalidArgument)
	}
	if err != nil {
		var ee *extractError
		if errors.As(err, &ee) {
			return err
		}
		return fmt.Errorf("extract %s: %w", full, err)
	}
	if created == nil {
		if created, err = x.fs.child(parent, parentPath, base, false); err != nil {
			return err
		}
	}
	defer created.Close()
	return x.setMeta(created, pfd, base, full, hdr)
}

type extractError struct{ error }

func (e *extractError) Unwrap() error { return e.error }

// within reports whether the clean path p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// link creates a hard link to another entry of the archive (a path
// relative to the extraction directory), resolved in the root.
func (x *extractor) link(pfd int, base, linkname string) error {
	rel, err := entryPath(linkname)
	if err != nil || rel == "" {
		return &extractError{fmt.Errorf("invalid hardlink %q: %w", linkname, errdefs.ErrInvalidArgument)}
	}
	target := path.Join(x.dest, rel)
	dir, _, tbase, err := x.fs.openParent(target)
	if err != nil {
		return err
	}
	defer dir.Close()
	return unix.Linkat(int(dir.Fd()), tbase, pfd, base, 0)
}

// writeFileAt creates a new regular file and fills it.
// writeFileAt creates a new regular file, fills it and returns it, still
// open, as the entry whose metadata is then set.
func writeFileAt(dirfd int, name, full string, content io.Reader) (*entry, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), full)
	if _, err := io.Copy(f, content); err != nil {
		f.Close()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &extractError{invalidArchive(err)}
		}
		return nil, err
	}
	return newEntry(f, full)
}

// setMeta sets owner, extended attributes, mode and times of the new
// entry e (base in the directory pfd), in Docker's order (chown clears
// set-id bits, so chmod comes after). All act on the inode e holds.
func (x *extractor) setMeta(e *entry, pfd int, base, full string, hdr *tar.Header) error {
	uid, gid := hdr.Uid, hdr.Gid
	if x.owner != nil {
		uid, gid = x.owner[0], x.owner[1]
	}
	if err := unix.Fchownat(int(e.f.Fd()), "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "lchown", Path: full, Err: err}
	}
	if e.isLink() {
		// No call sets a symlink's times through a handle.
		ts := []unix.Timespec{unix.NsecToTimespec(boundTime(latest(hdr.AccessTime, hdr.ModTime)).UnixNano()), unix.NsecToTimespec(boundTime(hdr.ModTime).UnixNano())}
		_ = unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		return nil
	}
	for key, value := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if err := unix.Setxattr(procPath(e.f), name, []byte(value), 0); err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return &os.PathError{Op: "setxattr", Path: full, Err: err}
		}
	}
	if err := unix.Chmod(procPath(e.f), uint32(hdr.Mode&0o7777)); err != nil {
		return &os.PathError{Op: "chmod", Path: full, Err: err}
	}
	if hdr.Typeflag != tar.TypeDir {
		return setTimes(e, latest(hdr.AccessTime, hdr.ModTime), hdr.ModTime)
	}
	return nil
}

// setTimes sets the times of the inode e holds (never a symlink's target).
func setTimes(e *entry, atime, mtime time.Time) error {
	if e.isLink() {
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(boundTime(atime).UnixNano()), unix.NsecToTimespec(boundTime(mtime).UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, procPath(e.f), ts, 0)
}

// boundTime keeps times representable, as Docker's archive does.
func boundTime(t time.Time) time.Time {
	if t.Before(time.Unix(0, 0)) || t.After(time.Unix(1<<33, 0)) {
		return time.Unix(0, 0)
	}
	return t
}

// removeAllAt removes name in the directory dirfd and, for a directory,
// everything below it, never following a symlink.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	names, err := d.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(fd, n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}
