// Package container is Pouch's container service: the records, their
// lifecycle state machine, and the work of creating, starting, stopping and
// removing containers under their shims. It knows nothing of HTTP.
package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"github.com/pouchcontainer/pouch/runtime/shim"
)

// State is a container's lifecycle state.
type State struct {
	Status     ctypes.ContainerState
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	OOMKilled  bool
	// ManualStop is set when a user stopped or killed the container, so a
	// restart policy leaves it alone until the next start.
	ManualStop bool
	Health     *ctypes.Health `json:",omitempty"`
}

// Running reports whether a task exists (running or paused).
func (s State) Running() bool {
	return s.Status == ctypes.StateRunning || s.Status == ctypes.StatePaused
}

// Container is one container record. Fields are guarded by mu; lifecycle
// operations are serialised by op.
type Container struct {
	op sync.Mutex // serialises start, exit handling and removal
	mu sync.RWMutex
	// fs is held (read) by file operations on a running container's
	// rootfs; the exit's teardown takes it before unmounting the rootfs.
	fs sync.RWMutex

	ID             string
	Name           string
	Created        time.Time
	Image          string // the reference the user gave
	ImageID        digest.Digest
	Config         *ctypes.Config
	HostConfig     *ctypes.HostConfig
	Path           string
	Args           []string
	State          State
	RestartCount   int
	Runtime        string
	LogPath        string
	ResolvConfPath string
	HostnamePath   string
	HostsPath      string
	SnapshotKey    string
	LoggerPid      int
	Network        NetworkState
	MountPoints    []MountPoint

	dir     string // persistent record directory
	bundle  string // runtime bundle directory
	shim    *shim.Shim
	logger  *loggerProc // the logger of the current run, if this daemon started it
	restart restarter   // the restart policy's pending restart and back-off
	run     *run        // the current run, or the next one if none is running
	gone    chan struct{}
}

// run is one start-to-exit of a container. done is closed when it ends
// (the task exited and its output is fully logged, or the start failed).
type run struct {
	created  chan struct{} // closed once the run's task exists (c.shim is set)
	done     chan struct{}
	exitCode int
	err      string
}

func newRun() *run { return &run{created: make(chan struct{}), done: make(chan struct{})} }

// record is what is persisted of a container.
type record struct {
	ID             string
	Name           string
	Created        time.Time
	Image          string
	ImageID        digest.Digest
	Config         *ctypes.Config
	HostConfig     *ctypes.HostConfig
	Path           string
	Args           []string
	State          State
	RestartCount   int
	Runtime        string
	LogPath        string
	ResolvConfPath string
	HostnamePath   string
	HostsPath      string
	SnapshotKey    string
	LoggerPid      int
	Network        NetworkState
	MountPoints    []MountPoint `json:",omitempty"`
}

const recordFile = "config.json"

// save writes the record atomically. Callers hold c.mu (read or write).
func (c *Container) save() error {
	r := record{
		ID: c.ID, Name: c.Name, Created: c.Created, Image: c.Image, ImageID: c.ImageID,
		Config: c.Config, HostConfig: c.HostConfig, Path: c.Path, Args: c.Args, State: c.State,
		RestartCount: c.RestartCount, Runtime: c.Runtime, LogPath: c.LogPath,
		ResolvConfPath: c.ResolvConfPath, HostnamePath: c.HostnamePath, HostsPath: c.HostsPath,
		SnapshotKey: c.SnapshotKey, LoggerPid: c.LoggerPid, Network: c.Network, MountPoints: c.MountPoints,
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(c.dir, recordFile), b, 0o600)
}

func loadContainer(dir string) (*Container, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("container record %s: %w", dir, err)
	}
	if r.ID != filepath.Base(dir) {
		return nil, fmt.Errorf("container record %s names id %q: %w", dir, r.ID, errdefs.ErrDataLoss)
	}
	c := &Container{
		ID: r.ID, Name: r.Name, Created: r.Created, Image: r.Image, ImageID: r.ImageID,
		Config: r.Config, HostConfig: r.HostConfig, Path: r.Path, Args: r.Args, State: r.State,
		RestartCount: r.RestartCount, Runtime: r.Runtime, LogPath: r.LogPath,
		ResolvConfPath: r.ResolvConfPath, HostnamePath: r.HostnamePath, HostsPath: r.HostsPath,
		SnapshotKey: r.SnapshotKey, LoggerPid: r.LoggerPid, Network: r.Network, MountPoints: r.MountPoints,
		dir: dir, run: newRun(), gone: make(chan struct{}),
	}
	return c, nil
}

// setState updates the state under the lock and persists it.
func (c *Container) setState(fn func(*State)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.State)
	return c.save()
}

func (c *Container) state() State {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.State
}

func (c *Container) currentRun() *run {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.run
}

// endRun closes the current run with its result and prepares the next.
func (c *Container) endRun(exitCode int, errMsg string) {
	c.mu.Lock()
	r := c.run
	c.run = newRun()
	c.mu.Unlock()
	r.exitCode, r.err = exitCode, errMsg
	close(r.done)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// View is a consistent copy of a container's fields, for list and inspect.
type View struct {
	ID             string
	Name           string
	Created        time.Time
	Image          string
	ImageID        digest.Digest
	Config         *ctypes.Config
	HostConfig     *ctypes.HostConfig
	Path           string
	Args           []string
	State          State
	RestartCount   int
	Runtime        string
	LogPath        string
	ResolvConfPath string
	HostnamePath   string
	HostsPath      string
	Network        NetworkState
	MountPoints    []MountPoint
}

// Snapshot returns a consistent view of the container. Config and
// HostConfig are shared: they are never changed after create.
func (c *Container) Snapshot() View {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return View{
		ID: c.ID, Name: c.Name, Created: c.Created, Image: c.Image, ImageID: c.ImageID,
		Config: c.Config, HostConfig: c.HostConfig, Path: c.Path, Args: c.Args, State: c.State,
		RestartCount: c.RestartCount, Runtime: c.Runtime, LogPath: c.LogPath,
		ResolvConfPath: c.ResolvConfPath, HostnamePath: c.HostnamePath, HostsPath: c.HostsPath,
		Network: c.Network.clone(), MountPoints: slices.Clone(c.MountPoints),
	}
}
