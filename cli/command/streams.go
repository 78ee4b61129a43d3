// Package command holds the pieces every pouch command shares: the
// standard streams, the error type that carries an exit code, flag helpers
// and small prompts.
package command

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Streams are the standard streams a command reads from and writes to.
// Tests replace them with buffers to capture output.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// StdStreams returns the process's own standard streams.
func StdStreams() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}

// IsTerminal reports whether s is a file connected to a terminal.
func IsTerminal(s any) bool {
	f, ok := s.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
