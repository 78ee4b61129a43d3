// Package daemon is pouchd's composition root: it opens the stores, builds
// the services, wires them together explicitly and serves the API.
package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/daemon/config"
	authrouter "github.com/pouchcontainer/pouch/daemon/router/auth"
	containerrouter "github.com/pouchcontainer/pouch/daemon/router/container"
	eventsrouter "github.com/pouchcontainer/pouch/daemon/router/events"
	imagerouter "github.com/pouchcontainer/pouch/daemon/router/image"
	networkrouter "github.com/pouchcontainer/pouch/daemon/router/network"
	systemrouter "github.com/pouchcontainer/pouch/daemon/router/system"
	volumerouter "github.com/pouchcontainer/pouch/daemon/router/volume"
	"github.com/pouchcontainer/pouch/daemon/server"
	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/pkg/registry"
	"github.com/pouchcontainer/pouch/runtime/shim"
	containersvc "github.com/pouchcontainer/pouch/services/container"
	eventsvc "github.com/pouchcontainer/pouch/services/events"
	imagesvc "github.com/pouchcontainer/pouch/services/image"
	netsvc "github.com/pouchcontainer/pouch/services/network"
	volumesvc "github.com/pouchcontainer/pouch/services/volume"
)

// Run runs pouchd until ctx is cancelled (SIGTERM), then stops serving
// and leaves containers running.
func Run(ctx context.Context, cfg config.Config) error {
	setupLogging(cfg.Debug)
	ctx = imagestore.WithNamespace(ctx)
	for _, d := range []string{cfg.HomeDir, cfg.ExecRootDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return err
		}
	}
	unlock, err := lockHome(cfg.HomeDir)
	if err != nil {
		return err
	}
	defer unlock()

	runtimes, err := cfg.Runtimes(exec.LookPath)
	if err != nil {
		return err
	}
	shimBin, err := findBinary("pouch-shim")
	if err != nil {
		return err
	}
	loggerBin, err := findBinary("pouch-logger")
	if err != nil {
		return err
	}

	store, err := imagestore.Open(ctx, filepath.Join(cfg.HomeDir, "image"))
	if err != nil {
		return err
	}
	defer store.Close()
	registries, err := registry.New(registry.Config{
		CertsDir:        cfg.CertsDir,
		Insecure:        cfg.InsecureRegistries,
		Mirrors:         cfg.RegistryMirrors,
		DefaultRegistry: cfg.DefaultRegistry,
	})
	if err != nil {
		return err
	}
	gc := imagesvc.NewCollector(store, time.Second)
	defer gc.Close()
	bus := eventsvc.New(eventsvc.DefaultHistory)
	defer bus.Close()
	images := imagesvc.New(store, gc)
	images.SetRegistries(registries)
	images.SetEvents(bus)
	if err := images.Recover(ctx); err != nil {
		return fmt.Errorf("recover image store: %w", err)
	}

	eventsPath := filepath.Join(cfg.ExecRootDir, "events.sock")
	containers, err := containersvc.New(containersvc.Config{
		Root:           filepath.Join(cfg.HomeDir, "containers"),
		StateDir:       filepath.Join(cfg.ExecRootDir, "c"),
		Runtimes:       runtimes,
		DefaultRuntime: cfg.DefaultRuntime,
		RuntimeRoot:    filepath.Join(cfg.ExecRootDir, "runtime"),
		LoggerBinary:   loggerBin,
		CgroupParent:   cfg.CgroupParent,
	}, images, store.Snapshotter, shim.NewManager(shim.Config{
		Binary:        shimBin,
		SocketDir:     filepath.Join(cfg.ExecRootDir, "s"),
		EventsAddress: eventsPath,
		Debug:         cfg.Debug,
	}), gc)
	if err != nil {
		return err
	}
	images.SetUsage(containers)
	networks, err := newNetworks(cfg)
	if err != nil {
		return err
	}
	defer networks.Close()
	networks.SetEvents(bus)
	containers.SetEvents(bus)
	containers.SetNetworks(networks)
	volumes, err := volumesvc.New(volumesvc.Config{Root: filepath.Join(cfg.HomeDir, "volumes")})
	if err != nil {
		return fmt.Errorf("open volumes: %w", err)
	}
	volumes.SetEvents(bus)
	containers.SetVolumes(volumes)
	events, err := shim.ServeEvents(eventsPath, containers.HandleEvent)
	if err != nil {
		return fmt.Errorf("serve shim events: %w", err)
	}
	defer events.Close()
	if err := containers.Restore(ctx); err != nil {
		return fmt.Errorf("restore containers: %w", err)
	}
	volumes.UnmountUnused(ctx)             // what no running container took back
	defer containers.CleanupCgroupParent() // where no container runs any more
	defer containers.Close()

	srv := server.New(
		systemrouter.New(counts{containers, images}, systemrouter.Static{
			ID: daemonID(cfg.HomeDir), HomeDir: cfg.HomeDir, Debug: cfg.Debug,
			Runtimes: runtimes, DefaultRuntime: cfg.DefaultRuntime, CgroupVersion: cgroupVersion(),
		}),
		containerrouter.New(containers, images),
		containerrouter.NewExec(containers),
		containerrouter.NewStats(containers),
		containerrouter.NewArchive(containers, images),
		imagerouter.New(images, containers),
		networkrouter.New(networks, containers),
		volumerouter.New(volumes),
		authrouter.New(registries),
		eventsrouter.New(bus),
	)
	srv.RequestContext = imagestore.WithNamespace
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, addr := range cfg.Listen {
		l, err := listen(addr)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func(l net.Listener) { errc <- srv.Serve(l) }(l)
	}
	log.G(ctx).WithField("listen", cfg.Listen).Info("pouchd is serving")
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			return err
		}
	}
	log.G(ctx).Info("pouchd is stopping; containers keep running")
	bus.Close() // event streams end, or Shutdown would wait for them
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// newNetworks opens the network service with the default bridge of the
// daemon's flags.
func newNetworks(cfg config.Config) (*netsvc.Service, error) {
	bip, err := netip.ParsePrefix(cfg.BIP)
	if err != nil {
		return nil, fmt.Errorf("invalid --bip %q: want an address with its prefix, such as 192.168.5.1/24", cfg.BIP)
	}
	var fixed netip.Prefix
	if cfg.FixedCIDR != "" {
		if fixed, err = netip.ParsePrefix(cfg.FixedCIDR); err != nil {
			return nil, fmt.Errorf("invalid --fixed-cidr %q: want a CIDR such as 192.168.5.128/25", cfg.FixedCIDR)
		}
	}
	if cfg.BridgeName == "" || len(cfg.BridgeName) > 15 {
		return nil, fmt.Errorf("invalid --bridge-name %q: 1 to 15 characters", cfg.BridgeName)
	}
	if cfg.MTU < 0 || (cfg.MTU > 0 && cfg.MTU < 68) {
		return nil, fmt.Errorf("invalid --mtu %d", cfg.MTU)
	}
	return netsvc.New(netsvc.Config{
		Root:       filepath.Join(cfg.HomeDir, "network"),
		StateDir:   filepath.Join(cfg.ExecRootDir, "net"),
		BridgeName: cfg.BridgeName,
		BIP:        bip,
		FixedCIDR:  fixed,
		MTU:        cfg.MTU,
		IPTables:   cfg.IPTables,
		IPForward:  cfg.IPForward,
	})
}

func setupLogging(debug bool) {
	logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339Nano})
	// The content store warns about fsverity on every open: keep the
	// library quiet unless debugging.
	if debug {
		_ = log.SetLevel("debug")
	} else {
		_ = log.SetLevel("info")
	}
}

// lockHome takes an exclusive lock on the home directory, so a second
// pouchd on the same home refuses to start.
func lockHome(home string) (func(), error) {
	path := filepath.Join(home, "pouchd.pid")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		pid := strings.TrimSpace(string(b))
		return nil, fmt.Errorf("another pouchd (pid %s) is already running with home directory %s", pid, home)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		f.Close()
	}, nil
}

// findBinary looks beside pouchd's own executable, then on PATH.
func findBinary(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found beside pouchd or on PATH", name)
	}
	return filepath.Abs(p)
}

// listen opens one API socket. Unix sockets are 0660 and owned by root.
func listen(addr string) (net.Listener, error) {
	proto, path, ok := strings.Cut(addr, "://")
	if !ok {
		return nil, fmt.Errorf("invalid listen address %q: want unix:///path or tcp://host:port", addr)
	}
	switch proto {
	case "unix":
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		old := syscall.Umask(0o177)
		l, err := net.Listen("unix", path)
		syscall.Umask(old)
		if err != nil {
			return nil, err
		}
		if err := os.Chown(path, 0, 0); err != nil {
			l.Close()
			return nil, err
		}
		if err := os.Chmod(path, 0o660); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	case "tcp":
		return net.Listen("tcp", path)
	}
	return nil, fmt.Errorf("invalid listen address %q: unsupported protocol %s", addr, proto)
}

func daemonID(home string) string {
	sum := sha256.Sum256([]byte(home))
	return hex.EncodeToString(sum[:16])
}

func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "2"
	}
	return "1"
}

type counts struct {
	containers *containersvc.Service
	images     *imagesvc.Service
}

func (c counts) Counts(ctx context.Context) (total, running, paused, stopped, images int) {
	for _, ctr := range c.containers.All() {
		total++
		switch ctr.Snapshot().State.Status {
		case ctypes.StateRunning:
			running++
		case ctypes.StatePaused:
			paused++
		default:
			stopped++
		}
	}
	if imgs, err := c.images.List(ctx); err == nil {
		images = len(imgs)
	}
	return
}
