package container

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/moby/term"
)

// errDetached ends an attach when the user typed the detach keys.
var errDetached = errors.New("detached")

// rawTerminal puts in into raw mode when it is a terminal (for a TTY
// container: keys go to the container as typed) and returns the restore.
func rawTerminal(in io.Reader) func() {
	f, ok := in.(interface{ Fd() uintptr })
	if !ok || !term.IsTerminal(f.Fd()) {
		return func() {}
	}
	state, err := term.SetRawTerminal(f.Fd())
	if err != nil {
		return func() {}
	}
	return func() { _ = term.RestoreTerminal(f.Fd(), state) }
}

// terminalSize is the window size of out when it is a terminal.
func terminalSize(out io.Writer) (height, width uint, ok bool) {
	f, isFile := out.(interface{ Fd() uintptr })
	if !isFile || !term.IsTerminal(f.Fd()) {
		return 0, 0, false
	}
	ws, err := term.GetWinsize(f.Fd())
	if err != nil || ws.Height == 0 || ws.Width == 0 {
		return 0, 0, false
	}
	return uint(ws.Height), uint(ws.Width), true
}

// followTerminalSize sends out's window size through resize now and on
// every SIGWINCH until ctx ends.
func followTerminalSize(ctx context.Context, out io.Writer, resize func(ctx context.Context, height, width uint) error) {
	if _, _, ok := terminalSize(out); !ok {
		return
	}
	send := func() {
		if h, w, ok := terminalSize(out); ok {
			_ = resize(ctx, h, w)
		}
	}
	send()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(sigc)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigc:
				send()
			}
		}
	}()
}

// detachableInput passes in through until the detach keys are typed;
// then reads fail with errDetached.
func detachableInput(in io.Reader, keys string) (io.Reader, error) {
	if keys == "" {
		keys = "ctrl-p,ctrl-q"
	}
	b, err := term.ToBytes(keys)
	if err != nil {
		return nil, err
	}
	return &escapeReader{r: term.NewEscapeProxy(in, b)}, nil
}

type escapeReader struct{ r io.Reader }

func (e *escapeReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	var esc term.EscapeError
	if errors.As(err, &esc) {
		return n, errDetached
	}
	return n, err
}
