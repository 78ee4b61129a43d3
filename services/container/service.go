package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	cmount "github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/runtime/shim"
	imagesvc "github.com/pouchcontainer/pouch/services/image"
)

// Images is what the container service needs of the image service.
type Images interface {
	Get(ctx context.Context, ref string) (*imagesvc.Image, error)
}

// GC schedules a background garbage collection of the image store.
type GC interface{ Schedule() }

// Config configures the service.
type Config struct {
	Root           string            // records: <Root>/<id>/
	StateDir       string            // bundles: <StateDir>/<id>/
	Runtimes       map[string]string // name -> OCI runtime binary
	DefaultRuntime string
	RuntimeRoot    string // runtime state roots: <RuntimeRoot>/<name>
	LoggerBinary   string
	CgroupParent   string // e.g. "pouch"; each container gets <parent>/<id>
}

// Service manages containers.
type Service struct {
	cfg       Config
	images    Images
	snapshots snapshots.Snapshotter
	shims     *shim.Manager
	gc        GC
	networks  Networks
	execs     execs
	events    EventPublisher
	volumes   Volumes

	mu    sync.RWMutex
	byID  map[string]*Container
	names map[string]string // name -> id

	wg       sync.WaitGroup // background exit watchers and removals
	closing  atomic.Bool    // the daemon is stopping: shim connections close on purpose
	stopping chan struct{}  // closed when the daemon stops: pending restarts are dropped
	restored chan struct{}  // closed once Restore is done: restarts wait for it
}

// New returns the service; call Restore before serving.
func New(cfg Config, images Images, sn snapshots.Snapshotter, shims *shim.Manager, gc GC) (*Service, error) {
	for _, dir := range []string{cfg.Root, cfg.StateDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	if _, ok := cfg.Runtimes[cfg.DefaultRuntime]; !ok {
		return nil, fmt.Errorf("default runtime %q is not configured: %w", cfg.DefaultRuntime, errdefs.ErrInvalidArgument)
	}
	return &Service{
		cfg: cfg, images: images, snapshots: sn, shims: shims, gc: gc,
		byID: map[string]*Container{}, names: map[string]string{},
		stopping: make(chan struct{}),
		restored: make(chan struct{}),
	}, nil
}

// SetNetworks gives the service its networks; without, containers get
// only host, none and container network modes.
func (s *Service) SetNetworks(n Networks) { s.networks = n }

// Get finds a container by full ID, name, or unique ID prefix.
func (s *Service) Get(ref string) (*Container, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.getLocked(ref)
}

func (s *Service) getLocked(ref string) (*Container, error) {
	if ref == "" {
		return nil, fmt.Errorf("no container name or ID given: %w", errdefs.ErrInvalidArgument)
	}
	if c, ok := s.byID[ref]; ok {
		return c, nil
	}
	if id, ok := s.names[strings.TrimPrefix(ref, "/")]; ok {
		if c, ok := s.byID[id]; ok {
			return c, nil
		}
		// The name is reserved by a create still in progress.
		return nil, fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	var found *Container
	for id, c := range s.byID {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("multiple containers found with provided prefix: %s: %w", ref, errdefs.ErrInvalidArgument)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	return found, nil
}

// All returns every container, newest first.
func (s *Service) All() []*Container {
	s.mu.RLock()
	out := make([]*Container, 0, len(s.byID))
	for _, c := range s.byID {
		out = append(out, c)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ImageUsers implements the image service's Usage.
func (s *Service) ImageUsers(id digest.Digest) (all, running int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.byID {
		c.mu.RLock()
		if c.ImageID == id {
			all++
			if c.State.Running() {
				running++
			}
		}
		c.mu.RUnlock()
	}
	return all, running
}

// Restore loads every record and reconciles it with its shim: running
// containers are picked up again with the same PID, exits that happened
// while the daemon was away are recorded, dead shims are cleaned up.
func (s *Service) Restore(ctx context.Context) error {
	s.removeTempMounts(ctx)
	entries, err := os.ReadDir(s.cfg.Root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := loadContainer(filepath.Join(s.cfg.Root, e.Name()))
		if err != nil {
			if os.IsNotExist(err) {
				// A create that did not finish: nothing refers to it.
				log.G(ctx).WithField("id", e.Name()).Warn("removing incomplete container directory")
				s.removeLeftovers(ctx, e.Name(), e.Name())
				continue
			}
			log.G(ctx).WithError(err).Warn("skipping unreadable container record")
			continue
		}
		c.bundle = filepath.Join(s.cfg.StateDir, c.ID)
		if c.State.Status == ctypes.StateRemoving {
			// The daemon stopped while removing it: finish the job.
			if _, err := os.Stat(c.bundle); err == nil {
				_, _ = s.shims.Cleanup(ctx, c.ID, c.bundle)
			}
			s.removeLeftovers(ctx, c.ID, c.SnapshotKey)
			continue
		}
		s.byID[c.ID] = c
		s.names[c.Name] = c.ID
	}
	if s.volumes != nil {
		// The volume service learns who uses which volume from the records.
		for _, c := range s.All() {
			for _, mp := range c.MountPoints {
				if mp.Type == mount.TypeVolume {
					s.volumes.Reference(mp.Name, c.ID)
				}
			}
		}
	}
	for _, c := range s.All() {
		s.reconnect(ctx, c)
	}
	if s.networks != nil {
		running := map[string]bool{}
		for _, c := range s.All() {
			if st := c.state(); st.Running() {
				running[c.ID] = true
			}
		}
		s.networks.Cleanup(ctx, running)
	}
	close(s.restored)
	s.restartOnBoot(ctx)
	return nil
}

func (s *Service) reconnect(ctx context.Context, c *Container) {
	st := c.state()
	if !st.Running() {
		// A run whose exit was recorded but whose teardown the daemon
		// did not finish leaves its shim, runc's state and the bundle.
		if _, err := os.Stat(c.bundle); err == nil {
			s.cleanupStaleRun(ctx, c)
		}
		return // a pending restart is restartOnBoot's
	}
	l := log.G(ctx).WithField("container", c.ID)
	sh, err := s.shims.Connect(ctx, c.ID, c.bundle)
	if err == nil {
		state, serr := sh.State(ctx)
		if serr == nil && (state.Status == "running" || state.Status == "paused" || state.Status == "pausing") {
			c.mu.Lock()
			c.shim = sh
			close(c.run.created)
			if state.Status == "paused" {
				c.State.Status = "paused"
			} else {
				c.State.Status = "running"
			}
			_ = c.save()
			c.mu.Unlock()
			s.restoreNetwork(ctx, c)
			s.remountVolumes(ctx, c)
			s.monitorHealth(c, c.currentRun())
			l.Debug("reconnected to running container")
			s.watch(c, sh)
			return
		}
		if serr == nil {
			c.mu.Lock()
			c.shim = sh
			c.mu.Unlock()
			l.Info("container exited while the daemon was away")
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handleExit(context.WithoutCancel(ctx), c, state.Exit)
			}()
			return
		}
		sh.Close()
	}
	// The shim is gone: let its delete action clean runc's state and tell
	// us how the container ended.
	exit, cerr := s.shims.Cleanup(ctx, c.ID, c.bundle)
	if cerr != nil {
		l.WithError(cerr).Warn("cleaning up dead shim")
		exit = &shim.Exit{Status: 255}
	}
	l.Info("shim of container was gone; recorded its exit")
	s.handleExit(context.WithoutCancel(ctx), c, *exit)
}

// removeTempMounts unmounts and removes the snapshots of stopped
// containers that file operations mounted (.fs-*) when the daemon went
// down during one.
func (s *Service) removeTempMounts(ctx context.Context) {
	entries, err := os.ReadDir(s.cfg.StateDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".fs-") {
			continue
		}
		dir := filepath.Join(s.cfg.StateDir, e.Name())
		if err := cmount.UnmountAll(dir, 0); err != nil {
			_ = cmount.UnmountAll(dir, unix.MNT_DETACH)
		}
		// Never RemoveAll: were the unmount to fail, that would empty the
		// container's filesystem.
		if err := os.Remove(dir); err != nil {
			log.G(ctx).WithError(err).WithField("dir", dir).Warn("removing a leftover mount point")
		}
	}
}

// cleanupStaleRun finishes the teardown of a run that ended while the
// daemon went down: the shim (if it still lives) deletes the task and
// exits, or its delete action cleans runc's state; then the rootfs and
// bundle go.
func (s *Service) cleanupStaleRun(ctx context.Context, c *Container) {
	l := log.G(ctx).WithField("container", c.ID)
	l.Info("finishing the teardown of a run that ended while the daemon was away")
	if sh, err := s.shims.Connect(ctx, c.ID, c.bundle); err == nil {
		_, _ = sh.Delete(ctx)
		_ = sh.Shutdown(ctx)
	} else if _, err := s.shims.Cleanup(ctx, c.ID, c.bundle); err != nil {
		l.WithError(err).Debug("cleaning up the stale run's shim")
	}
	_ = cmount.UnmountAll(filepath.Join(c.bundle, "rootfs"), 0)
	_ = os.RemoveAll(c.bundle)
	s.removeCgroups(c.ID)
	c.mu.Lock()
	c.Network.SandboxKey, c.Network.Endpoints = "", nil
	_ = c.save()
	c.mu.Unlock()
}

// background is the context of work the service does on its own (exit
// handling, auto-removal): the store's namespace, no deadline.
func (s *Service) background() context.Context {
	return imagestore.WithNamespace(context.Background())
}

// Wait waits for background work (exit handling, auto-removal) to finish.
func (s *Service) Wait() { s.wg.Wait() }

// HandleEvent takes an event a shim published. Exits are handled by the
// watcher of each task (the shim's Wait is the source of truth); OOM kills
// are only known from events.
func (s *Service) HandleEvent(ev shim.Event) {
	if !ev.OOM {
		return
	}
	s.mu.RLock()
	c := s.byID[ev.ContainerID]
	s.mu.RUnlock()
	if c != nil {
		_ = c.setState(func(st *State) { st.OOMKilled = true })
	}
}

// Close lets go of every shim, leaving the containers running, and waits
// for background work.
func (s *Service) Close() {
	s.closing.Store(true)
	close(s.stopping)
	for _, c := range s.All() {
		c.mu.Lock()
		if c.shim != nil {
			c.shim.Close()
		}
		c.mu.Unlock()
	}
	s.wg.Wait()
}
