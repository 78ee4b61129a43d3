package jsonlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxLineSize is the longest text one entry holds. Longer lines are split
// into entries of this size without a trailing "\n", as Docker does.
const MaxLineSize = 16 << 10

// Writer appends entries to a json-file log. It is safe for concurrent use:
// each entry is one write(2) to a file opened with O_APPEND, and entries are
// time-stamped under the same lock, so the file is in time order.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	buf []byte
}

// OpenWriter opens (creating it with mode 0640 if needed) the log file at
// path for appending.
func OpenWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f}, nil
}

// Close closes the file.
func (w *Writer) Close() error {
	return w.f.Close()
}

// WriteEntry appends e as one line. A zero e.Time is set to the current time.
func (w *Writer) WriteEntry(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return w.writeLocked(appendEntry(w.buf[:0], e.Log, e.Stream, e.Time))
}

func (w *Writer) writeLine(stream string, log []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(appendEntry(w.buf[:0], log, stream, time.Now()))
}

func (w *Writer) writeLocked(b []byte) error {
	b = append(b, '\n')
	w.buf = b[:0]
	n, err := w.f.Write(b)
	if err != nil && n > 0 && n < len(b) {
		// End the torn line (disk full?) so the next entry gets a line
		// of its own; readers skip the damaged one.
		_, _ = w.f.Write([]byte{'\n'})
	}
	return err
}

// Copy reads r until EOF and appends each line as an entry of the given
// stream: the text keeps its "\n", lines longer than MaxLineSize are split,
// and a last line without "\n" is written as its own entry at EOF.
//
// Write errors are passed to onWriteError (if not nil) and never stop the
// reading: a stalled reader would block the container. Copy returns nil at
// EOF, or the read error.
func (w *Writer) Copy(stream string, r io.Reader, onWriteError func(error)) error {
	return w.copy(stream, r, 0, onWriteError)
}

// CopyLive is Copy for a live stream (a container's output): a line that
// stays unfinished for delay (a shell's prompt, a progress bar) is written
// as it is, a partial entry, so that an attached client sees it. Readers
// of the log concatenate entries, so the text is the same.
func (w *Writer) CopyLive(stream string, r io.Reader, delay time.Duration, onWriteError func(error)) error {
	return w.copy(stream, r, delay, onWriteError)
}

type chunk struct {
	data []byte
	err  error
}

func (w *Writer) copy(stream string, r io.Reader, delay time.Duration, onWriteError func(error)) error {
	put := func(line []byte) {
		if err := w.writeLine(stream, line); err != nil && onWriteError != nil {
			onWriteError(err)
		}
	}
	// Between reads at most MaxLineSize bytes are pending, so each read has
	// room for at least MaxLineSize more.
	buf := make([]byte, 2*MaxLineSize)
	n := 0
	var chunks chan chunk
	if delay > 0 {
		// Reads go on in their own goroutine so that an unfinished line
		// can be flushed while one blocks. It ends with the reader.
		chunks = make(chan chunk)
		go func() {
			b := make([]byte, MaxLineSize)
			for {
				m, err := r.Read(b)
				chunks <- chunk{data: append([]byte(nil), b[:m]...), err: err}
				if err != nil {
					return
				}
			}
		}()
	}
	for {
		var m int
		var rerr error
		if chunks == nil {
			m, rerr = r.Read(buf[n:])
		} else {
			var timer *time.Timer
			var timeout <-chan time.Time
			if n > 0 {
				timer = time.NewTimer(delay)
				timeout = timer.C
			}
			select {
			case c := <-chunks:
				m, rerr = copy(buf[n:], c.data), c.err
			case <-timeout:
				put(buf[:n])
				n = 0
				continue
			}
			if timer != nil {
				timer.Stop()
			}
		}
		n += m
		p := 0
		for p < n {
			line := buf[p:n]
			if i := bytes.IndexByte(line, '\n'); i >= 0 && i <= MaxLineSize {
				line = line[:i+1]
			} else if len(line) > MaxLineSize {
				line = line[:splitPoint(line)]
			} else {
				break
			}
			put(line)
			p += len(line)
		}
		n = copy(buf, buf[p:n])
		if rerr != nil {
			if n > 0 {
				put(buf[:n])
			}
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}

// splitPoint returns where to cut a line longer than MaxLineSize bytes: at
// MaxLineSize, moved back to the start of a UTF-8 sequence that would
// otherwise be cut in two.
func splitPoint(line []byte) int {
	for cut := MaxLineSize; cut > MaxLineSize-utf8.UTFMax; cut-- {
		if utf8.RuneStart(line[cut]) {
			return cut
		}
	}
	return MaxLineSize
}
