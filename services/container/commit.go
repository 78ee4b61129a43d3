package container

// Changes (`docker diff`) and commit: the container's filesystem compared
// with its image's, and a new image of the difference.

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/pkg/reference"
	imagesvc "github.com/pouchcontainer/pouch/services/image"
)

// ImageCommitter writes the image a commit makes; the image service
// implements it.
type ImageCommitter interface {
	Commit(ctx context.Context, opts imagesvc.CommitOptions) (digest.Digest, error)
}

// CommitOptions is a commit request.
type CommitOptions struct {
	// Ref names the image (repository:tag); empty leaves it untagged.
	Ref             string
	Author, Comment string
	// Changes are Dockerfile instructions applied to the configuration.
	Changes []string
	// Config, when set, is the configuration to start from instead of
	// the container's; what it leaves out is taken from the container's.
	Config *ctypes.Config
	// Pause freezes a running container while its filesystem is read.
	Pause bool
}

// Changes lists what changed in the container's filesystem since it was
// created from its image, as Docker lists it: a changed or added
// directory comes before what changed in it, a deleted directory is one
// entry, and the mount points the runtime creates are left out.
func (s *Service) Changes(ctx context.Context, ref string) ([]ctypes.FilesystemChange, error) {
	c, fs, release, err := s.openFS(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer release()
	parent, closeParent, err := s.openParentFS(ctx, c)
	if err != nil {
		return nil, err
	}
	defer closeParent()
	changes, err := diffRoots(parent, fs, runtimeMountPoints(c))
	if err != nil {
		return nil, err
	}
	var out []ctypes.FilesystemChange
	for _, ch := range changes {
		out = append(out, ctypes.FilesystemChange{Kind: ch.kind, Path: ch.path})
	}
	return out, nil
}

// Commit makes an image of the container: its image plus one layer of
// what changed (unless nothing did), with the container's configuration
// and the changes, as `docker commit` does. It returns the image ID.
func (s *Service) Commit(ctx context.Context, ref string, images ImageCommitter, opts CommitOptions) (digest.Digest, error) {
	c, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	switch st := c.state(); st.Status {
	case ctypes.StateDead:
		return "", fmt.Errorf("You cannot commit container %s which is Dead: %w", c.ID, errdefs.ErrConflict)
	case ctypes.StateRemoving:
		return "", fmt.Errorf("You cannot commit container %s which is being removed: %w", c.ID, errdefs.ErrConflict)
	}
	c.mu.RLock()
	current, imageID := c.Config, c.ImageID
	c.mu.RUnlock()
	base := opts.Config
	if base == nil {
		base = current
	}
	cfg, err := imagesvc.ApplyChanges(base, opts.Changes)
	if err != nil {
		return "", err
	}
	mergeCommitConfig(cfg, current)
	if opts.Pause && c.state().Status == ctypes.StateRunning {
		if err := s.Pause(ctx, c.ID); err == nil {
			defer func() {
				if err := s.Unpause(context.WithoutCancel(ctx), c.ID); err != nil && !errdefs.IsConflict(err) {
					log.G(ctx).WithError(err).WithField("container", c.ID).Warn("unpause after commit")
				}
			}()
		} else if !errdefs.IsConflict(err) {
			return "", err
		}
	}
	c, fs, release, err := s.openFS(ctx, c.ID)
	if err != nil {
		return "", err
	}
	defer release()
	parent, closeParent, err := s.openParentFS(ctx, c)
	if err != nil {
		return "", err
	}
	defer closeParent()
	changes, err := diffRoots(parent, fs, runtimeMountPoints(c))
	if err != nil {
		return "", err
	}
	id, err := images.Commit(ctx, imagesvc.CommitOptions{
		Parent:    imageID,
		Ref:       opts.Ref,
		Config:    cfg,
		Author:    opts.Author,
		Comment:   opts.Comment,
		CreatedBy: strings.Join(current.Cmd, " "),
		Layer:     func(w io.Writer) error { return writeLayer(w, fs, changes) },
	})
	if err != nil {
		return "", err
	}
	s.publish(c, string(events.ActionCommit), map[string]string{"comment": opts.Comment, "imageID": id.String(), "imageRef": reference.Familiar(opts.Ref)})
	return id, nil
}

// mergeCommitConfig fills what the commit's configuration leaves out from
// the container's, as Docker's commit merges them.
func mergeCommitConfig(cfg, container *ctypes.Config) {
	if container == nil {
		return
	}
	if cfg.User == "" {
		cfg.User = container.User
	}
	if len(cfg.ExposedPorts) == 0 {
		cfg.ExposedPorts = container.ExposedPorts
	} else {
		for p := range container.ExposedPorts {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if len(cfg.Env) == 0 {
		cfg.Env = container.Env
	} else {
		for _, kv := range container.Env {
			k, _, _ := strings.Cut(kv, "=")
			if !slices.ContainsFunc(cfg.Env, func(u string) bool { uk, _, _ := strings.Cut(u, "="); return uk == k }) {
				cfg.Env = append(cfg.Env, kv)
			}
		}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range container.Labels {
		if _, ok := cfg.Labels[k]; !ok {
			cfg.Labels[k] = v
		}
	}
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = container.Cmd
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = container.Entrypoint
		}
	}
	if container.Healthcheck != nil && cfg.Healthcheck == nil {
		cfg.Healthcheck = container.Healthcheck
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = container.WorkingDir
	}
	if len(cfg.Volumes) == 0 {
		cfg.Volumes = container.Volumes
	} else {
		for k, v := range container.Volumes {
			cfg.Volumes[k] = v
		}
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = container.StopSignal
	}
}

// openParentFS mounts a read-only view of the container's image (the
// parent of its snapshot). The view carries no lease or label: were a
// collection to remove it meanwhile, the mount would stay valid.
func (s *Service) openParentFS(ctx context.Context, c *Container) (*rootFS, func(), error) {
	info, err := s.snapshots.Stat(ctx, c.SnapshotKey)
	if err != nil {
		return nil, nil, fmt.Errorf("root filesystem of %s: %w", c.ID, err)
	}
	if info.Parent == "" {
		return nil, func() {}, nil // an image without layers
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	key := c.ID + "-parent-view-" + hex.EncodeToString(b)
	mounts, err := s.snapshots.View(ctx, key, info.Parent)
	if err != nil {
		return nil, nil, fmt.Errorf("view of the image of %s: %w", c.ID, err)
	}
	removeView := func() {
		if err := s.snapshots.Remove(context.WithoutCancel(ctx), key); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("snapshot", key).Warn("remove image view")
		}
	}
	dir, unmount, err := s.mountTemp(c.ID, mounts)
	if err != nil {
		removeView()
		return nil, nil, err
	}
	fs, err := openRootFS(dir, nil)
	if err != nil {
		unmount()
		removeView()
		return nil, nil, err
	}
	return fs, func() {
		fs.Close()
		unmount()
		removeView()
	}, nil
}

// runtimeMountPoints are the paths the runtime creates in a container's
// root to mount over (Docker keeps them in an init layer, out of diffs
// and commits): left out of the changes while they are empty.
func runtimeMountPoints(c *Container) map[string]bool {
	m := map[string]bool{}
	for _, p := range []string{"/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console",
		"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv"} {
		m[p] = true
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if hc := c.HostConfig; hc != nil {
		for p := range hc.Tmpfs {
			m[path.Clean(p)] = true
		}
		for _, b := range hc.Binds {
			if parts := strings.Split(b, ":"); len(parts) >= 2 {
				m[path.Clean(parts[1])] = true
			}
		}
		for _, mnt := range hc.Mounts {
			if mnt.Target != "" {
				m[path.Clean(mnt.Target)] = true
			}
		}
	}
	return m
}

// change is one entry of a diff.
type change struct {
	kind ctypes.ChangeType
	path string
}

// diffRoots compares the root filesystem now with the image's (old may be
// nil: an empty image), with the rules of Docker's ChangesDirs: a file
// changed when its type, mode, owner, device, capabilities or (not for
// directories) size or modification time did; a directory with changes
// inside is listed as changed before them. Both trees are walked through
// handles, never following a symlink.
func diffRoots(old, cur *rootFS, skip map[string]bool) ([]change, error) {
	newRoot, err := pathrs.Reopen(cur.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer newRoot.Close()
	var oldRoot *os.File
	if old != nil {
		if oldRoot, err = pathrs.Reopen(old.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC); err != nil {
			return nil, err
		}
		defer oldRoot.Close()
	}
	d := &differ{skip: skip}
	if err := d.walk(oldRoot, newRoot, "/", true); err != nil {
		return nil, err
	}
	return d.changes, nil
}

type differ struct {
	skip    map[string]bool
	changes []change
}

func readNames(dir *os.File) (map[string]bool, error) {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}

// walk compares the directory newDir (at dirPath) with oldDir (nil when
// the image has no directory there). listed says the directory itself is
// already listed as added or changed.
func (d *differ) walk(oldDir, newDir *os.File, dirPath string, listed bool) error {
	newNames, err := readNames(newDir)
	if err != nil {
		return err
	}
	oldNames := map[string]bool{}
	if oldDir != nil {
		if oldNames, err = readNames(oldDir); err != nil {
			return err
		}
	}
	all := make([]string, 0, len(newNames)+len(oldNames))
	for n := range newNames {
		all = append(all, n)
	}
	for n := range oldNames {
		if !newNames[n] {
			all = append(all, n)
		}
	}
	sort.Strings(all)
	start := len(d.changes)
	for _, name := range all {
		p := path.Join(dirPath, name)
		var nst, ost unix.Stat_t
		inNew := newNames[name] && unix.Fstatat(int(newDir.Fd()), name, &nst, unix.AT_SYMLINK_NOFOLLOW) == nil
		inOld := oldNames[name] && unix.Fstatat(int(oldDir.Fd()), name, &ost, unix.AT_SYMLINK_NOFOLLOW) == nil
		switch {
		case !inNew && inOld:
			d.changes = append(d.changes, change{ctypes.ChangeDelete, p})
			continue
		case !inNew:
			continue
		}
		listedChild := false
		if !inOld {
			if d.skip[p] && emptyEntry(newDir, name, &nst) {
				continue
			}
			d.changes = append(d.changes, change{ctypes.ChangeAdd, p})
			listedChild = true
		} else if changed(oldDir, newDir, name, &ost, &nst) {
			d.changes = append(d.changes, change{ctypes.ChangeModify, p})
			listedChild = true
		}
		if nst.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		nd, err := openDirAt(newDir, name, &nst)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return err
		}
		var od *os.File
		if inOld && ost.Mode&unix.S_IFMT == unix.S_IFDIR {
			if od, err = openDirAt(oldDir, name, &ost); err != nil {
				nd.Close()
				return err
			}
		}
		err = d.walk(od, nd, p, listedChild)
		nd.Close()
		if od != nil {
			od.Close()
		}
		if err != nil {
			return err
		}
	}
	if len(d.changes) > start && !listed {
		d.changes = slices.Insert(d.changes, start, change{ctypes.ChangeModify, dirPath})
	}
	return nil
}

// openDirAt opens the directory name in dir, making sure it is the one
// that was stat-ed (a directory swapped for a symlink is not followed).
func openDirAt(dir *os.File, name string, st *unix.Stat_t) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, unix.ENOENT // replaced meanwhile
		}
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil || got.Ino != st.Ino || got.Dev != st.Dev {
		f.Close()
		return nil, unix.ENOENT
	}
	return f, nil
}

func emptyEntry(dir *os.File, name string, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return st.Size == 0
	case unix.S_IFDIR:
		d, err := openDirAt(dir, name, st)
		if err != nil {
			return false
		}
		defer d.Close()
		names, _ := d.Readdirnames(1)
		return len(names) == 0
	}
	return false
}

// changed applies Docker's rules to two stats of one path.
func changed(oldDir, newDir *os.File, name string, o, n *unix.Stat_t) bool {
	if o.Mode != n.Mode || o.Uid != n.Uid || o.Gid != n.Gid || o.Rdev != n.Rdev {
		return true
	}
	if n.Mode&unix.S_IFMT != unix.S_IFDIR {
		if o.Size != n.Size || !sameFsTime(o.Mtim, n.Mtim) {
			return true
		}
	}
	if n.Mode&unix.S_IFMT == unix.S_IFREG {
		return !slices.Equal(capability(oldDir, name), capability(newDir, name))
	}
	return false
}

func capability(dir *os.File, name string) []byte {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(procPath(dir)+"/"+name, "security.capability", buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// sameFsTime compares modification times, a truncated nanosecond part
// (from an archive) matching any.
func sameFsTime(a, b unix.Timespec) bool {
	return a == b || (a.Sec == b.Sec && (a.Nsec == 0 || b.Nsec == 0))
}

// writeLayer writes the changes as a layer: the entries added or changed
// (a directory without its contents: they are listed themselves) and a
// whiteout for each deletion.
func writeLayer(w io.Writer, fs *rootFS, changes []change) error {
	tw := tar.NewWriter(w)
	t := &tarWalker{fs: fs, tw: tw, seen: map[[2]uint64]string{}}
	for _, ch := range changes {
		name := strings.TrimPrefix(ch.path, "/")
		if ch.kind == ctypes.ChangeDelete {
			now := time.Now().UTC()
			hdr := &tar.Header{
				Typeflag: tar.TypeReg,
				Name:     strings.TrimPrefix(path.Join(path.Dir(ch.path), ".wh."+path.Base(ch.path)), "/"),
				ModTime:  now, AccessTime: now, ChangeTime: now,
				Format: tar.FormatPAX,
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		e, err := fs.entryAt(ch.path)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed since (a container committed without pausing)
			}
			return err
		}
		err = t.write(e, name)
		e.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}
