package volume

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/services/events"
	"github.com/pouchcontainer/pouch/volume/local"
)

// Config configures the service.
type Config struct {
	Root string // <home>/volumes: one directory per volume
}

// Service manages volumes and the containers using them.
type Service struct {
	root *local.Root

	mu      sync.Mutex
	volumes map[string]*entry
	// refs: volume name -> IDs of the containers referencing it. Kept by
	// name, whether or not the volume exists (the container service
	// references at start what its records say).
	refs map[string]map[string]bool

	pruning atomic.Bool
	events  events.Publisher // nil publishes nothing (see SetEvents)
}

// entry is a volume with its mount state.
type entry struct {
	v    *Volume
	opts local.Options
	// mounted: the filesystem of a tmpfs or device volume is mounted on
	// its data directory; users are the containers that mounted it.
	mounted bool
	users   map[string]bool
	// busy is non-nil while its filesystem is being mounted or unmounted
	// (without s.mu: a slow NFS or device mount must not hold up every
	// other volume); it is closed when that is done.
	busy chan struct{}
}

// New opens the volumes root and loads the volumes found there.
func New(cfg Config) (*Service, error) {
	ctx := context.Background()
	if cfg.Root == "" {
		return nil, errors.New("volume service: no root directory")
	}
	root, err := local.Open(ctx, cfg.Root)
	if err != nil {
		return nil, err
	}
	s := &Service{root: root, volumes: map[string]*entry{}, refs: map[string]map[string]bool{}}
	names, skipped, err := root.Names()
	if err != nil {
		return nil, err
	}
	for _, n := range skipped {
		log.G(ctx).WithField("path", filepath.Join(root.Path(), n)).Warn("not a volume: ignored")
	}
	for _, name := range names {
		e, err := s.load(name)
		if err != nil {
			log.G(ctx).WithError(err).WithField("volume", name).Warn("volume not loaded")
			continue
		}
		s.volumes[name] = e
	}
	return s, nil
}

// load reads one volume. A directory with a data directory but no record
// (a volume copied from Docker's /var/lib/docker/volumes, say) is adopted
// as a plain volume.
func (s *Service) load(name string) (*entry, error) {
	b, err := s.root.ReadRecord(name)
	var v *Volume
	switch {
	case err == nil:
		if v, err = decodeRecord(name, b); err != nil {
			return nil, fmt.Errorf("record %s: %w", filepath.Join(s.root.Dir(name), local.RecordFile), err)
		}
	case os.IsNotExist(err):
		fi, err := os.Lstat(s.root.DataPath(name))
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("no record and no %s directory", local.DataDir)
		}
		v = &Volume{Name: name, Driver: local.DriverName, Labels: map[string]string{}, CreatedAt: fi.ModTime().UTC()}
		rec, err := encodeRecord(v)
		if err != nil {
			return nil, err
		}
		if err := s.root.WriteRecord(name, rec); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	opts, err := local.ParseOptions(v.Options)
	if err != nil {
		return nil, err
	}
	v.Mountpoint = s.root.DataPath(name)
	e := &entry{v: v, opts: opts, users: map[string]bool{}}
	if opts.NeedsMount() {
		// Still mounted from before the daemon restarted: the container
		// service tells which running containers use it (Mount).
		if e.mounted, err = local.Mounted(v.Mountpoint); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Create creates a volume, or returns the existing one of that name, as
// Docker does, unless the request asks for other driver options (409).
func (s *Service) Create(ctx context.Context, o CreateOptions) (*Volume, error) {
	v, _, err := s.create(ctx, o)
	return v, err
}

// Ensure returns the volume name (a new anonymous volume when name is
// empty), creating it when missing; created tells whether it did. It is
// what the container service needs for -v and --mount.
func (s *Service) Ensure(ctx context.Context, containerID, name, driver string, opts, labels map[string]string) (actual, mountpoint string, created bool, err error) {
	v, created, err := s.create(ctx, CreateOptions{Name: name, Driver: driver, Options: opts, Labels: labels, Reference: containerID})
	if err != nil {
		return "", "", false, err
	}
	return v.Name, v.Mountpoint, created, nil
}

func (s *Service) create(ctx context.Context, o CreateOptions) (*Volume, bool, error) {
	name, anonymous := o.Name, o.Anonymous || o.Name == ""
	if name == "" {
		name = local.NewName()
	}
	if o.Driver != "" && o.Driver != local.DriverName {
		// Docker's words; Pouch has only the local driver.
		return nil, false, fmt.Errorf("create %s: error looking up volume plugin %s: plugin %q not found: %w",
			name, o.Driver, o.Driver, errdefs.ErrInvalidArgument)
	}
	if err := local.ValidateName(name); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	opts, err := local.ParseOptions(o.Options)
	if err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	labels := maps.Clone(o.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if anonymous {
		labels[local.AnonymousLabel] = ""
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.volumes[name]; ok {
		if len(o.Options) > 0 && !maps.Equal(o.Options, e.v.Options) {
			return nil, false, fmt.Errorf("create %s: volume name must be unique: volume %s already exists with other options (%s): %w",
				name, name, e.opts, errdefs.ErrConflict)
		}
		s.referenceLocked(name, o.Reference)
		return e.v, false, nil
	}
	v := &Volume{
		Name: name, Driver: local.DriverName, Labels: labels, Options: orNil(maps.Clone(o.Options)),
		CreatedAt: time.Now().UTC(), Anonymous: anonymous, Mountpoint: s.root.DataPath(name),
	}
	rec, err := encodeRecord(v)
	if err != nil {
		return nil, false, err
	}
	if err := s.root.Create(name, rec); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	s.volumes[name] = &entry{v: v, opts: opts, users: map[string]bool{}}
	s.referenceLocked(name, o.Reference)
	log.G(ctx).WithField("volume", name).WithField("options", opts).Debug("volume created")
	s.publishLocked(eventtypes.ActionCreate, name)
	return v, true, nil
}

// Get returns a volume by name.
func (s *Service) Get(name string) (*Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.volumes[name]
	if !ok {
		return nil, errNoSuchVolume("get", name)
	}
	return e.v, nil
}

// List returns every volume, by name.
func (s *Service) List() []*Volume {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Volume, 0, len(s.volumes))
	for _, n := range sortedKeys(s.volumes) {
		out = append(out, s.volumes[n].v)
	}
	return out
}

// Reference records that a container uses the volume: a referenced volume
// is not removed nor pruned. Referencing twice is referencing once.
func (s *Service) Reference(name, containerID string) {
	s.mu.Lock()
	s.referenceLocked(name, containerID)
	s.mu.Unlock()
}

func (s *Service) referenceLocked(name, containerID string) {
	if containerID == "" {
		return
	}
	if s.refs[name] == nil {
		s.refs[name] = map[string]bool{}
	}
	s.refs[name][containerID] = true
}

// Dereference drops a container's reference (the container is removed).
func (s *Service) Dereference(name, containerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refs[name], containerID)
	if len(s.refs[name]) == 0 {
		delete(s.refs, name)
	}
}

// Usage returns the IDs of the containers referencing the volume, sorted.
func (s *Service) Usage(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.refs[name])
}

// Mount makes a volume's data available to a container about to start and
// returns its host path, the data directory. A tmpfs or device volume is
// mounted there by its first user.
// MountedByOthers reports whether containers other than containerID have
// the volume mounted (running containers using it).
func (s *Service) MountedByOthers(name, containerID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.volumes[name]
	if e == nil {
		return false
	}
	for id := range e.users {
		if id != containerID {
			return true
		}
	}
	return false
}

func (s *Service) Mount(ctx context.Context, name, containerID string) (string, error) {
	for {
		s.mu.Lock()
		e, ok := s.volumes[name]
		if !ok {
			s.mu.Unlock()
			return "", errNoSuchVolume("mount", name)
		}
		if busy := e.busy; busy != nil {
			s.mu.Unlock()
			select {
			case <-busy:
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if !e.opts.NeedsMount() || e.mounted {
			if containerID != "" {
				e.users[containerID] = true
			}
			s.mu.Unlock()
			return e.v.Mountpoint, nil
		}
		busy := make(chan struct{})
		e.busy = busy
		s.mu.Unlock()
		err := local.Mount(e.opts, e.v.Mountpoint)
		s.mu.Lock()
		e.busy = nil
		close(busy)
		if err != nil {
			s.mu.Unlock()
			return "", fmt.Errorf("mount volume %s: %w", name, err)
		}
		e.mounted = true
		if containerID != "" {
			e.users[containerID] = true
		}
		s.mu.Unlock()
		log.G(ctx).WithField("volume", name).WithField("options", e.opts).Debug("volume mounted")
		return e.v.Mountpoint, nil
	}
}

// Unmount releases a container's use of a volume (its run ended); the last
// user of a tmpfs or device volume unmounts it.
func (s *Service) Unmount(ctx context.Context, name, containerID string) error {
	for {
		s.mu.Lock()
		e, ok := s.volumes[name]
		if !ok {
			s.mu.Unlock()
			return errNoSuchVolume("unmount", name)
		}
		if busy := e.busy; busy != nil {
			s.mu.Unlock()
			<-busy // a mount or unmount takes its time; this one waits
			continue
		}
		delete(e.users, containerID)
		if len(e.users) > 0 || !e.mounted {
			s.mu.Unlock()
			return nil
		}
		busy := make(chan struct{})
		e.busy = busy
		s.mu.Unlock()
		err := local.Unmount(e.v.Mountpoint)
		s.mu.Lock()
		e.busy = nil
		close(busy)
		if err == nil {
			e.mounted = false
		}
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("unmount volume %s: %w", e.v.Name, err)
		}
		log.G(ctx).WithField("volume", e.v.Name).Debug("volume unmounted")
		return nil
	}
}

// UnmountUnused unmounts the tmpfs and device volumes no container uses:
// what a daemon restart left mounted for containers no longer running.
// Call it once the running containers have mounted their volumes again.
func (s *Service) UnmountUnused(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range sortedKeys(s.volumes) {
		e := s.volumes[n]
		if e.mounted && len(e.users) == 0 && e.busy == nil {
			if err := s.unmountLocked(ctx, e); err != nil {
				log.G(ctx).WithError(err).WithField("volume", n).Warn("unmounting unused volume")
			}
		}
	}
}

func (s *Service) unmountLocked(ctx context.Context, e *entry) error {
	if err := local.Unmount(e.v.Mountpoint); err != nil {
		return fmt.Errorf("unmount volume %s: %w", e.v.Name, err)
	}
	e.mounted = false
	log.G(ctx).WithField("volume", e.v.Name).Debug("volume unmounted")
	return nil
}

// Remove removes a volume and its data. A volume a container references,
// running or not, is refused (409), as in Docker; there is no forcing
// that: `docker volume rm -f` only ignores a volume that does not exist,
// which is the caller's to do.
func (s *Service) Remove(ctx context.Context, name string) error {
	s.mu.Lock()
	e, ok := s.volumes[name]
	if !ok {
		s.mu.Unlock()
		return errNoSuchVolume("remove", name)
	}
	detached, err := s.detachLocked(ctx, e)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.root.Purge(detached); err != nil {
		// The volume is gone already; its data is deleted at the next start.
		log.G(ctx).WithError(err).WithField("volume", name).Warn("deleting volume data")
	}
	return nil
}

// detachLocked takes an unused volume out of the service and the root; the
// caller purges the returned directory without holding the lock.
func (s *Service) detachLocked(ctx context.Context, e *entry) (string, error) {
	name := e.v.Name
	if users := s.inUseLocked(e); len(users) > 0 {
		return "", fmt.Errorf("remove %s: volume is in use - [%s]: %w", name, strings.Join(users, ", "), errdefs.ErrConflict)
	}
	if e.busy != nil {
		return "", fmt.Errorf("remove %s: volume is being mounted or unmounted: %w", name, errdefs.ErrConflict)
	}
	if e.mounted || e.opts.NeedsMount() {
		if err := s.unmountLocked(ctx, e); err != nil {
			return "", fmt.Errorf("remove %s: %w", name, err)
		}
	}
	detached, err := s.root.Detach(name)
	if err != nil {
		return "", fmt.Errorf("remove %s: %w", name, err)
	}
	delete(s.volumes, name)
	log.G(ctx).WithField("volume", name).Debug("volume removed")
	s.publishLocked(eventtypes.ActionDestroy, name)
	return detached, nil
}

// inUseLocked lists the containers referencing or mounting the volume.
func (s *Service) inUseLocked(e *entry) []string {
	users := maps.Clone(s.refs[e.v.Name])
	if users == nil {
		users = map[string]bool{}
	}
	maps.Copy(users, e.users)
	return sortedKeys(users)
}

// Prune removes the volumes o selects that no container uses, and reports
// them with the disk space their data took. One prune runs at a time.
func (s *Service) Prune(ctx context.Context, o PruneOptions) (PruneReport, error) {
	rep := PruneReport{Deleted: []string{}}
	if !s.pruning.CompareAndSwap(false, true) {
		return rep, fmt.Errorf("a prune operation is already running: %w", errdefs.ErrConflict)
	}
	defer s.pruning.Store(false)
	s.mu.Lock()
	var candidates []string
	for _, n := range sortedKeys(s.volumes) {
		if s.prunableLocked(s.volumes[n], o) {
			candidates = append(candidates, n)
		}
	}
	s.mu.Unlock()
	for _, n := range candidates {
		if ctx.Err() != nil {
			break
		}
		s.mu.Lock()
		e, ok := s.volumes[n]
		if !ok || !s.prunableLocked(e, o) {
			// Removed or taken meanwhile.
			s.mu.Unlock()
			continue
		}
		detached, err := s.detachLocked(ctx, e)
		s.mu.Unlock()
		if err != nil {
			log.G(ctx).WithError(err).WithField("volume", n).Warn("could not prune volume")
			continue
		}
		size, err := local.Size(ctx, filepath.Join(detached, local.DataDir))
		if err != nil {
			log.G(ctx).WithError(err).WithField("volume", n).Warn("could not determine the size of a pruned volume")
		}
		if err := s.root.Purge(detached); err != nil {
			log.G(ctx).WithError(err).WithField("volume", n).Warn("deleting volume data")
		}
		rep.Deleted = append(rep.Deleted, n)
		rep.SpaceReclaimed += uint64(size)
	}
	events.Publish(s.publisher(), events.VolumeEvent(eventtypes.ActionPrune, "", map[string]string{
		"reclaimed": fmt.Sprint(rep.SpaceReclaimed),
	}))
	return rep, nil
}

func (s *Service) prunableLocked(e *entry, o PruneOptions) bool {
	v := e.v
	if len(s.inUseLocked(e)) > 0 || len(v.Options) > 0 {
		return false
	}
	if _, anon := v.Labels[local.AnonymousLabel]; !anon && !o.All {
		return false
	}
	if !matchLabels(v.Labels, o.Labels) {
		return false
	}
	if len(o.NotLabels) > 0 && matchLabels(v.Labels, o.NotLabels) {
		return false
	}
	return true
}

// Size is the disk space a volume's data takes (for `system df`); -1 for a
// tmpfs or device volume, as Docker reports volumes with options.
func (s *Service) Size(ctx context.Context, name string) (int64, error) {
	s.mu.Lock()
	e, ok := s.volumes[name]
	s.mu.Unlock()
	if !ok {
		return 0, errNoSuchVolume("get", name)
	}
	if e.opts.NeedsMount() {
		return -1, nil
	}
	return local.Size(ctx, e.v.Mountpoint)
}
