package stats

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// busy is a container that keeps one CPU busy.
var busy = []string{"busybox", "sh", "-c", "while :; do :; done"}

func TestStatsNoStreamAfterUpdate(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, busy...)
	d.PouchOK(t, "update", "-m", "64m", name)

	out := d.PouchOK(t, "stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}|{{.ID}}", name)
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 6 || f[0] != name || f[5] != id[:12] {
		t.Fatalf("stats --no-stream: %q", out)
	}
	// A busy loop uses up to one CPU (100%); the tests running beside it
	// and the host's other work take their share.
	if cpu := percent(t, f[1]); cpu < 5 || cpu > 110 {
		t.Fatalf("CPU %% of a busy loop: %s", f[1])
	}
	used, limit, ok := strings.Cut(f[2], " / ")
	if !ok || limit != "64MiB" || used == "0B" || !strings.HasSuffix(used, "iB") {
		t.Fatalf("memory usage / limit: %q, want some usage / 64MiB", f[2])
	}
	if mem := percent(t, f[3]); mem <= 0 || mem >= 100 {
		t.Fatalf("memory %%: %s", f[3])
	}
	if f[4] != "1" {
		t.Fatalf("PIDs: %s, want 1 (the shell)", f[4])
	}

	// The default table, untruncated.
	out = d.PouchOK(t, "stats", "--no-stream", "--no-trunc", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS$`).MatchString(lines[0]) {
		t.Fatalf("stats table:\n%s", out)
	}
	if !strings.HasPrefix(lines[1], id+" ") || !strings.Contains(lines[1], " "+name+" ") {
		t.Fatalf("stats row: %q", lines[1])
	}
	// A table of chosen columns, and JSON.
	out = d.PouchOK(t, "container", "stats", "--no-stream", "--format", `table {{.Name}}\t{{.CPUPerc}}`, name)
	if lines = strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !regexp.MustCompile(`^NAME\s+CPU %$`).MatchString(lines[0]) || !strings.HasPrefix(lines[1], name+" ") {
		t.Fatalf("stats table {{.Name}} {{.CPUPerc}}:\n%s", out)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(d.PouchOK(t, "stats", "--no-stream", "--format", "json", name)), &row); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"} {
		if _, ok := row[k]; !ok {
			t.Fatalf("stats --format json lacks %s: %v", k, row)
		}
	}
	if row["Container"] != name || row["Name"] != name {
		t.Fatalf("stats --format json: %v", row)
	}
}

// percent parses "12.34%".
func percent(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") {
		t.Fatalf("not a percentage: %q", s)
	}
	return v
}

func TestStatsSeveralContainers(t *testing.T) {
	t.Parallel()
	_, a := d.RunDetached(t, "busybox", "sleep", "1000")
	_, b := d.RunDetached(t, "busybox", "sh", "-c", "sleep 1000 & sleep 1000 & wait")
	start := time.Now()
	out := d.PouchOK(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", a, b)
	// Both samples are taken at once, each over a second.
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stats --no-stream of two containers took %v", took)
	}
	eventuallyOut := strings.TrimSpace(out)
	if eventuallyOut != a+" 1\n"+b+" 3" {
		t.Fatalf("stats of two containers, in the order given:\n%s", out)
	}
	// Without names: the running containers, these two among them.
	out = d.PouchOK(t, "stats", "--no-stream", "--format", "{{.Name}}")
	if !strings.Contains(out, a+"\n") || !strings.Contains(out, b+"\n") {
		t.Fatalf("stats --no-stream without names:\n%s", out)
	}
}

func TestStatsNetworkCounts(t *testing.T) {
	t.Parallel()
	id, _ := d.RunDetached(t, "busybox", "sleep", "1000")
	ip := d.Inspect(t, id).NetworkSettings.Networks["bridge"].IPAddress
	if !ip.IsValid() {
		t.Fatalf("container has no bridge address")
	}
	before := statsAPI(t, id, "stream=false&one-shot=true").Networks["eth0"]
	// Traffic to the container: UDP to a closed port (answered with
	// ICMP errors, so both counters move). The first datagrams may be
	// dropped while the host resolves the address.
	conn, err := net.Dial("udp", net.JoinHostPort(ip.String(), "9"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := make([]byte, 1000)
	for i := 0; i < 50; i++ {
		_, _ = conn.Write(payload)
	}
	var after ctypes.NetworkStats
	testenv.Eventually(t, 5*time.Second, "rx bytes to grow by most of the traffic sent", func() bool {
		after = statsAPI(t, id, "stream=false&one-shot=true").Networks["eth0"]
		return after.RxBytes >= before.RxBytes+30*1000
	})
	if after.RxPackets < before.RxPackets+30 || after.TxBytes <= before.TxBytes {
		t.Fatalf("network counters: before %+v after %+v", before, after)
	}
	out := d.PouchOK(t, "stats", "--no-stream", "--format", "{{.NetIO}}", id)
	if rx, _, _ := strings.Cut(strings.TrimSpace(out), " / "); !strings.HasSuffix(rx, "kB") && !strings.HasSuffix(rx, "MB") {
		t.Fatalf("NET I/O after 50kB: %q", out)
	}
	// Host networking has no counters of its own, as in Docker.
	hostID, _ := d.RunDetached(t, "--network", "host", "busybox", "sleep", "1000")
	if n := statsAPI(t, hostID, "stream=false&one-shot=true").Networks; len(n) != 0 {
		t.Fatalf("host network container has networks %v", n)
	}
}

func TestStatsAPI(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, busy...)

	// stream=false: two samples a second apart, the first as "pre".
	start := time.Now()
	r := d.ExpectStatus(t, http.StatusOK, "GET", "/containers/"+name+"/stats?stream=false", nil)
	if took := time.Since(start); took < 900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("stream=false took %v, want about a second", took)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var raw map[string]json.RawMessage
	r.JSON(t, &raw)
	for _, k := range []string{"id", "name", "read", "preread", "cpu_stats", "precpu_stats", "memory_stats", "blkio_stats", "pids_stats", "networks"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stats JSON lacks %q: %s", k, r.Body)
		}
	}
	var s ctypes.StatsResponse
	r.JSON(t, &s)
	if s.ID != id || s.Name != "/"+name {
		t.Fatalf("id %q name %q", s.ID, s.Name)
	}
	if gap := s.Read.Sub(s.PreRead); gap < 900*time.Millisecond || gap > 2*time.Second {
		t.Fatalf("read %v preread %v: want a second apart", s.Read, s.PreRead)
	}
	cpu, pre := s.CPUStats, s.PreCPUStats
	if cpu.CPUUsage.TotalUsage <= pre.CPUUsage.TotalUsage || pre.CPUUsage.TotalUsage == 0 || cpu.SystemUsage <= pre.SystemUsage || cpu.OnlineCPUs == 0 {
		t.Fatalf("cpu %+v precpu %+v", cpu, pre)
	}
	if !cgroupV2() && len(cpu.CPUUsage.PercpuUsage) == 0 {
		t.Fatalf("cgroup v1 stats without percpu_usage: %+v", cpu)
	}
	// A busy loop: up to one CPU's worth of time in the second, less what
	// the other tests take.
	if delta := cpu.CPUUsage.TotalUsage - pre.CPUUsage.TotalUsage; delta < uint64(50*time.Millisecond) || delta > uint64(1100*time.Millisecond) {
		t.Fatalf("a busy loop used %v of CPU in a second", time.Duration(delta))
	}
	m := s.MemoryStats
	if m.Usage == 0 || m.Limit == 0 || len(m.Stats) == 0 {
		t.Fatalf("memory stats %+v", m)
	}
	key := "total_inactive_file"
	if cgroupV2() {
		key = "inactive_file"
	}
	if _, ok := m.Stats[key]; !ok {
		t.Fatalf("memory stats lack %s: %v", key, m.Stats)
	}
	if s.PidsStats.Current != 1 {
		t.Fatalf("pids %+v", s.PidsStats)
	}
	if _, ok := s.Networks["eth0"]; !ok {
		t.Fatalf("networks %v lack eth0", s.Networks)
	}

	// one-shot: a single sample at once, no previous one.
	start = time.Now()
	s = statsAPI(t, id, "stream=false&one-shot=true")
	if took := time.Since(start); took > 800*time.Millisecond {
		t.Fatalf("one-shot took %v", took)
	}
	if !s.PreRead.IsZero() || s.PreCPUStats.CPUUsage.TotalUsage != 0 || s.CPUStats.CPUUsage.TotalUsage == 0 {
		t.Fatalf("one-shot sample: preread %v precpu %+v cpu %+v", s.PreRead, s.PreCPUStats, s.CPUStats)
	}
	d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/"+id+"/stats?stream=true&one-shot=true", nil)
	d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/"+id+"/stats?stream=maybe", nil)
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/nosuchcontainer/stats?stream=false", nil)

	// The stream (the default): a sample a second, each with the one before.
	frames := streamStats(t, "/containers/"+id+"/stats", 3)
	if !frames[0].PreRead.IsZero() || frames[0].PreCPUStats.CPUUsage.TotalUsage != 0 {
		t.Fatalf("first frame has a previous sample: %+v", frames[0].PreCPUStats)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].PreCPUStats.CPUUsage.TotalUsage != frames[i-1].CPUStats.CPUUsage.TotalUsage || !frames[i].PreRead.Equal(frames[i-1].Read) {
			t.Fatalf("frame %d's previous sample is not frame %d", i, i-1)
		}
		if gap := frames[i].Read.Sub(frames[i-1].Read); gap < 800*time.Millisecond || gap > 1500*time.Millisecond {
			t.Fatalf("frames %v apart", gap)
		}
	}
}

// streamStats reads n frames of a stats stream and closes it.
func streamStats(t testing.TB, path string, n int) []ctypes.StatsResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://pouch"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	dec := json.NewDecoder(resp.Body)
	var out []ctypes.StatsResponse
	for len(out) < n {
		var s ctypes.StatsResponse
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		out = append(out, s)
	}
	return out
}

func TestStatsOfStoppedContainer(t *testing.T) {
	t.Parallel()
	id, name := d.CreateContainer(t, "busybox", "sleep", "100")

	// As Docker: an empty sample, ID and name only.
	s := statsAPI(t, id, "stream=false")
	if s.ID != id || s.Name != "/"+name || !s.Read.IsZero() || s.CPUStats.CPUUsage.TotalUsage != 0 || s.MemoryStats.Limit != 0 {
		t.Fatalf("stats of a created container: %+v", s)
	}
	s = statsAPI(t, id, "stream=false&one-shot=true")
	if s.ID != id || !s.Read.IsZero() {
		t.Fatalf("one-shot stats of a created container: %+v", s)
	}
	// A stream sends empty samples.
	if f := streamStats(t, "/containers/"+id+"/stats", 1); f[0].ID != id || !f[0].Read.IsZero() {
		t.Fatalf("stream of a created container: %+v", f[0])
	}

	format := "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}"
	zeros := name + " 0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0"
	if out := d.PouchOK(t, "stats", "--no-stream", "--format", format, name); strings.TrimSpace(out) != zeros {
		t.Fatalf("stats of a created container: %q, want %q", out, zeros)
	}
	if out := d.PouchOK(t, "stats", "--no-stream", "-a", "--format", format); !strings.Contains(out, zeros+"\n") {
		t.Fatalf("stats -a lacks the created container:\n%s", out)
	}
	if out := d.PouchOK(t, "stats", "--no-stream", "--format", "{{.Name}}"); strings.Contains(out, name+"\n") {
		t.Fatalf("stats without -a lists a created container:\n%s", out)
	}

	// An unknown container fails the command, and prints no table.
	res := d.PouchFails(t, "stats", "--no-stream", name, "nosuchcontainer")
	if !strings.Contains(res.Stderr, "No such container: nosuchcontainer") || res.Stdout != "" {
		t.Fatalf("stats of an unknown container: %+v", res)
	}
}

func TestStatsStreams(t *testing.T) {
	t.Parallel()
	_, name := d.RunDetached(t, "busybox", "sleep", "1000")
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(d.BinDir, "pouch"), "-H", d.Host(), "stats", "--format", "{{.Name}} {{.PIDs}}", name)
	out, _ := cmd.Output()
	// Not a terminal: frames one after another, a second apart.
	frames := strings.Count(string(out), name+" 1\n")
	if frames < 2 || frames > 4 || strings.Contains(string(out), "\033") {
		t.Fatalf("stats stream for 2.5s:\n%q", out)
	}
}
