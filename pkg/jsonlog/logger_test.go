package jsonlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writeFifo opens a FIFO for writing (waiting for its reader), writes the
// lines and closes it.
func writeFifo(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d\n", prefix, i)
	}
	return out
}

// checkStreams checks that the log holds exactly the lines of each stream,
// in order.
func checkStreams(t *testing.T, path string, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for _, e := range readFile(t, path) {
		got[e.Stream] = append(got[e.Stream], e.Log)
	}
	for stream, lines := range want {
		if fmt.Sprint(got[stream]) != fmt.Sprint(lines) {
			t.Fatalf("%s: got %d lines %.200q, want %d lines", stream, len(got[stream]), got[stream], len(lines))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("streams %v", got)
	}
}

// The pouch-logger binary: ready byte once the FIFOs are open, the streams
// copied in order, exit 0 after both EOFs, also when told to stop meanwhile.
func TestLoggerProcess(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build pouch-logger")
	}
	bin := filepath.Join(t.TempDir(), "pouch-logger")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/pouchcontainer/pouch/cmd/pouch-logger")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tests := []struct {
		name    string
		signals []syscall.Signal // sent once ready, before the writers open
	}{
		{"plain", nil},
		{"ignores SIGINT and SIGHUP", []syscall.Signal{syscall.SIGINT, syscall.SIGHUP}},
		{"drains after SIGTERM", []syscall.Signal{syscall.SIGTERM}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testLoggerProcess(t, bin, tc.signals)
		})
	}
}

func testLoggerProcess(t *testing.T, bin string, signals []syscall.Signal) {
	dir := t.TempDir()
	stdout, stderr := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	if err := syscall.Mkfifo(stdout, 0o700); err != nil { // the other one the logger makes
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "log.json")
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	var errs strings.Builder
	cmd := exec.Command(bin, "--stdout", stdout, "--stderr", stderr, "--log", logPath, "--ready-fd", "3")
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Stderr = &errs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 2)
	if n, err := readyR.Read(b); err != nil || n != 1 {
		t.Fatalf("ready: %d bytes, %v; stderr %s", n, err, errs.String())
	}
	if _, err := readyR.Read(b); err == nil {
		t.Fatal("ready fd not closed after the byte")
	}
	fi, err := os.Stat(stderr)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 || fi.Mode().Perm() != 0o700&^umask() {
		t.Fatalf("stderr fifo: %v %v", fi.Mode(), err)
	}
	for _, sig := range signals {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // let the signals land

	want := map[string][]string{
		Stdout: append(numbered("out", 3000), strings.Repeat("l", 20000)+"\n", "no newline"),
		Stderr: numbered("err", 3000),
	}
	var wg sync.WaitGroup
	for stream, path := range map[string]string{Stdout: stdout, Stderr: stderr} {
		wg.Go(func() {
			if err := writeFifo(path, want[stream]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// The long line is split as Docker does.
	want[Stdout] = append(want[Stdout][:3000], strings.Repeat("l", MaxLineSize), strings.Repeat("l", 20000-MaxLineSize)+"\n", "no newline")

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("logger: %v; stderr %s", err, errs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logger did not exit after EOF on both streams")
	}
	checkStreams(t, logPath, want)
	if errs.Len() != 0 {
		t.Fatalf("logger stderr: %s", errs.String())
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func TestRunLogger(t *testing.T) {
	t.Run("stdout only", func(t *testing.T) {
		dir := t.TempDir()
		cfg := LoggerConfig{Stdout: filepath.Join(dir, "out"), Log: filepath.Join(dir, "log.json")}
		errc := make(chan error, 1)
		go func() { errc <- RunLogger(context.Background(), cfg) }()
		waitFifo(t, cfg.Stdout)
		if err := writeFifo(cfg.Stdout, []string{"a\n", "b\n"}); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		checkStreams(t, cfg.Log, map[string][]string{Stdout: {"a\n", "b\n"}})
	})
	t.Run("stop without writers times out", func(t *testing.T) {
		dir := t.TempDir()
		stop := make(chan struct{})
		cfg := LoggerConfig{
			Stdout: filepath.Join(dir, "out"), Stderr: filepath.Join(dir, "err"), Log: filepath.Join(dir, "log.json"),
			Stop: stop, DrainTimeout: 50 * time.Millisecond,
		}
		errc := make(chan error, 1)
		go func() { errc <- RunLogger(context.Background(), cfg) }()
		waitFifo(t, cfg.Stderr)
		close(stop)
		select {
		case err := <-errc:
			if !errors.Is(err, ErrDrainTimeout) {
				t.Fatalf("err %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("RunLogger did not give up")
		}
	})
	t.Run("stop still drains", func(t *testing.T) {
		dir := t.TempDir()
		stop := make(chan struct{})
		close(stop)
		cfg := LoggerConfig{Stdout: filepath.Join(dir, "out"), Log: filepath.Join(dir, "log.json"), Stop: stop, DrainTimeout: 10 * time.Second}
		errc := make(chan error, 1)
		go func() { errc <- RunLogger(context.Background(), cfg) }()
		waitFifo(t, cfg.Stdout)
		if err := writeFifo(cfg.Stdout, []string{"late\n"}); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		checkStreams(t, cfg.Log, map[string][]string{Stdout: {"late\n"}})
	})
	t.Run("ready reader gone", func(t *testing.T) {
		dir := t.TempDir()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		cfg := LoggerConfig{Stdout: filepath.Join(dir, "out"), Log: filepath.Join(dir, "log.json"), Ready: w}
		if err := RunLogger(context.Background(), cfg); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no stream", func(t *testing.T) {
		if err := RunLogger(context.Background(), LoggerConfig{Log: filepath.Join(t.TempDir(), "log.json")}); err == nil {
			t.Fatal("no error")
		}
	})
}

func waitFifo(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s not created", path)
}

func TestErrorReporterLimits(t *testing.T) {
	var sb strings.Builder
	r := newErrorReporter(&sb)
	for range 5 {
		r.report(errors.New("disk full"))
	}
	r.last = r.last.Add(-2 * time.Second)
	r.report(errors.New("disk full"))
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "disk full (4 more errors since the last report)") {
		t.Fatalf("got %q", lines)
	}
}
