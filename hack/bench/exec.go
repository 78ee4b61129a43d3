package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// benchExec times `pouch exec c true` against bare `runc exec` into the
// same container, interleaved.
func benchExec(e *env, name string, runs int) (pouch, runc time.Duration, err error) {
	idOut, err := e.pouch("inspect", "-f", "{{.Id}}", name)
	if err != nil {
		return 0, 0, err
	}
	id := strings.TrimSpace(idOut)
	proc := filepath.Join(e.root, "exec-process.json")
	if err := os.WriteFile(proc, []byte(`{"user":{"uid":0,"gid":0},"args":["true"],"env":["PATH=/bin"],"cwd":"/"}`), 0o600); err != nil {
		return 0, 0, err
	}
	runcRoot := filepath.Join(e.root, "run", "runtime", "runc", "pouch")
	var p, r []time.Duration
	for i := 0; i < runs+2; i++ {
		dp, err := timeIt(func() error { _, err := e.pouch("exec", name, "true"); return err })
		if err != nil {
			return 0, 0, err
		}
		dr, err := timeIt(func() error { return cmdRun("runc", "--root", runcRoot, "exec", "-p", proc, id) })
		if err != nil {
			return 0, 0, fmt.Errorf("runc exec: %w", err)
		}
		if i >= 2 { // the first ones warm up
			p, r = append(p, dp), append(r, dr)
		}
	}
	return median(p), median(r), nil
}

// benchStats starts n sleeping containers and times `pouch stats
// --no-stream` over all of them; the containers are removed afterwards.
func benchStats(e *env, n, runs int) (time.Duration, error) {
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range names {
		names[i] = fmt.Sprintf("st%d", i)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = e.pouch("run", "-d", "--network", "none", "--name", names[i], "busybox", "sleep", "600")
		}(i)
	}
	wg.Wait()
	defer func() {
		_, _ = e.pouch(append([]string{"rm", "-f"}, names...)...)
	}()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		d, err := timeIt(func() error { _, err := e.pouch("stats", "--no-stream"); return err })
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	return median(ds), nil
}
