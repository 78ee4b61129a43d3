package container

import (
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// fakeStatsClient adds stats, top and update to the container commands'
// fake client.
type fakeStatsClient struct {
	*fakeClient
	statsFunc  func(string, client.ContainerStatsOptions) (client.ContainerStatsResult, error)
	topFunc    func(string, client.ContainerTopOptions) (client.ContainerTopResult, error)
	updateFunc func(string, client.ContainerUpdateOptions) (client.ContainerUpdateResult, error)
}

func (f *fakeStatsClient) ContainerStats(_ context.Context, id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
	if f.statsFunc == nil {
		return client.ContainerStatsResult{}, errNotImplemented
	}
	return f.statsFunc(id, o)
}

func (f *fakeStatsClient) ContainerTop(_ context.Context, id string, o client.ContainerTopOptions) (client.ContainerTopResult, error) {
	if f.topFunc == nil {
		return client.ContainerTopResult{}, errNotImplemented
	}
	return f.topFunc(id, o)
}

func (f *fakeStatsClient) ContainerUpdate(_ context.Context, id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	if f.updateFunc == nil {
		return client.ContainerUpdateResult{}, errNotImplemented
	}
	return f.updateFunc(id, o)
}

const (
	idA = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	idB = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
)

// sampleA is a running container's sample on cgroup v1: half a CPU of
// two, 64MiB used of 256MiB once the inactive page cache is left out.
func sampleA() container.StatsResponse {
	return container.StatsResponse{
		ID: idA, Name: "/web",
		CPUStats: container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: 1_500_000_000, PercpuUsage: []uint64{1, 2}},
			SystemUsage: 12_000_000_000, OnlineCPUs: 2,
		},
		PreCPUStats: container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: 1_000_000_000},
			SystemUsage: 10_000_000_000,
		},
		MemoryStats: container.MemoryStats{
			Usage: 100 << 20, Limit: 256 << 20,
			Stats: map[string]uint64{"total_inactive_file": 36 << 20, "inactive_file": 1},
		},
		Networks: map[string]container.NetworkStats{
			"eth0": {RxBytes: 1500, TxBytes: 500},
			"eth1": {RxBytes: 500, TxBytes: 500},
		},
		BlkioStats: container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{
			{Op: "Read", Value: 2_000_000}, {Op: "Write", Value: 1000}, {Op: "Total", Value: 2_001_000}, {Op: "read", Value: 1_000_000},
		}},
		PidsStats: container.PidsStats{Current: 3},
	}
}

func statsBody(t *testing.T, samples ...any) client.ContainerStatsResult {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, s := range samples {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	return client.ContainerStatsResult{Body: io.NopCloser(strings.NewReader(b.String()))}
}

func TestStatsNoStreamTable(t *testing.T) {
	var mu sync.Mutex
	var asked []client.ContainerStatsOptions
	fake := &fakeStatsClient{fakeClient: &fakeClient{}, statsFunc: func(id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
		mu.Lock()
		asked = append(asked, o)
		mu.Unlock()
		switch id {
		case "web":
			return statsBody(t, sampleA()), nil
		case "idle":
			// Not running: Docker's empty sample.
			return statsBody(t, container.StatsResponse{ID: idB, Name: "/idle"}), nil
		}
		return client.ContainerStatsResult{}, errorString("Error response from daemon: No such container: " + id)
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newStatsCommand(deps), "--no-stream", "web", "idle"); err != nil {
		t.Fatal(err)
	}
	want := "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O   PIDS\n" +
		"aaaaaaaaaaaa   web       50.00%    64MiB / 256MiB      25.00%    2kB / 1kB   3MB / 1kB   3\n" +
		"bbbbbbbbbbbb   idle      0.00%     0B / 0B             0.00%     0B / 0B     0B / 0B     0\n"
	assertEqual(t, "stdout", out.String(), want)
	// One sample over a second each, so that CPU % means something.
	for _, o := range asked {
		if o.Stream || !o.IncludePreviousSample {
			t.Errorf("asked %+v, want one sample with its previous one", o)
		}
	}

	// Chosen columns, untruncated IDs, JSON.
	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newStatsCommand(deps), "--no-stream", "--no-trunc", "--format", `table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}`, "web"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "table format", out.String(), "CONTAINER ID                                                       NAME      CPU %\n"+idA+"   web       50.00%\n")
	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newStatsCommand(deps), "--no-stream", "--format", "json", "web"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "json", out.String(), `{"BlockIO":"3MB / 1kB","CPUPerc":"50.00%","Container":"web","ID":"aaaaaaaaaaaa","MemPerc":"25.00%","MemUsage":"64MiB / 256MiB","Name":"web","NetIO":"2kB / 1kB","PIDs":"3"}`+"\n")

	// An unknown container fails the command and prints no table.
	deps, out, _ = testDeps(fake, "")
	err := execute(t, newStatsCommand(deps), "--no-stream", "web", "ghost")
	if err == nil || err.Error() != "Error response from daemon: No such container: ghost" || out.Len() != 0 {
		t.Errorf("unknown container: %v, output %q", err, out.String())
	}
}

func TestStatsListsContainers(t *testing.T) {
	var listed client.ContainerListOptions
	fake := &fakeStatsClient{
		fakeClient: &fakeClient{listFunc: func(o client.ContainerListOptions) (client.ContainerListResult, error) {
			listed = o
			return client.ContainerListResult{Items: []container.Summary{{ID: idA}, {ID: idB}}}, nil
		}},
		statsFunc: func(id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
			if id == idA {
				return statsBody(t, sampleA()), nil
			}
			// Removed between the list and its stats: shown as unknown.
			return client.ContainerStatsResult{}, errorString("No such container")
		},
	}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newStatsCommand(deps), "--no-stream", "-a", "--format", "{{.Container}} {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}"); err != nil {
		t.Fatal(err)
	}
	if !listed.All {
		t.Error("-a did not list every container")
	}
	assertEqual(t, "stdout", out.String(), idA+" web 50.00% 64MiB / 256MiB 3\n"+idB+" -- -- -- / -- --\n")
}

func TestStatsStreamRedraws(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	fake := &fakeStatsClient{fakeClient: &fakeClient{}, statsFunc: func(id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
		if !o.Stream {
			t.Errorf("streaming stats asked %+v", o)
		}
		go func() {
			enc := json.NewEncoder(pw)
			s := sampleA()
			_ = enc.Encode(s)
			s.PidsStats.Current = 7
			_ = enc.Encode(s)
		}()
		return client.ContainerStatsResult{Body: pr}, nil
	}}
	out := &syncBuffer{}
	deps, _, _ := testDeps(fake, "")
	deps.Out = out
	done := make(chan error, 1)
	go func() {
		done <- runStats(ctx, deps, &statsOptions{format: "{{.Name}} {{.PIDs}}", containers: []string{"web"}})
	}()
	eventuallyTrue(t, func() bool { return strings.Contains(out.String(), "web 7\n") })
	cancel()
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.HasPrefix(s, "web 3\n") || strings.Contains(s, "\033") {
		t.Errorf("frames (not a terminal: no escapes): %q", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func eventuallyTrue(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

func TestStatsFigures(t *testing.T) {
	// CPU: no time passed, or none used, is 0%.
	s := sampleA()
	if got := cpuPercent(s.CPUStats, s.CPUStats); got != 0 {
		t.Errorf("the same sample twice: %v", got)
	}
	if got := cpuPercent(s.PreCPUStats, s.CPUStats); got != 50 {
		t.Errorf("cpu %% = %v", got)
	}
	// Without online_cpus, the per-CPU list says how many there are.
	s.CPUStats.OnlineCPUs = 0
	if got := cpuPercent(s.PreCPUStats, s.CPUStats); got != 50 {
		t.Errorf("cpu %% from percpu_usage = %v", got)
	}
	// Memory: v1 leaves out total_inactive_file, v2 inactive_file.
	v1 := container.MemoryStats{Usage: 100, Stats: map[string]uint64{"total_inactive_file": 30, "inactive_file": 10}}
	v2 := container.MemoryStats{Usage: 100, Stats: map[string]uint64{"inactive_file": 10}}
	odd := container.MemoryStats{Usage: 100, Stats: map[string]uint64{"total_inactive_file": 300}}
	for _, tc := range []struct {
		m    container.MemoryStats
		want float64
	}{{v1, 70}, {v2, 90}, {odd, 100}, {container.MemoryStats{Usage: 5}, 5}} {
		if got := memoryNoCache(tc.m); got != tc.want {
			t.Errorf("memoryNoCache(%+v) = %v, want %v", tc.m, got, tc.want)
		}
	}
}

func TestTopPrintsProcesses(t *testing.T) {
	var gotArgs []string
	fake := &fakeStatsClient{fakeClient: &fakeClient{}, topFunc: func(id string, o client.ContainerTopOptions) (client.ContainerTopResult, error) {
		gotArgs = o.Arguments
		return client.ContainerTopResult{
			Titles:    []string{"PID", "COMMAND"},
			Processes: [][]string{{"101", "sh"}, {"102", "sleep 1000"}},
		}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	// Everything after the container is ps's, flags included.
	if err := execute(t, newTopCommand(deps), "web", "-o", "pid,comm"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotArgs, []string{"-o", "pid,comm"}) {
		t.Errorf("ps args %q", gotArgs)
	}
	assertEqual(t, "stdout", out.String(), "PID                 COMMAND\n101                 sh\n102                 sleep 1000\n")
}

func TestUpdateSendsTheFlags(t *testing.T) {
	var got []client.ContainerUpdateOptions
	fake := &fakeStatsClient{fakeClient: &fakeClient{}, updateFunc: func(id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
		if id == "ghost" {
			return client.ContainerUpdateResult{}, errorString("Error response from daemon: No such container: ghost")
		}
		got = append(got, o)
		return client.ContainerUpdateResult{Warnings: []string{"a warning"}}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newUpdateCommand(deps), "-m", "64m", "--memory-swap", "-1", "--memory-reservation", "32m", "--cpus", "1.5",
		"--cpu-shares", "512", "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--pids-limit", "0", "--blkio-weight", "300",
		"--restart", "on-failure:2", "web", "ghost")
	if err == nil || err.Error() != "Error response from daemon: No such container: ghost" {
		t.Errorf("error %v", err)
	}
	assertEqual(t, "stdout", out.String(), "web\na warning\n")
	if len(got) != 1 {
		t.Fatalf("updates %+v", got)
	}
	r := got[0].Resources
	if r.Memory != 64<<20 || r.MemorySwap != -1 || r.MemoryReservation != 32<<20 || r.NanoCPUs != 1_500_000_000 || r.CPUShares != 512 ||
		r.CpusetCpus != "0-1" || r.CpusetMems != "0" || r.PidsLimit == nil || *r.PidsLimit != 0 || r.BlkioWeight != 300 {
		t.Errorf("resources %+v", r)
	}
	if p := got[0].RestartPolicy; p == nil || p.Name != "on-failure" || p.MaximumRetryCount != 2 {
		t.Errorf("restart policy %+v", p)
	}

	// Without --pids-limit the limit is left alone.
	got = nil
	deps, _, _ = testDeps(fake, "")
	if err := execute(t, newUpdateCommand(deps), "--cpu-period", "50000", "--cpu-quota", "25000", "web"); err != nil {
		t.Fatal(err)
	}
	if r := got[0].Resources; r.PidsLimit != nil || r.CPUPeriod != 50000 || r.CPUQuota != 25000 || got[0].RestartPolicy.Name != "" {
		t.Errorf("resources %+v", r)
	}

	// Usage mistakes.
	for _, args := range [][]string{{"web"}, {"-m", "lots", "web"}, {"--restart", "sometimes", "web"}, {"--cpus", "x", "web"}} {
		deps, _, _ = testDeps(fake, "")
		err := execute(t, newUpdateCommand(deps), args...)
		want := 125
		if len(args) == 1 {
			want = 1 // as docker: no flag is not a flag error
		}
		if err == nil || exitCode(err) != want {
			t.Errorf("update %q: %v (exit %d), want exit %d", args, err, exitCode(err), want)
		}
	}
}
