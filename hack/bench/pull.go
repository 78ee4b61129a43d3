package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pouchcontainer/pouch/internal/testimage"
)

// registry is a loopback docker-registry behind a proxy that counts the
// bytes it serves, so a pull's transfer can be reported.
type registry struct {
	cmd   *exec.Cmd
	proxy *http.Server
	addr  string // the proxy's host:port, what pouchd pulls from
	bytes atomic.Int64
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRegistry runs Debian's docker-registry on 127.0.0.1 with a
// generated config, and a counting proxy in front of it.
func startRegistry(root string) (*registry, error) {
	regPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "registry")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n", filepath.Join(dir, "data"), regPort)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	r := &registry{cmd: exec.Command("docker-registry", "serve", cfgPath)}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start docker-registry (apt-get install docker-registry): %w", err)
	}
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", regPort))
	rp := httputil.NewSingleHostReverseProxy(target)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.stop()
		return nil, err
	}
	r.addr = l.Addr().String()
	r.proxy = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rp.ServeHTTP(&countingWriter{ResponseWriter: w, n: &r.bytes}, req)
	})}
	go r.proxy.Serve(l) //nolint:errcheck
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + r.addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return nil, fmt.Errorf("docker-registry did not answer")
}

func (r *registry) stop() {
	if r.proxy != nil {
		r.proxy.Close()
	}
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// pushArchive puts an image into the registry with skopeo, independent of
// the engine under test.
func (r *registry) pushArchive(root string, img *testimage.Image, repo string) error {
	file := filepath.Join(root, "push.tar")
	defer os.Remove(file)
	if err := testimage.WriteFile(file, testimage.FormatDocker, img); err != nil {
		return err
	}
	return cmdRun("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "docker-archive:"+file, "docker://"+r.addr+"/"+repo)
}

type pullResult struct {
	what  string
	d     time.Duration
	bytes int64
}

// benchPull measures a cold pull of a 5-layer image of about 100 MB, the
// same pull with its base layers present, and a no-op re-pull.
func benchPull(e *env, r *registry) ([]pullResult, error) {
	const layerSize = 32 << 20
	base, err := testimage.Busybox(testimage.WithRandomLayers(1, layerSize, 7))
	if err != nil {
		return nil, err
	}
	app, err := testimage.Busybox(testimage.WithRandomLayers(3, layerSize, 7))
	if err != nil {
		return nil, err
	}
	if err := r.pushArchive(e.root, base, "bench/base:1"); err != nil {
		return nil, err
	}
	if err := r.pushArchive(e.root, app, "bench/app:1"); err != nil {
		return nil, err
	}
	baseRef, appRef := r.addr+"/bench/base:1", r.addr+"/bench/app:1"
	pull := func(what, ref string) (pullResult, error) {
		before := r.bytes.Load()
		d, err := timeIt(func() error { _, err := e.pouch("pull", "-q", ref); return err })
		return pullResult{what: what, d: d, bytes: r.bytes.Load() - before}, err
	}
	// Removing images frees their content only at the next (background)
	// garbage collection: wait for it so a cold pull is cold.
	settle := func() { time.Sleep(2500 * time.Millisecond) }
	var out []pullResult
	res, err := pull("cold pull, 5 layers", appRef)
	if err != nil {
		return nil, err
	}
	out = append(out, res)
	if res, err = pull("no-op re-pull", appRef); err != nil {
		return nil, err
	}
	out = append(out, res)
	if _, err := e.pouch("rmi", appRef); err != nil {
		return nil, err
	}
	settle()
	if _, err := pull("(base image)", baseRef); err != nil {
		return nil, err
	}
	if res, err = pull("incremental pull, base layers present", appRef); err != nil {
		return nil, err
	}
	out = append(out, res)
	_, _ = e.pouch("rmi", appRef, baseRef)
	return out, nil
}
