package jsonlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// readFile decodes every line of a json-file log, failing on a bad one.
func readFile(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxLineBytes)
	for sc.Scan() {
		e, err := decodeEntry(sc.Bytes())
		if err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func logs(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Log
	}
	return out
}

func TestCopySplitsLines(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"lines", "a\nb\n", []string{"a\n", "b\n"}},
		{"empty lines", "\n\na\n", []string{"\n", "\n", "a\n"}},
		{"final partial line", "a\nb", []string{"a\n", "b"}},
		{"only a partial line", "abc", []string{"abc"}},
		{"line of exactly the limit", x(MaxLineSize) + "\n", []string{x(MaxLineSize) + "\n"}},
		{"unterminated line of exactly the limit", x(MaxLineSize), []string{x(MaxLineSize)}},
		{"one over", x(MaxLineSize+1) + "\n", []string{x(MaxLineSize), "x\n"}},
		{"long line", x(40000) + "\nend\n", []string{x(MaxLineSize), x(MaxLineSize), x(40000-2*MaxLineSize) + "\n", "end\n"}},
		{
			"split moved back to keep a rune whole",
			x(MaxLineSize-1) + "é" + "\n",
			[]string{x(MaxLineSize - 1), "é\n"},
		},
	}
	readers := map[string]func(string) io.Reader{
		"whole":    func(s string) io.Reader { return strings.NewReader(s) },
		"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	for _, tc := range tests {
		for rname, mk := range readers {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "log.json")
				w, err := OpenWriter(path)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				if err := w.Copy(Stdout, mk(tc.in), nil); err != nil {
					t.Fatal(err)
				}
				got := readFile(t, path)
				if fmt.Sprint(logs(got)) != fmt.Sprint(tc.want) {
					t.Fatalf("got %q\nwant %q", logs(got), tc.want)
				}
				for _, e := range got {
					if e.Stream != Stdout || time.Since(e.Time) > time.Minute {
						t.Fatalf("bad entry %+v", e)
					}
				}
			})
		}
	}
}

func TestCopyReturnsReadError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom))
	if err := w.Copy(Stderr, r, nil); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if got := logs(readFile(t, path)); fmt.Sprint(got) != fmt.Sprint([]string{"a\n", "b"}) {
		t.Fatalf("got %q", got)
	}
}

func TestCopyKeepsReadingAfterWriteErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Close() // every write now fails
	var n int
	in := strings.Repeat("line\n", 100)
	r := strings.NewReader(in)
	if err := w.Copy(Stdout, r, func(error) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 100 || r.Len() != 0 {
		t.Fatalf("%d write errors, %d bytes unread", n, r.Len())
	}
}

func TestWriterFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&^0o640 != 0 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// Appends to what is there.
	if err := w.WriteEntry(Entry{Log: "a\n", Stream: Stdout}); err != nil {
		t.Fatal(err)
	}
	w2, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if err := w2.WriteEntry(Entry{Log: "b\n", Stream: Stdout, Time: t0}); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	if len(got) != 2 || got[0].Log != "a\n" || got[1].Log != "b\n" || !got[1].Time.Equal(t0) {
		t.Fatalf("got %+v", got)
	}
}

// Two streams written at once, in small odd-sized pieces: every line is
// valid, each stream's lines are in order, times never go back.
func TestConcurrentCopies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const lines = 2000
	var wg sync.WaitGroup
	for _, stream := range []string{Stdout, Stderr} {
		pr, pw := io.Pipe()
		wg.Go(func() {
			if err := w.Copy(stream, pr, nil); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			var sb strings.Builder
			for i := range lines {
				fmt.Fprintf(&sb, "%s line %d %s\n", stream, i, strings.Repeat("y", i%300))
			}
			data := sb.String()
			for step := 1; len(data) > 0; step = step%97 + 13 {
				n := min(step, len(data))
				if _, err := pw.Write([]byte(data[:n])); err != nil {
					t.Error(err)
				}
				data = data[n:]
			}
			pw.Close()
		})
	}
	wg.Wait()

	next := map[string]int{}
	var last time.Time
	for _, e := range readFile(t, path) {
		want := fmt.Sprintf("%s line %d %s\n", e.Stream, next[e.Stream], strings.Repeat("y", next[e.Stream]%300))
		if e.Log != want {
			t.Fatalf("got %q, want %q", e.Log, want)
		}
		next[e.Stream]++
		if e.Time.Before(last) {
			t.Fatalf("time went back: %v after %v", e.Time, last)
		}
		last = e.Time
	}
	if next[Stdout] != lines || next[Stderr] != lines {
		t.Fatalf("counts %v", next)
	}
}

func TestCopyLiveFlushesAnUnfinishedLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- w.CopyLive("stdout", r, 10*time.Millisecond, nil) }()
	// Whole lines written in pieces, quickly, stay one entry.
	if _, err := pw.Write([]byte("one ")); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write([]byte("line\n/ # ")); err != nil {
		t.Fatal(err)
	}
	// The prompt has no newline: it must be logged while the writer waits.
	deadline := time.Now().Add(5 * time.Second)
	var got []Entry
	for time.Now().Before(deadline) {
		if got = readFile(t, path); len(got) == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(got) != 2 || got[0].Log != "one line\n" || got[1].Log != "/ # " {
		t.Fatalf("entries while the line is unfinished: %+v", got)
	}
	pw.Write([]byte("ls\n"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got = readFile(t, path)
	var text strings.Builder
	for _, e := range got {
		text.WriteString(e.Log)
	}
	if text.String() != "one line\n/ # ls\n" {
		t.Errorf("log text %q", text.String())
	}
}
