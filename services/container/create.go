package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/pouchcontainer/pouch/pkg/namesgen"
	imagesvc "github.com/pouchcontainer/pouch/services/image"
)

var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// CreateOptions is a create request.
type CreateOptions struct {
	Name             string
	Config           *ctypes.Config
	HostConfig       *ctypes.HostConfig
	NetworkingConfig *network.NetworkingConfig
}

// Create creates a container from an image. Nothing is left behind when it
// fails: the name, snapshot and directory are all rolled back.
func (s *Service) Create(ctx context.Context, opts CreateOptions) (_ *Container, retErr error) {
	if opts.Config == nil {
		return nil, fmt.Errorf("config cannot be empty in order to create a container: %w", errdefs.ErrInvalidArgument)
	}
	hc := opts.HostConfig
	if hc == nil {
		hc = &ctypes.HostConfig{}
	}
	if err := validateHostConfig(hc); err != nil {
		return nil, err
	}
	networks, err := s.resolveNetworks(hc, opts.NetworkingConfig)
	if err != nil {
		return nil, err
	}
	if extra, err := s.expandHosts(hc.ExtraHosts); err != nil {
		return nil, err
	} else if _, err := hostsFile("", netip.Addr{}, extra); err != nil {
		return nil, err
	}
	runtimeName := hc.Runtime
	if runtimeName == "" {
		runtimeName = s.cfg.DefaultRuntime
	}
	if _, ok := s.cfg.Runtimes[runtimeName]; !ok {
		return nil, fmt.Errorf("unknown runtime %q: %w", runtimeName, errdefs.ErrInvalidArgument)
	}
	img, err := s.images.Get(ctx, opts.Config.Image)
	if err != nil {
		return nil, err
	}
	cfg, path, args, err := mergeImageConfig(opts.Config, img)
	if err != nil {
		return nil, err
	}
	for p := range hc.PortBindings {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = network.PortSet{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	id := newID()
	if cfg.Hostname == "" && !hc.NetworkMode.IsHost() {
		cfg.Hostname = id[:12]
	}
	name, err := s.reserveName(id, opts.Name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			s.releaseName(name)
		}
	}()

	dir := filepath.Join(s.cfg.Root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			s.removeLeftovers(context.WithoutCancel(ctx), id, id)
		}
	}()
	labels := map[string]string{"containerd.io/gc.root": time.Now().UTC().Format(time.RFC3339)}
	if _, err := s.snapshots.Prepare(ctx, id, img.ChainID().String(), snapshots.WithLabels(labels)); err != nil {
		return nil, fmt.Errorf("prepare rootfs of %s: %w", id, err)
	}
	c := &Container{
		ID: id, Name: name, Created: time.Now().UTC(), Image: opts.Config.Image, ImageID: img.ID,
		Config: cfg, HostConfig: hc, Path: path, Args: args,
		State:       State{Status: ctypes.StateCreated},
		Runtime:     runtimeName,
		LogPath:     filepath.Join(dir, id+"-json.log"),
		SnapshotKey: id,
		Network:     NetworkState{Networks: networks},
		dir:         dir, bundle: filepath.Join(s.cfg.StateDir, id),
		run: newRun(), gone: make(chan struct{}),
	}
	mps, err := s.parseMounts(hc, cfg.Volumes)
	if err != nil {
		return nil, err
	}
	undoVolumes, err := s.createVolumes(ctx, id, hc, mps)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			undoVolumes()
		}
	}()
	c.MountPoints = mps
	if err := s.writeNetworkFiles(c); err != nil {
		return nil, err
	}
	if err := c.save(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.byID[id] = c
	s.mu.Unlock()
	s.publish(c, "create", nil)
	return c, nil
}

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (s *Service) reserveName(id, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reserveNameLocked(id, name)
}

// reserveNameLocked is reserveName for callers holding s.mu.
func (s *Service) reserveNameLocked(id, name string) (string, error) {
	if name == "" {
		for i := 0; ; i++ {
			n := namesgen.Name(i)
			if _, taken := s.names[n]; !taken {
				s.names[n] = id
				return n, nil
			}
		}
	}
	if !validName.MatchString(name) {
		return "", fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, errdefs.ErrInvalidArgument)
	}
	name = strings.TrimPrefix(name, "/")
	if other, taken := s.names[name]; taken {
		return "", fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name: %w", name, other, errdefs.ErrConflict)
	}
	s.names[name] = id
	return name, nil
}

func (s *Service) releaseName(name string) {
	s.mu.Lock()
	delete(s.names, name)
	s.mu.Unlock()
}

// mergeImageConfig fills what the request left out from the image, as
// Docker does, and works out the process to run.
func mergeImageConfig(in *ctypes.Config, img *imagesvc.Image) (*ctypes.Config, string, []string, error) {
	cfg := *in
	ic := img.Config.Config
	cfg.Env = mergeEnv(ic.Env, in.Env)
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = ic.WorkingDir
	}
	if cfg.User == "" {
		cfg.User = ic.User
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ic.StopSignal
	}
	cfg.Healthcheck = mergeHealthcheck(in.Healthcheck, ic.Healthcheck)
	if len(ic.Volumes) > 0 {
		vols := map[string]struct{}{}
		for v := range ic.Volumes {
			vols[v] = struct{}{}
		}
		for v := range in.Volumes {
			vols[v] = struct{}{}
		}
		cfg.Volumes = vols
	}
	if err := validateHealthcheck(cfg.Healthcheck); err != nil {
		return nil, "", nil, err
	}
	if len(ic.ExposedPorts) > 0 {
		ports := network.PortSet{}
		for k := range ic.ExposedPorts {
			if p, err := network.ParsePort(k); err == nil {
				ports[p] = struct{}{}
			}
		}
		for p := range in.ExposedPorts {
			ports[p] = struct{}{}
		}
		cfg.ExposedPorts = ports
	}
	if len(ic.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range ic.Labels {
			labels[k] = v
		}
		for k, v := range in.Labels {
			labels[k] = v
		}
		cfg.Labels = labels
	}
	// An explicit entrypoint (even empty) replaces the image's and drops its Cmd.
	if in.Entrypoint == nil {
		cfg.Entrypoint = ic.Entrypoint
		if len(in.Cmd) == 0 {
			cfg.Cmd = ic.Cmd
		}
	}
	argv := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(argv) == 0 || argv[0] == "" {
		return nil, "", nil, fmt.Errorf("no command specified: %w", errdefs.ErrInvalidArgument)
	}
	return &cfg, argv[0], argv[1:], nil
}

func mergeEnv(base, over []string) []string {
	out := append([]string{}, base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func validateHostConfig(hc *ctypes.HostConfig) error {
	switch hc.RestartPolicy.Name {
	case "", "no", "always", "unless-stopped":
		if hc.RestartPolicy.MaximumRetryCount != 0 {
			return fmt.Errorf("maximum retry count cannot be used with restart policy '%s': %w", hc.RestartPolicy.Name, errdefs.ErrInvalidArgument)
		}
		if hc.RestartPolicy.Name == "" {
			hc.RestartPolicy.Name = "no"
		}
	case "on-failure":
		if hc.RestartPolicy.MaximumRetryCount < 0 {
			return fmt.Errorf("invalid value for maximum retry count: %d: %w", hc.RestartPolicy.MaximumRetryCount, errdefs.ErrInvalidArgument)
		}
	default:
		return fmt.Errorf("invalid restart policy '%s': %w", hc.RestartPolicy.Name, errdefs.ErrInvalidArgument)
	}
	if hc.AutoRemove && hc.RestartPolicy.Name != "no" {
		return fmt.Errorf("can't create 'AutoRemove' container with restart policy: %w", errdefs.ErrInvalidArgument)
	}
	if hc.ShmSize < 0 {
		return fmt.Errorf("SHM size can not be less than 0: %w", errdefs.ErrInvalidArgument)
	}
	if hc.Memory != 0 && hc.Memory < 6*1024*1024 {
		return fmt.Errorf("minimum memory limit allowed is 6MB: %w", errdefs.ErrInvalidArgument)
	}
	if hc.NanoCPUs < 0 {
		return fmt.Errorf("invalid CPU count: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// writeNetworkFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf. The hosts file gets the container's address at start.
func (s *Service) writeNetworkFiles(c *Container) error {
	c.HostnamePath = filepath.Join(c.dir, "hostname")
	c.HostsPath = filepath.Join(c.dir, "hosts")
	c.ResolvConfPath = filepath.Join(c.dir, "resolv.conf")
	hostname := c.Config.Hostname
	extra, err := s.expandHosts(c.HostConfig.ExtraHosts)
	if err != nil {
		return err
	}
	hosts, err := hostsFile(hostname, netip.Addr{}, extra)
	if err != nil {
		return err
	}
	if c.HostConfig.NetworkMode.IsHost() {
		if hostname == "" {
			hostname, _ = os.Hostname()
		}
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			lines, _ := extraHostLines(extra)
			hosts = string(b) + lines
		}
	}
	embedded := false
	if ownsNetwork(c.HostConfig.NetworkMode) && s.networks != nil {
		if n, err := s.networks.Get(string(c.HostConfig.NetworkMode)); err == nil {
			embedded = n.UserDefined()
		}
	}
	files := map[string]string{
		c.HostnamePath:   hostname + "\n",
		c.HostsPath:      hosts,
		c.ResolvConfPath: resolvConfFor(c.HostConfig, embedded),
	}
	for path, data := range files {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// RemoveOptions tunes Remove.
type RemoveOptions struct {
	Force         bool
	RemoveVolumes bool // rm -v: its anonymous volumes go too
}

// Remove removes a container. A running one is refused unless forced, in
// which case it is killed first.
func (s *Service) Remove(ctx context.Context, ref string, opts RemoveOptions) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if c.state().Status == ctypes.StateRestarting {
		if !opts.Force {
			return fmt.Errorf("cannot remove container %q: container is restarting: stop the container before removing or force remove: %w", c.Name, errdefs.ErrConflict)
		}
		c.stopPendingRestart(false)
	}
	if c.state().Running() {
		if !opts.Force {
			return fmt.Errorf("cannot remove container %q: container is running: stop the container before removing or force remove: %w", c.Name, errdefs.ErrConflict)
		}
		if err := s.Kill(ctx, c.ID, syscall.SIGKILL); err != nil && !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
			return err
		}
		select {
		case <-c.currentRunDone():
		case <-time.After(30 * time.Second):
			return fmt.Errorf("container %s did not stop after SIGKILL: %w", c.ID, errdefs.ErrUnavailable)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.remove(ctx, c, opts.RemoveVolumes)
}

// runningRunDone is currentRunDone for a stop: a container waiting to be
// restarted has no run in progress to wait for.
func (c *Container) runningRunDone() <-chan struct{} {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.State.Running() {
		return c.run.done
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}

// currentRunDone returns the done channel of the run in progress; for a
// stopped container it is already closed.
func (c *Container) currentRunDone() <-chan struct{} {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.State.Running() || c.State.Status == "restarting" {
		return c.run.done
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}

func (s *Service) remove(ctx context.Context, c *Container, removeVolumes bool) error {
	c.op.Lock()
	defer c.op.Unlock()
	select {
	case <-c.gone:
		return nil // removed meanwhile (auto-remove)
	default:
	}
	if c.state().Running() {
		return fmt.Errorf("cannot remove container %q: container is running: %w", c.Name, errdefs.ErrConflict)
	}
	if err := c.setState(func(st *State) { st.Status = ctypes.StateRemoving }); err != nil {
		return err
	}
	// Volumes first: a crash after the record is gone would leave its
	// anonymous volumes unreferenced for good.
	s.releaseVolumes(ctx, c, removeVolumes)
	s.removeLeftovers(ctx, c.ID, c.SnapshotKey)
	s.unlist(c)
	s.publish(c, "destroy", nil)
	s.gc.Schedule()
	return nil
}

// unlist marks the container as being removed (a daemon that stops now
// finishes the removal at its next start), frees its name and ID, and
// releases those waiting for its removal. Callers hold c.op.
func (s *Service) unlist(c *Container) {
	_ = c.setState(func(st *State) { st.Status = ctypes.StateRemoving })
	s.mu.Lock()
	delete(s.byID, c.ID)
	if s.names[c.Name] == c.ID {
		delete(s.names, c.Name)
	}
	s.mu.Unlock()
	s.execs.drop(c.ID)
	close(c.gone)
}

// removeLeftovers removes everything a container may have on disk.
func (s *Service) removeLeftovers(ctx context.Context, id, snapshotKey string) {
	bundle := filepath.Join(s.cfg.StateDir, id)
	_ = mount.UnmountAll(filepath.Join(bundle, "rootfs"), 0)
	if err := os.RemoveAll(bundle); err != nil {
		log.G(ctx).WithError(err).Warn("remove bundle")
	}
	if snapshotKey != "" {
		if err := s.snapshots.Remove(ctx, snapshotKey); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).Warn("remove container snapshot")
		}
	}
	s.removeCgroups(id)
	if err := os.RemoveAll(filepath.Join(s.cfg.Root, id)); err != nil {
		log.G(ctx).WithError(err).Warn("remove container directory")
	}
}

// Rename renames a container.
func (s *Service) Rename(ref, newName string) error {
	if newName == "" {
		return fmt.Errorf("Neither old nor new names may be empty: %w", errdefs.ErrInvalidArgument)
	}
	newName = strings.TrimPrefix(newName, "/")
	// One critical section: two renames, or a rename and a removal, must
	// not leave a name reserved for nobody.
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.getLocked(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.Name
	if old == newName {
		return fmt.Errorf("Renaming a container with the same name as its current name: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := s.reserveNameLocked(c.ID, newName); err != nil {
		return err
	}
	c.Name = newName
	if err := c.save(); err != nil {
		c.Name = old
		delete(s.names, newName)
		return err
	}
	if s.names[old] == c.ID {
		delete(s.names, old)
	}
	if s.networks != nil {
		s.networks.Rename(c.ID, newName)
	}
	c.mu.Unlock()
	s.publish(c, "rename", map[string]string{"oldName": "/" + old})
	c.mu.Lock() // for the deferred unlock
	return nil
}
