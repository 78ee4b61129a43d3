package jsonlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// at is t0 plus i seconds.
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }

// writeLog writes entries "0\n".."n-1\n" stamped at(0)..at(n-1).
func writeLog(t *testing.T, path string, n int) {
	t.Helper()
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range n {
		if err := w.WriteEntry(Entry{Log: fmt.Sprintf("%d\n", i), Stream: Stdout, Time: at(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func line(i int) string {
	return string(Entry{Log: fmt.Sprintf("%d\n", i), Stream: Stdout, Time: at(i)}.AppendJSON(nil)) + "\n"
}

// collect runs Read and returns the logs it emitted, without their "\n".
func collect(ctx context.Context, path string, opts ReadOptions) ([]string, error) {
	var got []string
	err := Read(ctx, path, opts, func(e Entry) error {
		got = append(got, strings.TrimSuffix(e.Log, "\n"))
		return nil
	})
	return got, err
}

func nums(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

func TestReadSelects(t *testing.T) {
	tests := []struct {
		name string
		opts ReadOptions
		want []string
	}{
		{"all", ReadOptions{Tail: -1}, nums(0, 10)},
		{"tail 0", ReadOptions{Tail: 0}, nil},
		{"tail 3", ReadOptions{Tail: 3}, nums(7, 10)},
		{"tail more than there is", ReadOptions{Tail: 50}, nums(0, 10)},
		{"since", ReadOptions{Tail: -1, Since: at(4)}, nums(4, 10)},
		{"since between entries", ReadOptions{Tail: -1, Since: at(4).Add(time.Millisecond)}, nums(5, 10)},
		{"until", ReadOptions{Tail: -1, Until: at(6)}, nums(0, 7)},
		{"since and until", ReadOptions{Tail: -1, Since: at(2), Until: at(4)}, nums(2, 5)},
		{"tail then since", ReadOptions{Tail: 5, Since: at(7)}, nums(7, 10)},
		{"tail and until", ReadOptions{Tail: 5, Until: at(6)}, nums(5, 7)},
		{"since after all", ReadOptions{Tail: -1, Since: at(20)}, nil},
		{"until before all", ReadOptions{Tail: -1, Until: at(-1)}, nil},
	}
	path := filepath.Join(t.TempDir(), "log.json")
	writeLog(t, path, 10)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect(context.Background(), path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadDamage(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts ReadOptions
		want []string
	}{
		{"torn last line", line(0) + line(1) + `{"log":"2\n","str`, ReadOptions{Tail: -1}, nums(0, 2)},
		{"torn last line, tail", line(0) + line(1) + `{"log":"2\n","str`, ReadOptions{Tail: 1}, nums(1, 2)},
		{"torn last line, tail 0", line(0) + line(1) + `{"log":"2\n","str`, ReadOptions{Tail: 0}, nil},
		{"damaged line skipped", line(0) + "{\"log\":\"x\n" + "\n" + "garbage\n" + line(1), ReadOptions{Tail: -1}, nums(0, 2)},
		{"only a torn line", `{"log":`, ReadOptions{Tail: -1}, nil},
		{"empty file", "", ReadOptions{Tail: 3}, nil},
		{"over-long line skipped", line(0) + `{"log":"` + strings.Repeat("z", 3*maxLineBytes) + "\"}\n" + line(1), ReadOptions{Tail: -1}, nums(0, 2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.json")
			appendRaw(t, path, tc.file)
			got, err := collect(context.Background(), path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	got, err := collect(context.Background(), path, ReadOptions{Tail: -1})
	if err != nil || got != nil {
		t.Fatalf("got %v, %v", got, err)
	}
	done := make(chan struct{})
	close(done)
	got, err = collect(context.Background(), path, ReadOptions{Tail: -1, Follow: true, Done: done})
	if err != nil || got != nil {
		t.Fatalf("follow with done: got %v, %v", got, err)
	}
}

func TestReadEmitError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	writeLog(t, path, 5)
	stop := errors.New("stop")
	n := 0
	err := Read(context.Background(), path, ReadOptions{Tail: -1}, func(Entry) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("err %v after %d entries", err, n)
	}
}

// follow runs a following Read in the background; the result arrives on the
// returned channel.
type followResult struct {
	got []string
	err error
}

func follow(ctx context.Context, path string, opts ReadOptions) <-chan followResult {
	ch := make(chan followResult, 1)
	opts.Follow = true
	go func() {
		got, err := collect(ctx, path, opts)
		ch <- followResult{got, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan followResult) followResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("follower did not return")
		return followResult{}
	}
}

func TestFollow(t *testing.T) {
	tests := []struct {
		name string
		// before is written before following starts, during after it.
		before, during func(t *testing.T, path string)
		opts           ReadOptions
		want           []string
	}{
		{
			name:   "tail then new entries",
			before: func(t *testing.T, path string) { writeLog(t, path, 5) },
			during: func(t *testing.T, path string) {
				time.Sleep(40 * time.Millisecond)
				for i := 5; i < 8; i++ {
					appendRaw(t, path, line(i))
				}
			},
			opts: ReadOptions{Tail: 2},
			want: nums(3, 8),
		},
		{
			name: "file appears later",
			during: func(t *testing.T, path string) {
				time.Sleep(40 * time.Millisecond)
				writeLog(t, path, 3)
			},
			opts: ReadOptions{Tail: -1},
			want: nums(0, 3),
		},
		{
			name:   "torn line completed later",
			before: func(t *testing.T, path string) { appendRaw(t, path, line(0)+line(1)[:10]) },
			during: func(t *testing.T, path string) {
				time.Sleep(40 * time.Millisecond)
				appendRaw(t, path, line(1)[10:20])
				time.Sleep(40 * time.Millisecond)
				appendRaw(t, path, line(1)[20:]+line(2))
			},
			opts: ReadOptions{Tail: -1},
			want: nums(0, 3),
		},
		{
			name: "torn line left at the end is dropped",
			during: func(t *testing.T, path string) {
				appendRaw(t, path, line(0)+line(1)[:10])
			},
			opts: ReadOptions{Tail: -1},
			want: nums(0, 1),
		},
		{
			name:   "truncated file read again",
			before: func(t *testing.T, path string) { writeLog(t, path, 3) },
			during: func(t *testing.T, path string) {
				time.Sleep(40 * time.Millisecond)
				if err := os.Truncate(path, 0); err != nil {
					t.Error(err)
				}
				time.Sleep(40 * time.Millisecond)
				appendRaw(t, path, line(7))
			},
			opts: ReadOptions{Tail: -1},
			want: []string{"0", "1", "2", "7"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.json")
			if tc.before != nil {
				tc.before(t, path)
			}
			done := make(chan struct{})
			tc.opts.Done = done
			ch := follow(context.Background(), path, tc.opts)
			tc.during(t, path)
			close(done) // everything written before this is read
			r := wait(t, ch)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if fmt.Sprint(r.got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", r.got, tc.want)
			}
		})
	}
}

// A follower sees a concurrent writer's entries as they come, and after Done
// it has every one of them.
func TestFollowConcurrentWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	seen := make(chan string, 1000)
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- Read(context.Background(), path, ReadOptions{Tail: -1, Follow: true, Done: done}, func(e Entry) error {
			seen <- e.Stream + " " + e.Log
			return nil
		})
	}()

	// The first entry arrives while the writer is still running.
	if err := w.WriteEntry(Entry{Log: "first\n", Stream: Stdout}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-seen:
		if s != "stdout first\n" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follower did not see a new entry")
	}

	var wg sync.WaitGroup
	for _, stream := range []string{Stdout, Stderr} {
		pr, pw := io.Pipe()
		wg.Go(func() { _ = w.Copy(stream, pr, nil) })
		wg.Go(func() {
			for i := range 300 {
				fmt.Fprintf(pw, "%d\n", i)
				if i%50 == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
			pw.Close()
		})
	}
	wg.Wait()
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	close(seen)
	next := map[string]int{}
	for s := range seen {
		stream, n, _ := strings.Cut(s, " ")
		if want := fmt.Sprintf("%d\n", next[stream]); n != want {
			t.Fatalf("%s: got %q, want %q", stream, n, want)
		}
		next[stream]++
	}
	if next[Stdout] != 300 || next[Stderr] != 300 {
		t.Fatalf("counts %v", next)
	}
}

func TestFollowEnds(t *testing.T) {
	t.Run("context cancelled", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log.json")
		writeLog(t, path, 2)
		ctx, cancel := context.WithCancel(context.Background())
		ch := follow(ctx, path, ReadOptions{Tail: -1})
		time.Sleep(30 * time.Millisecond)
		cancel()
		r := wait(t, ch)
		if !errors.Is(r.err, context.Canceled) || fmt.Sprint(r.got) != fmt.Sprint(nums(0, 2)) {
			t.Fatalf("got %v, %v", r.got, r.err)
		}
	})
	t.Run("context cancelled while waiting for the file", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		r := wait(t, follow(ctx, filepath.Join(t.TempDir(), "nope"), ReadOptions{Tail: -1}))
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("err %v", r.err)
		}
	})
	t.Run("entry after until", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log.json")
		writeLog(t, path, 2)
		until := time.Now().Add(time.Hour)
		ch := follow(context.Background(), path, ReadOptions{Tail: -1, Until: until})
		time.Sleep(30 * time.Millisecond)
		w, err := OpenWriter(path)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.WriteEntry(Entry{Log: "in\n", Time: until})
		w.WriteEntry(Entry{Log: "out\n", Time: until.Add(time.Nanosecond)})
		r := wait(t, ch)
		if r.err != nil || fmt.Sprint(r.got) != "[0 1 in]" {
			t.Fatalf("got %v, %v", r.got, r.err)
		}
	})
	t.Run("clock passes until", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log.json")
		writeLog(t, path, 2)
		r := wait(t, follow(context.Background(), path, ReadOptions{Tail: -1, Until: time.Now().Add(50 * time.Millisecond)}))
		if r.err != nil || fmt.Sprint(r.got) != fmt.Sprint(nums(0, 2)) {
			t.Fatalf("got %v, %v", r.got, r.err)
		}
	})
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// Tail reads backwards from the end: the bytes it reads depend on the
// lines wanted, not on the size of the file.
func TestTailReadsOnlyTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	var sb strings.Builder
	for i := range 100000 {
		sb.WriteString(line(i))
	}
	appendRaw(t, path, sb.String())
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}

	for _, n := range []int{0, 1, 10, 1000} {
		c := &countingReaderAt{r: f}
		off, err := tailOffset(c, fi.Size(), n)
		if err != nil {
			t.Fatal(err)
		}
		if want := fi.Size() - int64(len(line(99999)))*int64(n); n < 10 && off != want {
			t.Fatalf("tail %d: offset %d, want %d", n, off, want)
		}
		if max := int64(n+1)*int64(len(line(99999))) + readChunk; c.n > max {
			t.Fatalf("tail %d read %d bytes of %d", n, c.n, fi.Size())
		}
	}

	got, err := collect(context.Background(), path, ReadOptions{Tail: 3})
	if err != nil || fmt.Sprint(got) != fmt.Sprint(nums(99997, 100000)) {
		t.Fatalf("got %v, %v", got, err)
	}
}
