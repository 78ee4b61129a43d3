package jsonlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/fifo"
)

// LoggerConfig is one run of the per-container log writer (pouch-logger).
type LoggerConfig struct {
	// Stdout and Stderr are the container's output FIFOs, created with
	// mode 0700 if missing. An empty path leaves that stream out (a TTY
	// container has only stdout).
	Stdout, Stderr string
	// Log is the json-file destination.
	Log string
	// Ready, if not nil, gets one byte and is closed once the FIFOs are
	// open for reading: the task may be created.
	Ready io.WriteCloser
	// Stop, when closed, bounds the rest of the run to DrainTimeout: the
	// streams are still copied to EOF, but RunLogger gives up after that.
	Stop         <-chan struct{}
	DrainTimeout time.Duration
	// Errors receives write errors, at most one line a second; nil
	// discards them.
	Errors io.Writer
}

// ErrDrainTimeout is returned by RunLogger when the streams did not reach
// EOF within DrainTimeout of Stop.
var ErrDrainTimeout = errors.New("streams not drained before the stop timeout")

// RunLogger copies the FIFOs into the log until both reach EOF (their
// writers closed them) and returns nil then. Write errors are reported to
// cfg.Errors and never stop the copying. Cancelling ctx aborts at once.
// PartialLineDelay is how long the logger lets an unfinished line wait for
// its end before logging it as it is (see CopyLive).
const PartialLineDelay = 20 * time.Millisecond

func RunLogger(ctx context.Context, cfg LoggerConfig) error {
	w, err := OpenWriter(cfg.Log)
	if err != nil {
		return err
	}
	defer w.Close()

	type stream struct {
		name string
		r    io.ReadCloser
	}
	var streams []stream
	defer func() {
		for _, s := range streams {
			s.r.Close()
		}
	}()
	for _, s := range []struct{ name, path string }{{Stdout, cfg.Stdout}, {Stderr, cfg.Stderr}} {
		if s.path == "" {
			continue
		}
		// Returns at once; the open completes when a writer opens the FIFO.
		r, err := fifo.OpenFifo(ctx, s.path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
		if err != nil {
			return fmt.Errorf("open %s fifo: %w", s.name, err)
		}
		streams = append(streams, stream{s.name, r})
	}
	if len(streams) == 0 {
		return errors.New("no stream to copy")
	}

	if cfg.Ready != nil {
		_, err := cfg.Ready.Write([]byte{1})
		if cerr := cfg.Ready.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// Whoever started us is gone and will not create the task.
			return fmt.Errorf("signal ready: %w", err)
		}
	}

	report := newErrorReporter(cfg.Errors)
	done := make(chan error, len(streams))
	for _, s := range streams {
		go func() {
			err := w.CopyLive(s.name, s.r, PartialLineDelay, report.report)
			if err != nil {
				err = fmt.Errorf("read %s: %w", s.name, err)
			}
			done <- err
		}()
	}

	var firstErr error
	var timeout <-chan time.Time
	stop := cfg.Stop
	for left := len(streams); left > 0; {
		select {
		case err := <-done:
			left--
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-stop:
			stop = nil
			timer := time.NewTimer(cfg.DrainTimeout)
			defer timer.Stop()
			timeout = timer.C
		case <-timeout:
			return ErrDrainTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return firstErr
}

// errorReporter writes errors at most once a second, counting the rest, so
// that a full disk does not flood the logger's own log.
type errorReporter struct {
	mu         sync.Mutex
	w          io.Writer
	last       time.Time
	suppressed int
}

func newErrorReporter(w io.Writer) *errorReporter {
	if w == nil {
		w = io.Discard
	}
	return &errorReporter{w: w}
}

func (r *errorReporter) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		r.suppressed++
		return
	}
	r.last = now
	msg := fmt.Sprintf("%s pouch-logger: %v", now.UTC().Format(time.RFC3339Nano), err)
	if r.suppressed > 0 {
		msg += fmt.Sprintf(" (%d more errors since the last report)", r.suppressed)
		r.suppressed = 0
	}
	fmt.Fprintln(r.w, msg)
}
