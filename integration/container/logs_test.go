package container

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
)

func TestLogs(t *testing.T) {
	t.Parallel()
	// Lines with gaps so --since and --until can cut between them (and
	// the order across stdout and stderr is certain).
	id, name := d.RunDetached(t, "busybox", "sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 1; echo three; sleep 1; echo four >&2")
	c := d.WaitStatus(t, name, ctypes.StateExited)

	// The file on disk is Docker's json-file format.
	b, err := os.ReadFile(c.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Log    string    `json:"log"`
		Stream string    `json:"stream"`
		Time   time.Time `json:"time"`
	}
	var entries []entry
	for _, line := range lines(string(b)) {
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if len(raw) != 3 || raw["log"] == nil || raw["stream"] == nil || raw["time"] == nil {
			t.Errorf("log line %q: want exactly log, stream, time", line)
		}
		var e entry
		_ = json.Unmarshal([]byte(line), &e)
		entries = append(entries, e)
	}
	want := []entry{{"one\n", "stdout", time.Time{}}, {"two\n", "stderr", time.Time{}}, {"three\n", "stdout", time.Time{}}, {"four\n", "stderr", time.Time{}}}
	if len(entries) != len(want) {
		t.Fatalf("log file:\n%s", b)
	}
	for i := range want {
		if entries[i].Log != want[i].Log || entries[i].Stream != want[i].Stream || entries[i].Time.IsZero() {
			t.Errorf("entry %d: %+v, want %+v", i, entries[i], want[i])
		}
	}
	if !strings.HasPrefix(c.LogPath, recordDir(id)) {
		t.Errorf("LogPath %s outside the container's directory", c.LogPath)
	}

	res := d.Pouch(t, nil, "logs", name)
	if res.Stdout != "one\nthree\n" || res.Stderr != "two\nfour\n" {
		t.Errorf("logs: stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if res := d.Pouch(t, nil, "logs", "--tail", "2", name); res.Stdout+res.Stderr != "three\nfour\n" {
		t.Errorf("--tail 2: %q", res.Combined())
	}
	if res := d.Pouch(t, nil, "logs", "--tail", "0", name); res.Combined() != "" {
		t.Errorf("--tail 0: %q", res.Combined())
	}
	res = d.Pouch(t, nil, "logs", "-t", "--tail", "1", name)
	if ts := strings.TrimSuffix(res.Stderr, " four\n"); ts == res.Stderr {
		t.Errorf("-t: %q", res.Stderr)
	} else if got, err := time.Parse(time.RFC3339Nano, ts); err != nil || !got.Equal(entries[3].Time) {
		t.Errorf("-t timestamp %q (%v), want %v", ts, err, entries[3].Time)
	}
	// --since and --until cut at the gaps (Unix time with nanoseconds).
	unix := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 9, 64) }
	mid := entries[1].Time.Add(entries[2].Time.Sub(entries[1].Time) / 2)
	if res := d.Pouch(t, nil, "logs", "--since", unix(mid), name); res.Combined() != "three\nfour\n" {
		t.Errorf("--since: %q", res.Combined())
	}
	if res := d.Pouch(t, nil, "logs", "--until", unix(mid), name); res.Stdout != "one\n" || res.Stderr != "two\n" {
		t.Errorf("--until: %q", res.Combined())
	}
	if res := d.Pouch(t, nil, "logs", "--since", entries[2].Time.Format(time.RFC3339Nano), "--until", entries[2].Time.Format(time.RFC3339Nano), name); res.Combined() != "three\n" {
		t.Errorf("--since = --until = the third entry's time: %q", res.Combined())
	}
	if res := d.Pouch(t, nil, "logs", "--since", "1h", name); res.Stdout != "one\nthree\n" || res.Stderr != "two\nfour\n" {
		t.Errorf("--since 1h: %q", res.Combined())
	}
	if res := d.Pouch(t, nil, "logs", "--until", "1h", name); res.Combined() != "" {
		t.Errorf("--until 1h (an hour ago): %q", res.Combined())
	}
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	_, name := d.RunDetached(t, "busybox", "sh", "-c", "echo first; sleep 0.5; echo second; sleep 0.5; echo third")
	start := time.Now()
	res := d.Pouch(t, nil, "logs", "-f", name)
	if res.ExitCode != 0 || res.Stdout != "first\nsecond\nthird\n" {
		t.Errorf("logs -f: exit %d %q", res.ExitCode, res.Combined())
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("logs -f took %v: it should end with the container", el)
	}
	// Following an exited container prints and ends.
	if res := d.Pouch(t, nil, "logs", "-f", "--tail", "1", name); res.Stdout != "third\n" {
		t.Errorf("logs -f of an exited container: %q", res.Combined())
	}
	// The API without stdout/stderr chosen is a bad request.
	d.ExpectStatus(t, 400, "GET", "/containers/"+name+"/logs", nil)
}

// TestLogsFollowStream reads a follower line by line while the container
// writes, proving that entries arrive as they are written.
func TestLogsFollowStream(t *testing.T) {
	t.Parallel()
	_, name := d.RunDetached(t, "busybox", "sh", "-c", "sleep 0.3; echo ready; sleep 300")
	d.WaitStatus(t, name, ctypes.StateRunning)
	// Through the API: a multiplexed stream.
	resp, err := d.Client().Get("http://pouch/containers/" + name + "/logs?follow=1&stdout=1&stderr=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() {
		br := bufio.NewReader(resp.Body)
		hdr := make([]byte, 8)
		if _, err := io.ReadFull(br, hdr); err != nil {
			got <- "error: " + err.Error()
			return
		}
		n := int(hdr[4])<<24 | int(hdr[5])<<16 | int(hdr[6])<<8 | int(hdr[7])
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- strconv.Itoa(int(hdr[0])) + ":" + string(body)
	}()
	select {
	case s := <-got:
		if s != "1:ready\n" {
			t.Errorf("first frame %q, want stdout ready", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follower got nothing within 10s")
	}
	if resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
}
