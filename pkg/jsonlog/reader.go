package jsonlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

const (
	// pollInterval is how often a follower looks for new data or for the
	// file to appear.
	pollInterval = 15 * time.Millisecond
	// untilGrace is how long past Until a follower waits for entries
	// stamped before Until but not yet written.
	untilGrace = 50 * time.Millisecond
	// readChunk is the size of the reads, forwards and backwards.
	readChunk = 64 << 10
	// maxLineBytes bounds one line of the file; longer ones (damage: the
	// writer never writes more than about 100 KiB) are skipped.
	maxLineBytes = 1 << 20
)

// ReadOptions selects the entries Read emits.
type ReadOptions struct {
	// Tail is how many of the last entries to start with; below zero means
	// all of them. Note that zero emits no old entries.
	Tail int
	// Since and Until bound the entries' times, inclusive; zero is unbounded.
	// Since applies after Tail, as in Docker. Read returns at the first entry
	// after Until, and a follower also returns once the clock passes Until.
	Since, Until time.Time
	// Follow keeps reading new entries as they are written, until the
	// context is cancelled (Read returns its error) or Done is closed.
	Follow bool
	// Done, when closed, makes a follower read the file to its end and
	// return nil: the writer has finished.
	Done <-chan struct{}
	// From, with Tail zero, starts at this byte offset (the file's size
	// measured earlier) instead of the end, so that entries written since
	// are not missed.
	From int64
}

// errUntil ends reading at the first entry after ReadOptions.Until.
var errUntil = errors.New("past until")

// Read emits the entries of the json-file log at path, in file order. An
// error from emit stops Read, which returns it. Damaged lines are skipped,
// and a torn last line (the writer is mid-write) is never emitted: a
// follower waits for the rest of it. A missing file has no entries; a
// follower waits for it to appear.
func Read(ctx context.Context, path string, opts ReadOptions, emit func(Entry) error) error {
	f, err := openLog(ctx, path, opts)
	if f == nil {
		return err
	}
	defer f.Close()

	r := &reader{f: f, opts: opts, emit: emit, buf: make([]byte, 0, readChunk)}
	if opts.Tail >= 0 {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		r.off, err = tailOffset(f, fi.Size(), opts.Tail)
		if err != nil {
			return err
		}
		if opts.Tail == 0 && opts.From > 0 && opts.From < r.off {
			r.off = opts.From
		}
		if _, err := f.Seek(r.off, io.SeekStart); err != nil {
			return err
		}
	}
	err = r.run(ctx)
	if errors.Is(err, errUntil) {
		return nil
	}
	return err
}

// openLog opens the log, waiting for it to appear when following. It
// returns nil and no error when there is nothing to read.
func openLog(ctx context.Context, path string, opts ReadOptions) (*os.File, error) {
	f, err := os.Open(path)
	switch {
	case err == nil:
		return f, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case !opts.Follow:
		return nil, nil
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-opts.Done:
			// The writer is finished; the file may have appeared meanwhile.
			f, err := os.Open(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			return f, err
		case <-tick.C:
			if untilPassed(opts.Until) {
				return nil, nil
			}
			f, err := os.Open(path)
			if !errors.Is(err, fs.ErrNotExist) {
				return f, err
			}
		}
	}
}

func untilPassed(until time.Time) bool {
	return !until.IsZero() && time.Since(until) > untilGrace
}

type reader struct {
	f    *os.File
	opts ReadOptions
	emit func(Entry) error
	off  int64  // file offset after buf
	buf  []byte // read, not yet consumed: part of a line
	skip bool   // dropping an over-long line up to its end
}

func (r *reader) run(ctx context.Context) error {
	if !r.opts.Follow {
		return r.readToEOF(ctx)
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := r.readToEOF(ctx); err != nil {
			return err
		}
		if err := r.restartIfTruncated(); err != nil {
			return err
		}
		if untilPassed(r.opts.Until) {
			return r.readToEOF(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.opts.Done:
			return r.readToEOF(ctx)
		case <-tick.C:
		}
	}
}

// readToEOF emits the complete lines up to the current end of the file.
func (r *reader) readToEOF(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(r.buf) == cap(r.buf) {
			r.buf = slices.Grow(r.buf, cap(r.buf))
		}
		n, err := r.f.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		r.off += int64(n)
		if n > 0 {
			if err := r.consume(); err != nil {
				return err
			}
		}
		if n == 0 || errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// consume emits the complete lines in buf and keeps the rest.
func (r *reader) consume() error {
	p := 0
	for {
		i := bytes.IndexByte(r.buf[p:], '\n')
		if i < 0 {
			break
		}
		line := r.buf[p : p+i]
		p += i + 1
		if r.skip {
			r.skip = false
			continue
		}
		if err := r.handle(line); err != nil {
			return err
		}
	}
	r.buf = r.buf[:copy(r.buf, r.buf[p:])]
	if len(r.buf) > maxLineBytes {
		r.buf, r.skip = r.buf[:0], true
	}
	if cap(r.buf) > maxLineBytes && len(r.buf) < readChunk {
		// Give back the room an over-long line took.
		r.buf = append(make([]byte, 0, readChunk), r.buf...)
	}
	return nil
}

func (r *reader) handle(line []byte) error {
	if len(line) == 0 {
		return nil
	}
	e, err := decodeEntry(line)
	if err != nil {
		return nil // damaged line
	}
	if !r.opts.Until.IsZero() && e.Time.After(r.opts.Until) {
		return errUntil
	}
	if !r.opts.Since.IsZero() && e.Time.Before(r.opts.Since) {
		return nil
	}
	return r.emit(e)
}

// restartIfTruncated starts again from the beginning when the file has
// been truncated below what was read.
func (r *reader) restartIfTruncated() error {
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() >= r.off {
		return nil
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r.off, r.buf, r.skip = 0, r.buf[:0], false
	return nil
}

// tailOffset returns where the last n complete lines of the first size
// bytes of f start, reading backwards from the end. Bytes after the last
// "\n" are a torn line, not counted.
func tailOffset(f io.ReaderAt, size int64, n int) (int64, error) {
	want := n + 1 // the newline ending the line before the first wanted one
	buf := make([]byte, readChunk)
	for end := size; end > 0; {
		start := max(end-readChunk, 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		for i := len(chunk); ; {
			i = bytes.LastIndexByte(chunk[:i], '\n')
			if i < 0 {
				break
			}
			if want--; want == 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}
