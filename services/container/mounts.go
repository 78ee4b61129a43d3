package container

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Volumes is what the container service needs of the volume service.
type Volumes interface {
	// Ensure returns the name of the volume, creating it when missing
	// (an empty name creates a new anonymous volume), referenced for the
	// container in the same step, so that no prune or removal can take a
	// new volume before its container holds it. created tells whether
	// this call created it.
	Ensure(ctx context.Context, containerID, name, driver string, opts, labels map[string]string) (actual, mountpoint string, created bool, err error)
	// Mount makes the volume's data available to a starting container
	// and returns its host path; Unmount undoes it when the run ends.
	Mount(ctx context.Context, name, containerID string) (string, error)
	Unmount(ctx context.Context, name, containerID string) error
	// MountedByOthers reports whether running containers other than
	// containerID use the volume.
	MountedByOthers(name, containerID string) bool
	// Reference and Dereference track which containers use a volume (a
	// volume in use is not removed).
	Reference(name, containerID string)
	Dereference(name, containerID string)
	// Remove removes a volume no container references.
	Remove(ctx context.Context, name string) error
}

// SetVolumes gives the service its volumes.
func (s *Service) SetVolumes(v Volumes) { s.volumes = v }

// MountPoint is one of a container's mounts, as persisted.
type MountPoint struct {
	Type        mount.Type
	Name        string `json:",omitempty"` // the volume
	Driver      string `json:",omitempty"`
	Source      string `json:",omitempty"` // a bind's host path
	Destination string
	Mode        string `json:",omitempty"` // the options as given (-v), for inspect
	RW          bool
	Propagation mount.Propagation   `json:",omitempty"`
	Anonymous   bool                `json:",omitempty"` // removed with the container by rm -v
	NoCopy      bool                `json:",omitempty"` // no copy of the image's content into a new volume
	Tmpfs       *mount.TmpfsOptions `json:",omitempty"`
	// CreateSource: a -v bind whose missing host path is created, as
	// Docker does (a --mount bind's must exist).
	CreateSource bool `json:",omitempty"`
}

// parseMounts turns -v (Binds), --mount (Mounts), --volumes-from and the
// image's VOLUMEs into the container's mount points, in Docker's order
// of precedence: explicit mounts first, then volumes-from, then the
// image's volumes for destinations not already taken.
func (s *Service) parseMounts(hc *ctypes.HostConfig, imageVolumes map[string]struct{}) ([]MountPoint, error) {
	var out []MountPoint
	taken := map[string]bool{}
	add := func(mp MountPoint) error {
		if taken[mp.Destination] {
			return fmt.Errorf("Duplicate mount point: %s: %w", mp.Destination, errdefs.ErrInvalidArgument)
		}
		taken[mp.Destination] = true
		out = append(out, mp)
		return nil
	}
	for _, b := range hc.Binds {
		mp, err := parseBind(b)
		if err != nil {
			return nil, err
		}
		if err := add(mp); err != nil {
			return nil, err
		}
	}
	for _, m := range hc.Mounts {
		mp, err := parseMountSpec(m)
		if err != nil {
			return nil, err
		}
		if err := add(mp); err != nil {
			return nil, err
		}
	}
	for dst := range hc.Tmpfs {
		if taken[path.Clean(dst)] {
			return nil, fmt.Errorf("Duplicate mount point: %s: %w", path.Clean(dst), errdefs.ErrInvalidArgument)
		}
	}
	for _, vf := range hc.VolumesFrom {
		ref, mode, _ := strings.Cut(vf, ":")
		switch mode {
		case "", "ro", "rw":
		default:
			return nil, fmt.Errorf("invalid mode for --volumes-from %q: want ro or rw: %w", vf, errdefs.ErrInvalidArgument)
		}
		other, err := s.Get(ref)
		if err != nil {
			if errdefs.IsNotFound(err) {
				return nil, fmt.Errorf("volumes-from: no such container: %s: %w", ref, errdefs.ErrInvalidArgument)
			}
			return nil, err
		}
		other.mu.RLock()
		mps := slices.Clone(other.MountPoints)
		other.mu.RUnlock()
		for _, mp := range mps {
			if mp.Type == mount.TypeTmpfs || taken[mp.Destination] {
				continue
			}
			switch mode {
			case "ro":
				mp.RW = false
			case "rw":
				mp.RW = true
			}
			mp.Anonymous = false // not the other container's to remove
			mp.CreateSource = false
			taken[mp.Destination] = true
			out = append(out, mp)
		}
	}
	dsts := make([]string, 0, len(imageVolumes))
	for d := range imageVolumes {
		dsts = append(dsts, d)
	}
	sort.Strings(dsts)
	for _, d := range dsts {
		d = path.Clean(d)
		if _, tmpfs := hc.Tmpfs[d]; taken[d] || tmpfs {
			continue
		}
		if !path.IsAbs(d) {
			continue
		}
		taken[d] = true
		out = append(out, MountPoint{Type: mount.TypeVolume, Destination: d, RW: true, Anonymous: true, Driver: "local"})
	}
	return out, nil
}

// parseBind reads a -v value: [SOURCE:]DESTINATION[:OPTIONS].
func parseBind(v string) (MountPoint, error) {
	bad := func(format string, args ...any) (MountPoint, error) {
		return MountPoint{}, fmt.Errorf("invalid volume specification: '%s': "+format+": %w", append(append([]any{v}, args...), errdefs.ErrInvalidArgument)...)
	}
	parts := strings.Split(v, ":")
	var src, dst, opts string
	switch len(parts) {
	case 1:
		dst = parts[0]
	case 2:
		if path.IsAbs(parts[1]) || !path.IsAbs(parts[0]) {
			src, dst = parts[0], parts[1]
		} else {
			dst, opts = parts[0], parts[1]
		}
	case 3:
		src, dst, opts = parts[0], parts[1], parts[2]
	default:
		return bad("too many colons")
	}
	if dst == "" {
		return bad("empty destination")
	}
	if len(parts) > 1 && src == "" && path.IsAbs(parts[1]) {
		return bad("empty source")
	}
	if !path.IsAbs(dst) {
		return bad("invalid mount config: the container path must be absolute")
	}
	if dst == "/" {
		return bad("invalid mount config: the destination cannot be /")
	}
	mp := MountPoint{Destination: path.Clean(dst), RW: true, Mode: opts}
	switch {
	case src == "":
		mp.Type, mp.Anonymous, mp.Driver = mount.TypeVolume, true, "local"
	case path.IsAbs(src):
		mp.Type, mp.Source, mp.CreateSource = mount.TypeBind, path.Clean(src), true
		mp.Propagation = mount.PropagationRPrivate
	default:
		if !validVolumeName(src) {
			return bad("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, or an absolute host path", src)
		}
		mp.Type, mp.Name, mp.Driver = mount.TypeVolume, src, "local"
	}
	if opts == "" && mp.Type == mount.TypeVolume {
		mp.Mode = "z" // as Docker shows a local volume without options
	}
	if opts != "" {
		seenMode := false
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "ro", "rw":
				if seenMode {
					return bad("conflicting modes")
				}
				seenMode, mp.RW = true, o == "rw"
			case "z", "Z":
				// SELinux relabelling: nothing to do without SELinux.
			case "nocopy":
				if mp.Type != mount.TypeVolume {
					return bad("nocopy is only for volumes")
				}
				mp.NoCopy = true
			case "shared", "rshared", "slave", "rslave", "private", "rprivate":
				if mp.Type != mount.TypeBind {
					return bad("propagation is only for bind mounts")
				}
				mp.Propagation = mount.Propagation(o)
			case "consistent", "cached", "delegated":
			default:
				return bad("unknown option %q", o)
			}
		}
	}
	return mp, nil
}

var validVolumeNameChars = func(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
}

// validVolumeName applies Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
func validVolumeName(n string) bool {
	if len(n) < 2 {
		return false
	}
	for i, r := range n {
		if !validVolumeNameChars(r) || (i == 0 && (r == '_' || r == '.' || r == '-')) {
			return false
		}
	}
	return true
}

// parseMountSpec reads a --mount (HostConfig.Mounts) entry.
func parseMountSpec(m mount.Mount) (MountPoint, error) {
	bad := func(format string, args ...any) (MountPoint, error) {
		return MountPoint{}, fmt.Errorf("invalid mount config for type %q: "+format+": %w", append(append([]any{m.Type}, args...), errdefs.ErrInvalidArgument)...)
	}
	if m.Target == "" {
		return bad("field Target must not be empty")
	}
	if !path.IsAbs(m.Target) {
		return bad("invalid mount path: '%s' mount path must be absolute", m.Target)
	}
	mp := MountPoint{Type: m.Type, Destination: path.Clean(m.Target), RW: !m.ReadOnly}
	switch m.Type {
	case mount.TypeBind:
		if m.Source == "" {
			return bad("field Source must not be empty")
		}
		if !path.IsAbs(m.Source) {
			return bad("invalid mount path: '%s' mount path must be absolute", m.Source)
		}
		if m.VolumeOptions != nil || m.TmpfsOptions != nil {
			return bad("only BindOptions are allowed")
		}
		if _, err := os.Stat(m.Source); err != nil {
			return bad("bind source path does not exist: %s", m.Source)
		}
		mp.Source, mp.Propagation = path.Clean(m.Source), mount.PropagationRPrivate
		if m.BindOptions != nil && m.BindOptions.Propagation != "" {
			if !slices.Contains(mount.Propagations, m.BindOptions.Propagation) {
				return bad("invalid propagation mode: %s", m.BindOptions.Propagation)
			}
			mp.Propagation = m.BindOptions.Propagation
		}
	case mount.TypeVolume:
		if m.BindOptions != nil || m.TmpfsOptions != nil {
			return bad("only VolumeOptions are allowed")
		}
		if m.Source != "" && !validVolumeName(m.Source) {
			return bad("invalid volume name %q", m.Source)
		}
		mp.Name, mp.Driver, mp.Anonymous, mp.Mode = m.Source, "local", m.Source == "", "z"
		if o := m.VolumeOptions; o != nil {
			mp.NoCopy = o.NoCopy
			if o.Subpath != "" {
				return bad("volume subpaths are not supported")
			}
			if o.DriverConfig != nil && o.DriverConfig.Name != "" && o.DriverConfig.Name != "local" {
				return bad("volume driver %q is not supported", o.DriverConfig.Name)
			}
		}
	case mount.TypeTmpfs:
		if m.Source != "" {
			return bad("field Source must not be specified")
		}
		if m.BindOptions != nil || m.VolumeOptions != nil {
			return bad("only TmpfsOptions are allowed")
		}
		if o := m.TmpfsOptions; o != nil {
			if o.SizeBytes < 0 {
				return bad("invalid tmpfs size %d", o.SizeBytes)
			}
			cp := *o
			mp.Tmpfs = &cp
		} else {
			mp.Tmpfs = &mount.TmpfsOptions{}
		}
	default:
		return bad("mount type %q is not supported", m.Type)
	}
	return mp, nil
}

// tmpfsMode is a tmpfs's octal mode. The docker CLI sends the octal bits
// as they are (01770 for "1770"), Go's os.FileMode flags mean the same.
func tmpfsMode(m os.FileMode) uint32 {
	mode := uint32(m) & 0o7777
	if m&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	return mode
}

// volumeOptions returns a --mount volume's driver options and labels.
func volumeOptions(hc *ctypes.HostConfig, dst string) (map[string]string, map[string]string) {
	for _, m := range hc.Mounts {
		if m.Type == mount.TypeVolume && path.Clean(m.Target) == dst && m.VolumeOptions != nil {
			var opts map[string]string
			if m.VolumeOptions.DriverConfig != nil {
				opts = m.VolumeOptions.DriverConfig.Options
			}
			return opts, m.VolumeOptions.Labels
		}
	}
	return nil, nil
}

// createVolumes gives every volume mount point its volume (creating named
// ones that do not exist and anonymous ones) and references them for the
// container. It returns an undo for a create that fails later.
func (s *Service) createVolumes(ctx context.Context, id string, hc *ctypes.HostConfig, mps []MountPoint) (func(), error) {
	var created, referenced []string
	undo := func() {
		for _, n := range referenced {
			s.volumes.Dereference(n, id)
		}
		for _, n := range created {
			if err := s.volumes.Remove(context.WithoutCancel(ctx), n); err != nil {
				log.G(ctx).WithError(err).WithField("volume", n).Warn("removing a volume of a failed create")
			}
		}
	}
	for i := range mps {
		mp := &mps[i]
		if mp.Type == mount.TypeBind && mp.CreateSource {
			// -v creates a missing host path, as Docker does; only that
			// path, as a directory.
			if _, err := os.Lstat(mp.Source); os.IsNotExist(err) {
				if err := os.MkdirAll(mp.Source, 0o755); err != nil {
					undo()
					return nil, fmt.Errorf("create bind source %s: %w", mp.Source, err)
				}
			}
		}
		if mp.Type != mount.TypeVolume {
			continue
		}
		if s.volumes == nil {
			undo()
			return nil, fmt.Errorf("volumes are not available: %w", errdefs.ErrNotImplemented)
		}
		opts, labels := volumeOptions(hc, mp.Destination)
		name := mp.Name
		if mp.Anonymous {
			name = ""
		}
		actual, mountpoint, isNew, err := s.volumes.Ensure(ctx, id, name, mp.Driver, opts, labels)
		if err != nil {
			undo()
			return nil, err
		}
		mp.Name, mp.Source = actual, mountpoint
		referenced = append(referenced, actual)
		if isNew {
			created = append(created, actual)
		}
	}
	return undo, nil
}

// specMounts turns the mount points into OCI mounts for a start, mounting
// the volumes (and copying the image's content into new, empty ones).
// The returned release unmounts the volumes again.
func (s *Service) specMounts(ctx context.Context, c *Container, rootfs string) ([]specs.Mount, func(), error) {
	c.mu.RLock()
	mps := slices.Clone(c.MountPoints)
	id := c.ID
	c.mu.RUnlock()
	var mounted []string
	release := func() {
		for _, n := range mounted {
			if err := s.volumes.Unmount(context.WithoutCancel(ctx), n, id); err != nil {
				log.G(ctx).WithError(err).WithField("volume", n).Warn("unmounting volume")
			}
		}
	}
	var out []specs.Mount
	for _, mp := range mps {
		opts := []string{"rbind"}
		if !mp.RW {
			opts = append(opts, "ro")
		}
		switch mp.Type {
		case mount.TypeBind:
			if _, err := os.Stat(mp.Source); err != nil {
				if !mp.CreateSource || !os.IsNotExist(err) {
					release()
					return nil, nil, fmt.Errorf("invalid mount config: bind source path does not exist: %s: %w", mp.Source, errdefs.ErrInvalidArgument)
				}
				if err := os.MkdirAll(mp.Source, 0o755); err != nil {
					release()
					return nil, nil, err
				}
			}
			prop := string(mp.Propagation)
			if prop == "" {
				prop = string(mount.PropagationRPrivate)
			}
			out = append(out, specs.Mount{Destination: mp.Destination, Type: "bind", Source: mp.Source, Options: append(opts, prop)})
		case mount.TypeVolume:
			if s.volumes == nil {
				release()
				return nil, nil, fmt.Errorf("volumes are not available: %w", errdefs.ErrNotImplemented)
			}
			src, err := s.volumes.Mount(ctx, mp.Name, id)
			if err != nil {
				release()
				return nil, nil, err
			}
			mounted = append(mounted, mp.Name)
			s.publishVolume("mount", mp.Name, map[string]string{
				"container": id, "destination": mp.Destination, "driver": mp.Driver,
				"propagation": string(mp.Propagation), "read/write": strconv.FormatBool(mp.RW),
			})
			// No copy into a volume another running container uses: that
			// container could swap what the copy creates for symlinks
			// to host paths while the daemon writes (and Docker copies
			// only into a volume no one has filled yet anyway).
			if !mp.NoCopy && !s.volumes.MountedByOthers(mp.Name, id) {
				if err := copyUp(rootfs, mp.Destination, src); err != nil {
					release()
					return nil, nil, fmt.Errorf("copy the image's %s into volume %s: %w", mp.Destination, mp.Name, err)
				}
			}
			out = append(out, specs.Mount{Destination: mp.Destination, Type: "bind", Source: src, Options: append(opts, "rprivate")})
		case mount.TypeTmpfs:
			o := []string{"nosuid", "nodev", "noexec"}
			if !mp.RW {
				o = append(o, "ro")
			}
			if mp.Tmpfs != nil && mp.Tmpfs.SizeBytes > 0 {
				o = append(o, "size="+strconv.FormatInt(mp.Tmpfs.SizeBytes, 10))
			}
			if mp.Tmpfs != nil && mp.Tmpfs.Mode != 0 {
				o = append(o, "mode="+strconv.FormatUint(uint64(tmpfsMode(mp.Tmpfs.Mode)), 8))
			}
			out = append(out, specs.Mount{Destination: mp.Destination, Type: "tmpfs", Source: "tmpfs", Options: o})
		}
	}
	return out, release, nil
}

// remountVolumes takes back the volume mounts of a container that kept
// running while the daemon was away.
func (s *Service) remountVolumes(ctx context.Context, c *Container) {
	if s.volumes == nil {
		return
	}
	for _, mp := range c.MountPoints {
		if mp.Type == mount.TypeVolume {
			if _, err := s.volumes.Mount(ctx, mp.Name, c.ID); err != nil {
				log.G(ctx).WithError(err).WithField("volume", mp.Name).Warn("taking back a volume mount")
			}
		}
	}
}

// unmountVolumes releases the volumes of a run that ended.
func (s *Service) unmountVolumes(ctx context.Context, c *Container) {
	if s.volumes == nil {
		return
	}
	c.mu.RLock()
	mps := slices.Clone(c.MountPoints)
	c.mu.RUnlock()
	for _, mp := range mps {
		if mp.Type == mount.TypeVolume {
			if err := s.volumes.Unmount(ctx, mp.Name, c.ID); err != nil {
				log.G(ctx).WithError(err).WithField("volume", mp.Name).Warn("unmounting volume")
			}
			s.publishVolume("unmount", mp.Name, map[string]string{"container": c.ID, "driver": mp.Driver})
		}
	}
}

// releaseVolumes drops the container's references at removal and, with
// removeAnonymous (rm -v), removes its anonymous volumes no other
// container uses.
func (s *Service) releaseVolumes(ctx context.Context, c *Container, removeAnonymous bool) {
	if s.volumes == nil {
		return
	}
	c.mu.RLock()
	mps := slices.Clone(c.MountPoints)
	c.mu.RUnlock()
	for _, mp := range mps {
		if mp.Type != mount.TypeVolume {
			continue
		}
		s.volumes.Dereference(mp.Name, c.ID)
		if removeAnonymous && mp.Anonymous {
			if err := s.volumes.Remove(ctx, mp.Name); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
				log.G(ctx).WithError(err).WithField("volume", mp.Name).Warn("removing anonymous volume")
			}
		}
	}
}

// Mounts renders the mount points as inspect shows them.
func (v View) Mounts() []ctypes.MountPoint {
	out := make([]ctypes.MountPoint, 0, len(v.MountPoints))
	for _, mp := range v.MountPoints {
		out = append(out, ctypes.MountPoint{
			Type: mp.Type, Name: mp.Name, Source: mp.Source, Destination: mp.Destination,
			Driver: mp.Driver, Mode: mp.Mode, RW: mp.RW, Propagation: mp.Propagation,
		})
	}
	return out
}
