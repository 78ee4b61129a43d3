package command

import (
	"fmt"
	"strings"
)

// StatusError ends a command with StatusCode. The root command prints Err,
// when set, to stderr; a nil Err exits silently (e.g. passing on the exit
// code of a container).
type StatusError struct {
	Err        error
	StatusCode int
}

func (e StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.StatusCode)
	}
	return e.Err.Error()
}

func (e StatusError) Unwrap() error { return e.Err }

// ReportedError formats an error the way `docker run` reports it:
// "pouch: <message>." and, for usage mistakes, a pointer to the help.
type ReportedError struct {
	Err      error
	HelpPath string // e.g. "pouch run"; empty omits the help hint
}

func (e ReportedError) Error() string {
	msg := "pouch: " + strings.TrimSuffix(e.Err.Error(), ".") + "."
	if e.HelpPath != "" {
		msg += "\nSee '" + e.HelpPath + " --help'."
	}
	return msg
}

func (e ReportedError) Unwrap() error { return e.Err }
