package command

import (
	"encoding/json"
	"errors"
	"io"
	"iter"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client/pkg/jsonmessage"
)

// ProgressOutput is where a stream of the daemon's JSON progress messages
// is drawn. On a terminal each layer keeps one line, rewritten in place
// with a progress bar; otherwise progress updates are left out and every
// other message is one plain line.
type ProgressOutput struct {
	W        io.Writer
	Fd       uintptr // W's file descriptor, used for the terminal width
	Terminal bool
}

// NewProgressOutput describes w, drawing bars when w is a terminal.
func NewProgressOutput(w io.Writer) ProgressOutput {
	out := ProgressOutput{W: w}
	if f, ok := w.(interface{ Fd() uintptr }); ok && IsTerminal(w) {
		out.Fd, out.Terminal = f.Fd(), true
	}
	return out
}

// streamMessage is a progress message as daemons send it: older ones set
// only the string "error", newer ones "errorDetail" as well.
type streamMessage struct {
	jsonstream.Message
	ErrorMessage string `json:"error,omitempty"`
}

// decodeMessages yields the messages of a JSON stream; a message with
// only the legacy "error" string gets it as its Error.
func decodeMessages(in io.Reader) iter.Seq2[jsonstream.Message, error] {
	return func(yield func(jsonstream.Message, error) bool) {
		dec := json.NewDecoder(in)
		for {
			var m streamMessage
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				return
			}
			if err == nil && m.Error == nil && m.ErrorMessage != "" {
				m.Error = &jsonstream.Error{Message: m.ErrorMessage}
			}
			if !yield(m.Message, err) || err != nil {
				return
			}
		}
	}
}

// DisplayProgress draws the JSON progress messages read from in, as the
// docker CLI does (it uses the same renderer). It returns the first error
// message in the stream, or a failure to read it.
func DisplayProgress(in io.Reader, out ProgressOutput) error {
	err := jsonmessage.DisplayJSONMessages(decodeMessages(in), out.W, out.Fd, out.Terminal, nil)
	var streamErr *jsonstream.Error
	if errors.As(err, &streamErr) {
		return errors.New(streamErr.Message)
	}
	return err
}
