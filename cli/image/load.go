package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type loadOptions struct {
	input string
	quiet bool
}

func newLoadCommand(deps *Deps) *cobra.Command {
	var opts loadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

// runLoad sends a docker-archive or OCI-layout tarball to the daemon and
// prints its messages, e.g. "Loaded image: busybox:latest".
func runLoad(ctx context.Context, deps *Deps, opts *loadOptions) error {
	input := deps.In
	if opts.input != "" {
		f, err := os.Open(opts.input)
		if err != nil {
			return err
		}
		defer f.Close()
		input = f
	} else if command.IsTerminal(deps.In) {
		return errors.New("requested load from stdin, but stdin is empty")
	}

	quiet := opts.quiet || !command.IsTerminal(deps.Out)
	res, err := deps.Client.ImageLoad(ctx, input, client.ImageLoadWithQuiet(quiet))
	if err != nil {
		return err
	}
	defer res.Close()
	return printMessages(res, deps.Out)
}

// printMessages prints a stream of the daemon's JSON progress messages as
// plain lines, stopping at the first error message. Progress bars are not
// drawn.
func printMessages(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(in)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case m.Error != nil:
			return errors.New(m.Error.Message)
		case m.Aux != nil:
		case m.Stream != "":
			fmt.Fprint(out, m.Stream)
		case m.Progress != nil && (m.Progress.Current > 0 || m.Progress.Total > 0):
		case m.ID != "":
			fmt.Fprintf(out, "%s: %s\n", m.ID, m.Status)
		default:
			fmt.Fprintln(out, m.Status)
		}
	}
}
