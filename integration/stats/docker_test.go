package stats

import (
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// The real docker CLI reads stats and processes, and updates limits.
func TestDockerCLIStatsTopUpdate(t *testing.T) {
	testenv.NeedDocker(t)
	t.Parallel()
	id, name := d.RunDetached(t, busy...)
	_, created := d.CreateContainer(t, "busybox", "sleep", "100")

	r := d.Docker(t, nil, "update", "-m", "64m", "--cpus", "1.5", name)
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != name {
		t.Fatalf("docker update: %+v", r)
	}
	if got := memoryLimit(t, id); got != "67108864" {
		t.Fatalf("memory limit after docker update: %s", got)
	}
	if got := cpuQuota(t, id); got != "150000" {
		t.Fatalf("CPU quota after docker update: %s", got)
	}

	r = d.Docker(t, nil, "stats", "--no-stream", name)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.ExitCode != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID") || !strings.HasPrefix(lines[1], id[:12]) || !strings.Contains(lines[1], "/ 64MiB") {
		t.Fatalf("docker stats --no-stream: %+v", r)
	}
	r = d.Docker(t, nil, "stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}", name)
	f := strings.Fields(r.Stdout)
	if r.ExitCode != 0 || len(f) != 3 || f[0] != name || f[2] != "1" {
		t.Fatalf("docker stats --format: %+v", r)
	}
	if cpu := percent(t, f[1]); cpu < 5 || cpu > 110 {
		t.Fatalf("docker stats: CPU %% of a busy loop: %s", f[1])
	}
	// A container that is not running shows zeros, as with Docker.
	r = d.Docker(t, nil, "stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}}")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, created+" 0.00% 0B / 0B\n") || !strings.Contains(r.Stdout, name+" ") {
		t.Fatalf("docker stats -a: %+v", r)
	}

	r = d.Docker(t, nil, "top", name)
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "PID") || !strings.Contains(r.Stdout, "while :; do :; done") {
		t.Fatalf("docker top: %+v", r)
	}
	r = d.Docker(t, nil, "top", name, "-o", "pid,comm")
	if lines = strings.Split(strings.TrimSpace(r.Stdout), "\n"); r.ExitCode != 0 || len(lines) != 2 || !strings.Contains(lines[1], "sh") {
		t.Fatalf("docker top -o pid,comm: %+v", r)
	}
	if r = d.Docker(t, nil, "top", created); r.ExitCode == 0 || !strings.Contains(r.Stderr, "is not running") {
		t.Fatalf("docker top of a created container: %+v", r)
	}
}
