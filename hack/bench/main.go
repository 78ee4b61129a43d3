// Command bench measures Pouch against its floor (bare runc) and writes
// docs/benchmarks.md: `pouch run --rm` latency (without a network and on
// the default bridge) beside `runc run` in one interleaved run, `ps -a` with 200 containers, creating 200 containers,
// the daemon's idle RSS and each running container's memory cost.
// Where a Docker or Podman engine answers, the same commands run there too.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pouchcontainer/pouch/internal/testimage"
)

func main() {
	out := flag.String("out", "docs/benchmarks.md", "report `file`")
	runs := flag.Int("runs", 20, "iterations of each latency measurement")
	many := flag.Int("containers", 200, "containers for the ps and create measurements")
	flag.Parse()
	if err := run(*out, *runs, *many); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type env struct {
	root, bin, sock string
	daemon          *exec.Cmd
	net             *benchNet
}

func run(out string, runs, many int) error {
	bin := os.Getenv("POUCH_BIN_DIR")
	if bin == "" {
		bin = "bin"
	}
	bin, _ = filepath.Abs(bin)
	root, err := os.MkdirTemp("/tmp", "pbench")
	if err != nil {
		return err
	}
	e := &env{root: root, bin: bin, sock: filepath.Join(root, "p.sock")}
	defer e.cleanup()
	reg, err := startRegistry(root)
	if err != nil {
		return err
	}
	defer reg.stop()
	// A bridge and subnet of the benchmark's own, so that a pouchd
	// running on the machine is not disturbed.
	if e.net, err = newBenchNet(root); err != nil {
		return err
	}
	if err := e.startDaemon("--insecure-registries", reg.addr, "--bridge-name", e.net.bridge, "--bip", e.net.bip()); err != nil {
		return err
	}
	if err := e.loadBusybox(); err != nil {
		return err
	}
	rep := &report{}

	// Warm up the page cache and the daemon.
	for i := 0; i < 3; i++ {
		if _, err := e.pouch("run", "--rm", "--network", "none", "busybox", "true"); err != nil {
			return err
		}
		if _, err := e.pouch("run", "--rm", "busybox", "true"); err != nil {
			return err
		}
	}
	bundle, err := runcBundle(root)
	if err != nil {
		return err
	}
	sameSpec, err := e.pouchSpecBundle(bundle)
	if err != nil {
		return err
	}
	var pouchRun, pouchBridge, runcRun, runcSame []time.Duration
	for i := 0; i < runs; i++ {
		d, err := timeIt(func() error { _, err := e.pouch("run", "--rm", "--network", "none", "busybox", "true"); return err })
		if err != nil {
			return err
		}
		pouchRun = append(pouchRun, d)
		d, err = timeIt(func() error { _, err := e.pouch("run", "--rm", "busybox", "true"); return err })
		if err != nil {
			return err
		}
		pouchBridge = append(pouchBridge, d)
		for _, b := range []struct {
			dir string
			out *[]time.Duration
		}{{bundle, &runcRun}, {sameSpec, &runcSame}} {
			id := fmt.Sprintf("bench-%d", i)
			d, err = timeIt(func() error {
				return cmdRun("runc", "--root", filepath.Join(root, "runc"), "run", "-b", b.dir, id)
			})
			if err != nil {
				return err
			}
			*b.out = append(*b.out, d)
		}
	}
	what := "`run --rm --network none busybox true`"
	rep.add(what, "pouch", median(pouchRun), "")
	rep.add(what, "bare `runc run`, runc's default spec (floor)", median(runcRun), "")
	rep.add(what, "bare `runc run`, the spec Pouch generates (Docker's defaults: seccomp, masks, cgroups)", median(runcSame), "")
	rep.add("`run --rm busybox true` on the default bridge (veth, address, routes, masquerade)", "pouch", median(pouchBridge), "")
	rep.ratio = float64(median(pouchRun)) / float64(median(runcRun))
	rep.ratioSame = float64(median(pouchRun)) / float64(median(runcSame))
	rep.ratioBridge = float64(median(pouchBridge)) / float64(median(runcRun))
	rep.bridgeCost = median(pouchBridge) - median(pouchRun)

	// Idle RSS after the warm-up, before the many containers.
	time.Sleep(2 * time.Second)
	rep.idleRSS = rssKB(e.daemon.Process.Pid)

	// Create many containers.
	start := time.Now()
	for i := 0; i < many; i++ {
		if _, err := e.pouch("create", "--name", fmt.Sprintf("c%d", i), "busybox", "true"); err != nil {
			return err
		}
	}
	rep.createMany = time.Since(start)
	rep.many = many
	var ps []time.Duration
	for i := 0; i < runs; i++ {
		d, err := timeIt(func() error { _, err := e.pouch("ps", "-a"); return err })
		if err != nil {
			return err
		}
		ps = append(ps, d)
	}
	rep.psMany = median(ps)
	var psAPI []time.Duration
	for i := 0; i < runs; i++ {
		d, err := timeIt(func() error {
			return cmdRun("curl", "-sf", "-o", "/dev/null", "--unix-socket", e.sock, "http://p/containers/json?all=1")
		})
		if err != nil {
			return err
		}
		psAPI = append(psAPI, d)
	}
	rep.psAPI = median(psAPI)

	// Memory each running container costs: the PSS of its shim and logger.
	if _, err := e.pouch("run", "-d", "--name", "mem", "busybox", "sleep", "600"); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	pidOut, err := e.pouch("inspect", "-f", "{{.State.Pid}}", "mem")
	if err != nil {
		return err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(pidOut))
	rep.shimPSS = pssKB(parentPid(pid))
	rep.loggerPSS = pssKB(loggerPid(root))
	execPouch, execRunc, err := benchExec(e, "mem", runs)
	if err != nil {
		return err
	}
	rep.add("`exec c true` in a running container", "pouch", execPouch, "")
	rep.add("`exec c true` in a running container", "bare `runc exec` into the same container", execRunc, "")
	rep.execRatio = float64(execPouch) / float64(execRunc)
	if _, err := e.pouch("rm", "-f", "mem"); err != nil {
		return err
	}
	// The created containers are not needed any more.
	created := make([]string, many)
	for i := range created {
		created[i] = fmt.Sprintf("c%d", i)
	}
	if _, err := e.pouch(append([]string{"rm"}, created...)...); err != nil {
		return err
	}
	if rep.statsMany, err = benchStats(e, statsContainers, 3); err != nil {
		return err
	}
	if rep.pulls, err = benchPull(e, reg); err != nil {
		rep.pullErr = err
	}
	rep.engines = otherEngines()
	return os.WriteFile(out, []byte(rep.markdown()), 0o644)
}

// pouchSpecBundle captures the OCI spec Pouch generates for a container
// and points it at the bare runc bundle's rootfs, so runc alone can be
// timed with exactly the same security settings.
func (e *env) pouchSpecBundle(plain string) (string, error) {
	if _, err := e.pouch("run", "-d", "--name", "specsrc", "--network", "none", "busybox", "sleep", "600"); err != nil {
		return "", err
	}
	defer e.pouch("rm", "-f", "specsrc") //nolint:errcheck
	id, err := e.pouch("inspect", "-f", "{{.Id}}", "specsrc")
	if err != nil {
		return "", err
	}
	spec, err := os.ReadFile(filepath.Join(e.root, "run", "c", strings.TrimSpace(id), "config.json"))
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(spec, &m); err != nil {
		return "", err
	}
	m["root"] = map[string]any{"path": filepath.Join(plain, "rootfs"), "readonly": false}
	m["process"].(map[string]any)["args"] = []string{"true"}
	linux := m["linux"].(map[string]any)
	linux["cgroupsPath"] = "/pouch-" + filepath.Base(e.root) + "/runc-same"
	var mounts []any
	for _, mt := range m["mounts"].([]any) {
		// The container's own /etc files go away with it.
		if dst := mt.(map[string]any)["destination"].(string); !strings.HasPrefix(dst, "/etc/") {
			mounts = append(mounts, mt)
		}
	}
	m["mounts"] = mounts
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(e.root, "runc-same")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

func (e *env) startDaemon(extra ...string) error {
	cfg := filepath.Join(e.root, "config.json")
	if err := os.WriteFile(cfg, []byte("{}"), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(e.root, "pouchd.log"))
	if err != nil {
		return err
	}
	e.daemon = exec.Command(filepath.Join(e.bin, "pouchd"), "--home-dir", filepath.Join(e.root, "home"),
		"--exec-root-dir", filepath.Join(e.root, "run"), "-l", "unix://"+e.sock, "--config-file", cfg,
		"--cgroup-parent", "pouch-"+filepath.Base(e.root))
	e.daemon.Args = append(e.daemon.Args, extra...)
	e.daemon.Stdout, e.daemon.Stderr = logf, logf
	if err := e.daemon.Start(); err != nil {
		return err
	}
	for i := 0; i < 200; i++ {
		if _, err := e.pouch("version"); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pouchd did not start")
}

func (e *env) loadBusybox() error {
	img, err := testimage.Busybox()
	if err != nil {
		return err
	}
	file := filepath.Join(e.root, "busybox.tar")
	if err := testimage.WriteFile(file, testimage.FormatDocker, img); err != nil {
		return err
	}
	_, err = e.pouch("load", "-i", file)
	return err
}

func (e *env) pouch(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "pouch"), append([]string{"-H", "unix://" + e.sock}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pouch %v: %v: %s", args, err, errb.String())
	}
	return out.String(), nil
}

func (e *env) cleanup() {
	if e.daemon != nil {
		_ = cmdRun("curl", "-sf", "-o", "/dev/null", "--unix-socket", e.sock, "-X", "DELETE", "http://p/containers/mem?force=1")
		out, _ := e.pouch("ps", "-aq")
		for _, id := range strings.Fields(out) {
			_, _ = e.pouch("rm", "-f", id)
		}
		_ = e.daemon.Process.Signal(syscall.SIGTERM)
		_ = e.daemon.Wait()
	}
	if e.net != nil {
		e.net.cleanup()
	}
	_ = cmdRun("sh", "-c", "grep -o ' "+e.root+"[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l")
	for _, dir := range []string{"/sys/fs/cgroup/*/pouch-" + filepath.Base(e.root), "/sys/fs/cgroup/unified/pouch-" + filepath.Base(e.root)} {
		matches, _ := filepath.Glob(dir)
		for _, m := range matches {
			_ = syscall.Rmdir(m)
		}
	}
	_ = os.RemoveAll(e.root)
}

// runcBundle makes a bundle of the same static busybox for bare runc.
func runcBundle(root string) (string, error) {
	bundle := filepath.Join(root, "runc-bundle")
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return "", err
	}
	if err := cmdRun("cp", testimage.DefaultBusybox, filepath.Join(rootfs, "bin", "busybox")); err != nil {
		return "", err
	}
	if err := cmdRun("chroot", rootfs, "/bin/busybox", "--install", "-s", "/bin"); err != nil {
		return "", err
	}
	cmd := exec.Command("runc", "spec")
	cmd.Dir = bundle
	if err := cmd.Run(); err != nil {
		return "", err
	}
	spec, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return "", err
	}
	s := strings.Replace(string(spec), `"terminal": true`, `"terminal": false`, 1)
	s = strings.Replace(s, `"sh"`, `"true"`, 1)
	return bundle, os.WriteFile(filepath.Join(bundle, "config.json"), []byte(s), 0o644)
}

func cmdRun(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v: %s", name, args, err, out)
	}
	return nil
}

func timeIt(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func procField(path, key string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

func rssKB(pid int) int { return procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:") }
func pssKB(pid int) int {
	if pid <= 0 {
		return 0
	}
	return procField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
}

func parentPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	p, _ := strconv.Atoi(f[1])
	return p
}

func loggerPid(root string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), "pouch-logger") && strings.Contains(string(b), root) {
			p, _ := strconv.Atoi(e.Name())
			return p
		}
	}
	return 0
}

// otherEngines reports which other engines answer on this machine.
func otherEngines() []string {
	var found []string
	if exec.Command("docker", "-H", "unix:///var/run/docker.sock", "info").Run() == nil {
		found = append(found, "docker")
	}
	if exec.Command("podman", "info").Run() == nil {
		found = append(found, "podman")
	}
	return found
}

type row struct {
	what, who string
	d         time.Duration
	note      string
}

type report struct {
	rows               []row
	ratio, ratioSame   float64
	ratioBridge        float64
	bridgeCost         time.Duration
	idleRSS            int
	many               int
	createMany         time.Duration
	psMany, psAPI      time.Duration
	shimPSS, loggerPSS int
	engines            []string
	pulls              []pullResult
	pullErr            error
	execRatio          float64
	statsMany          time.Duration
}

// statsContainers is how many running containers `stats --no-stream` reads.
const statsContainers = 100

func (r *report) add(what, who string, d time.Duration, note string) {
	r.rows = append(r.rows, row{what, who, d, note})
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (r *report) markdown() string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` (`hack/bench`) on %s, %s, %d CPUs, %s. Medians.\n\n",
		time.Now().UTC().Format("2006-01-02"), host, runtime.NumCPU(), runtime.Version())
	b.WriteString("| measurement | engine | median |\n|---|---|---|\n")
	for _, row := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", row.what, row.who, ms(row.d))
	}
	fmt.Fprintf(&b, "| `ps -a` with %d containers (CLI, process start included) | pouch | %s |\n", r.many, ms(r.psMany))
	fmt.Fprintf(&b, "| `GET /containers/json?all=1` with %d containers | pouch | %s |\n", r.many, ms(r.psAPI))
	fmt.Fprintf(&b, "| creating %d containers, one `pouch create` each | pouch | %s total, %s each |\n", r.many, ms(r.createMany), ms(r.createMany/time.Duration(r.many)))
	fmt.Fprintf(&b, "| `stats --no-stream` with %d running containers (CLI) | pouch | %s |\n", statsContainers, ms(r.statsMany))
	for _, p := range r.pulls {
		fmt.Fprintf(&b, "| %s from a loopback registry | pouch | %s, %.1f MB transferred |\n", p.what, ms(p.d), float64(p.bytes)/1e6)
	}
	fmt.Fprintf(&b, "\n- `run --rm` against bare runc with the same spec: **%.2f×**; against runc's default spec: **%.2f×** (target: within 2×).\n", r.ratioSame, r.ratio)
	fmt.Fprintf(&b, "- `run --rm` on the default bridge against runc's default spec: **%.2f×** (target: within 3×); the network adds **%s** to `--network none`.\n", r.ratioBridge, ms(r.bridgeCost))
	fmt.Fprintf(&b, "- `exec c true` against bare `runc exec`: **%.2f×** (target: within 1.5×).\n", r.execRatio)
	fmt.Fprintf(&b, "- `pouchd` idle RSS: **%.1f MB** (target: under 40 MB).\n", float64(r.idleRSS)/1024)
	fmt.Fprintf(&b, "- Each running container costs its shim's PSS **%.1f MB** and its logger's PSS **%.1f MB**.\n",
		float64(r.shimPSS)/1024, float64(r.loggerPSS)/1024)
	if r.pullErr != nil {
		fmt.Fprintf(&b, "- The pull benchmark failed: %v\n", r.pullErr)
	}
	if len(r.engines) == 0 {
		b.WriteString("- No Docker or Podman engine answers on this machine (only the docker client is installed), so no side-by-side figures.\n")
	} else {
		fmt.Fprintf(&b, "- Engines present but not yet measured side by side: %s.\n", strings.Join(r.engines, ", "))
	}
	return b.String()
}
