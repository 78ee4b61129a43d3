// Package system serves /_ping, /version and /info.
package system

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/version"
)

// Counts is what the router needs to know of containers and images.
type Counts interface {
	Counts(ctx context.Context) (total, running, paused, stopped, images int)
}

// Static is the daemon's configuration shown in /info.
type Static struct {
	ID             string
	HomeDir        string
	Debug          bool
	Runtimes       map[string]string
	DefaultRuntime string
	CgroupVersion  string
}

// Router serves the system endpoints.
type Router struct {
	counts Counts
	static Static
}

// New returns the router.
func New(counts Counts, static Static) *Router { return &Router{counts: counts, static: static} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Path: "/_ping", Handler: ping},
		{Method: "HEAD", Path: "/_ping", Handler: ping},
		{Method: "GET", Path: "/version", Handler: r.version},
		{Method: "GET", Path: "/info", Handler: r.info},
	}
}

func ping(_ context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	w.Header().Set("Builder-Version", "1")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write([]byte("OK"))
	}
	return nil
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (r *Router) version(_ context.Context, w http.ResponseWriter, _ *http.Request, _ map[string]string) error {
	v := system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "Pouch Engine"},
		Version:       version.Version,
		APIVersion:    server.APIVersion,
		MinAPIVersion: server.MinAPIVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GitCommit:     version.GitCommit,
		GoVersion:     runtime.Version(),
		KernelVersion: kernelVersion(),
		Components: []system.ComponentVersion{{
			Name: "Engine", Version: version.Version,
			Details: map[string]string{"ApiVersion": server.APIVersion, "MinAPIVersion": server.MinAPIVersion, "Os": runtime.GOOS, "Arch": runtime.GOARCH},
		}},
	}
	return server.WriteJSON(w, http.StatusOK, v)
}

func (r *Router) info(ctx context.Context, w http.ResponseWriter, _ *http.Request, _ map[string]string) error {
	total, running, paused, stopped, images := r.counts.Counts(ctx)
	hostname, _ := os.Hostname()
	var si unix.Sysinfo_t
	_ = unix.Sysinfo(&si)
	runtimes := map[string]system.RuntimeWithStatus{}
	for name, path := range r.static.Runtimes {
		runtimes[name] = system.RuntimeWithStatus{Runtime: system.Runtime{Path: path}}
	}
	info := system.Info{
		ID:                 r.static.ID,
		Containers:         total,
		ContainersRunning:  running,
		ContainersPaused:   paused,
		ContainersStopped:  stopped,
		Images:             images,
		Driver:             "overlayfs",
		DriverStatus:       [][2]string{},
		MemoryLimit:        true,
		SwapLimit:          true,
		CPUCfsPeriod:       true,
		CPUCfsQuota:        true,
		CPUShares:          true,
		CPUSet:             true,
		PidsLimit:          true,
		Debug:              r.static.Debug,
		NGoroutines:        runtime.NumGoroutine(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		LoggingDriver:      "json-file",
		CgroupDriver:       "cgroupfs",
		CgroupVersion:      r.static.CgroupVersion,
		KernelVersion:      kernelVersion(),
		OperatingSystem:    operatingSystem(),
		OSType:             "linux",
		Architecture:       archName(),
		NCPU:               runtime.NumCPU(),
		MemTotal:           int64(si.Totalram) * int64(si.Unit),
		DockerRootDir:      r.static.HomeDir,
		Name:               hostname,
		Labels:             []string{},
		ServerVersion:      version.Version,
		Runtimes:           runtimes,
		DefaultRuntime:     r.static.DefaultRuntime,
		LiveRestoreEnabled: true,
		SecurityOptions:    []string{"name=seccomp,profile=builtin"},
		Warnings:           []string{},
	}
	return server.WriteJSON(w, http.StatusOK, info)
}

func archName() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

func operatingSystem() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range splitLines(string(b)) {
		if len(line) > 12 && line[:12] == "PRETTY_NAME=" {
			v := line[12:]
			if len(v) >= 2 && v[0] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return "Linux"
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
