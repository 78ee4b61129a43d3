package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type exportOptions struct {
	container string
	output    string
}

func newExportCommand(deps *Deps) *cobra.Command {
	var opts exportOptions
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			return runExport(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// runExport writes the archive to the -o file (replaced only once it is
// complete) or to stdout, never to a terminal.
func runExport(ctx context.Context, deps *Deps, opts *exportOptions) error {
	if opts.output == "" && command.IsTerminal(deps.Out) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	if opts.output != "" {
		if err := validateOutputPath(opts.output); err != nil {
			return fmt.Errorf("failed to export container: %w", err)
		}
	}
	api := deps.Client
	body, err := api.ContainerExport(ctx, opts.container, client.ContainerExportOptions{})
	if err != nil {
		return err
	}
	defer body.Close()
	if opts.output == "" {
		_, err := io.Copy(deps.Out, body)
		return err
	}
	return copyToFileAtomic(opts.output, body)
}

// copyToFileAtomic copies r into a temporary file beside path and renames
// it over path once everything was written.
func copyToFileAtomic(path string, r io.Reader) (retErr error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
