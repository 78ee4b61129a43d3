package stats

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
)

const mib = 1 << 20

// swapAccounting reports whether cgroup v1 memory+swap limits exist here.
func swapAccounting() bool {
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

func cpuQuota(t testing.TB, id string) string {
	if cgroupV2() {
		return strings.Fields(cgroupFile(t, id, "", "", "cpu.max"))[0]
	}
	return cgroupFile(t, id, "cpu", "cpu.cfs_quota_us", "")
}

func TestUpdateRunningContainer(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "busybox", "sleep", "1000")
	if got := d.PouchOK(t, "update", "-m", "64m", "--cpus", "0.5", "--pids-limit", "50", "--cpu-shares", "512", name); got != name+"\n" {
		t.Fatalf("update printed %q, want the name", got)
	}
	if got := memoryLimit(t, id); got != "67108864" {
		t.Fatalf("memory limit in the cgroup: %s", got)
	}
	if got := cpuQuota(t, id); got != "50000" {
		t.Fatalf("CPU quota in the cgroup: %s", got)
	}
	if got := cgroupFile(t, id, "pids", "pids.max", "pids.max"); got != "50" {
		t.Fatalf("pids.max: %s", got)
	}
	if !cgroupV2() {
		if got := cgroupFile(t, id, "cpu", "cpu.shares", ""); got != "512" {
			t.Fatalf("cpu.shares: %s", got)
		}
		if swapAccounting() {
			// Swap as much as memory by default, as at create.
			if got := cgroupFile(t, id, "memory", "memory.memsw.limit_in_bytes", ""); got != "134217728" {
				t.Fatalf("memsw limit: %s", got)
			}
		}
	}
	hc := d.Inspect(t, id).HostConfig
	if hc.Memory != 64*mib || hc.NanoCPUs != 5e8 || hc.PidsLimit == nil || *hc.PidsLimit != 50 || hc.CPUShares != 512 {
		t.Fatalf("inspect after update: memory %d cpus %d pids %v shares %d", hc.Memory, hc.NanoCPUs, hc.PidsLimit, hc.CPUShares)
	}

	// Raising memory above the default swap moves the swap along.
	d.PouchOK(t, "update", "-m", "128m", name)
	if got := memoryLimit(t, id); got != "134217728" {
		t.Fatalf("memory limit after raising it: %s", got)
	}
	// Unlimited pids, a restart policy.
	d.PouchOK(t, "container", "update", "--pids-limit", "-1", "--restart", "on-failure:3", name)
	if got := cgroupFile(t, id, "pids", "pids.max", "pids.max"); got != "max" {
		t.Fatalf("pids.max after --pids-limit -1: %s", got)
	}
	hc = d.Inspect(t, id).HostConfig
	if hc.RestartPolicy.Name != "on-failure" || hc.RestartPolicy.MaximumRetryCount != 3 || hc.Memory != 128*mib || hc.NanoCPUs != 5e8 {
		t.Fatalf("inspect after the second update: %+v memory %d", hc.RestartPolicy, hc.Memory)
	}

	// A paused container is updated too.
	d.PouchOK(t, "pause", name)
	d.PouchOK(t, "update", "-m", "96m", name)
	d.PouchOK(t, "unpause", name)
	if got := memoryLimit(t, id); got != "100663296" {
		t.Fatalf("memory limit after updating the paused container: %s", got)
	}

	// The API.
	r := d.ExpectStatus(t, http.StatusOK, "POST", "/containers/"+id+"/update", map[string]any{"CpuShares": 256})
	if strings.TrimSpace(string(r.Body)) != `{"Warnings":[]}` {
		t.Fatalf("update answer: %s", r.Body)
	}
}

func TestUpdateCPUPeriodAndQuota(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "busybox", "sleep", "1000")
	d.PouchOK(t, "update", "--cpu-period", "50000", "--cpu-quota", "25000", name)
	if !cgroupV2() {
		if got := cgroupFile(t, id, "cpu", "cpu.cfs_period_us", ""); got != "50000" {
			t.Fatalf("period: %s", got)
		}
	}
	if got := cpuQuota(t, id); got != "25000" {
		t.Fatalf("quota: %s", got)
	}
	// --cpus cannot follow a period or quota, as in Docker.
	res := d.PouchFails(t, "update", "--cpus", "1", name)
	if !strings.Contains(res.Stderr, "Nano CPUs cannot be updated as CPU Period has already been set") {
		t.Fatalf("--cpus after --cpu-period: %+v", res)
	}
	r := d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/update", map[string]any{"NanoCpus": 1e9})
	if !strings.Contains(r.Message(), "Cannot update container "+id) {
		t.Fatalf("conflict message: %s", r.Message())
	}
	// Nor the other way round.
	_, withCPUs := d.RunDetached(t, "--cpus", "0.5", "busybox", "sleep", "1000")
	if res := d.PouchFails(t, "update", "--cpu-quota", "20000", withCPUs); !strings.Contains(res.Stderr, "CPU Quota cannot be updated as NanoCPUs has already been set") {
		t.Fatalf("--cpu-quota after --cpus: %+v", res)
	}
	// -1 lifts the quota.
	d.PouchOK(t, "update", "--cpu-quota", "-1", name)
	if got := cpuQuota(t, id); got != "-1" && got != "max" {
		t.Fatalf("quota after -1: %s", got)
	}
}

func TestUpdateStoppedContainerAppliesAtStart(t *testing.T) {
	t.Parallel()
	id, name := d.CreateContainer(t, "busybox", "sleep", "1000")
	d.PouchOK(t, "update", "-m", "32m", "--pids-limit", "20", name)
	hc := d.Inspect(t, id).HostConfig
	if hc.Memory != 32*mib || hc.PidsLimit == nil || *hc.PidsLimit != 20 {
		t.Fatalf("inspect after updating a created container: memory %d pids %v", hc.Memory, hc.PidsLimit)
	}
	d.PouchOK(t, "start", name)
	if got := memoryLimit(t, id); got != "33554432" {
		t.Fatalf("memory limit at start: %s", got)
	}
	if got := cgroupFile(t, id, "pids", "pids.max", "pids.max"); got != "20" {
		t.Fatalf("pids.max at start: %s", got)
	}
	// Stopped after a run: the record changes, the next start applies it.
	d.PouchOK(t, "stop", "-t", "0", name)
	d.PouchOK(t, "update", "-m", "48m", name)
	d.PouchOK(t, "start", name)
	if got := memoryLimit(t, id); got != "50331648" {
		t.Fatalf("memory limit at restart: %s", got)
	}
	// The update is in the persisted record.
	if hc = d.Inspect(t, id).HostConfig; hc.Memory != 48*mib {
		t.Fatalf("inspect: memory %d", hc.Memory)
	}
	b, err := os.ReadFile(filepath.Join(d.Home, "containers", id, "config.json"))
	if err != nil || !strings.Contains(string(b), `"Memory":50331648`) {
		t.Fatalf("persisted record lacks the update: %v", err)
	}
}

func TestUpdateErrors(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "busybox", "sleep", "1000")

	d.ExpectStatus(t, http.StatusNotFound, "POST", "/containers/nosuchcontainer/update", map[string]any{"Memory": 64 * mib})
	if res := d.PouchFails(t, "update", "-m", "64m", "nosuchcontainer"); !strings.Contains(res.Stderr, "No such container") {
		t.Fatalf("update of an unknown container: %+v", res)
	}
	bad := []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"Memory": 1 * mib}, "6MB"},
		{map[string]any{"Memory": 64 * mib, "MemorySwap": 32 * mib}, "memoryswap limit should be larger than memory limit"},
		{map[string]any{"NanoCpus": 5e8, "CpuQuota": 20000}, "Nano CPUs and CPU Quota cannot both be set"},
		{map[string]any{"CpuPeriod": 500}, "CPU cfs period"},
		{map[string]any{"CpusetCpus": "999"}, "not available"},
		{map[string]any{"BlkioWeight": 5}, "blkio weight"},
		{map[string]any{"MemoryReservation": 128 * mib, "Memory": 64 * mib}, "reservation"},
		{map[string]any{"RestartPolicy": map[string]any{"Name": "sometimes"}}, "invalid restart policy"},
		{map[string]any{"RestartPolicy": map[string]any{"Name": "always", "MaximumRetryCount": 3}}, "maximum retry count"},
	}
	for _, b := range bad {
		r := d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/update", b.body)
		if !strings.Contains(r.Message(), b.want) {
			t.Errorf("update %v: %q, want it to mention %q", b.body, r.Message(), b.want)
		}
	}
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/update", "{not json")
	// Nothing changed.
	if hc := d.Inspect(t, id).HostConfig; hc.Memory != 0 || hc.NanoCPUs != 0 || hc.RestartPolicy.Name != "no" {
		t.Fatalf("refused updates changed the container: %+v", hc.Resources)
	}
	if got := memoryLimit(t, id); got == "6291456" || got == "1048576" {
		t.Fatalf("refused update reached the cgroup: %s", got)
	}

	// The CLI's own checks.
	if res := d.PouchFails(t, "update", name); !strings.Contains(res.Stderr, "you must provide one or more flags") {
		t.Fatalf("update without flags: %+v", res)
	}
	if res := d.PouchFails(t, "update", "--restart", "sometimes", name); res.ExitCode != 125 {
		t.Fatalf("update --restart sometimes: %+v", res)
	}
	if res := d.PouchFails(t, "update", "-m", "lots", name); res.ExitCode != 125 {
		t.Fatalf("update -m lots: %+v", res)
	}
	if res := d.PouchFails(t, "update", "-m", "1m", name); !strings.Contains(res.Stderr, "6MB") {
		t.Fatalf("update -m 1m: %+v", res)
	}

	// A swap limit the user set must move with the memory limit.
	_, swapped := d.RunDetached(t, "-m", "32m", "--memory-swap", "64m", "busybox", "sleep", "1000")
	if res := d.PouchFails(t, "update", "-m", "128m", swapped); !strings.Contains(res.Stderr, "Memory limit should be smaller than already set memoryswap limit") {
		t.Fatalf("update -m above the swap limit: %+v", res)
	}
	d.PouchOK(t, "update", "-m", "128m", "--memory-swap", "256m", swapped)

	// An --rm container keeps restart policy "no".
	rmID := strings.TrimSpace(d.PouchOK(t, "run", "-d", "--rm", "busybox", "sleep", "1000"))
	d.RemoveContainerOnCleanup(t, rmID)
	r := d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+rmID+"/update", ctypes.UpdateConfig{RestartPolicy: ctypes.RestartPolicy{Name: "always"}})
	if !strings.Contains(r.Message(), "Restart policy cannot be updated because AutoRemove is enabled for the container") {
		t.Fatalf("restart policy of an --rm container: %s", r.Message())
	}
	d.PouchOK(t, "update", "--restart", "no", "-m", "64m", rmID)

	// Several containers: the failures are reported, the others updated.
	res := d.PouchFails(t, "update", "-m", "80m", name, "nosuchcontainer")
	if res.Stdout != name+"\n" || !strings.Contains(res.Stderr, "No such container") {
		t.Fatalf("update of a good and a bad container: %+v", res)
	}
	if got := memoryLimit(t, id); got != "83886080" {
		t.Fatalf("memory limit: %s", got)
	}
}
