package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type saveOptions struct {
	output string
	images []string
}

func newSaveCommand(deps *Deps) *cobra.Command {
	var opts saveOptions
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runSave(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// runSave writes the images as a tar archive to the -o file (replaced only
// once the archive is complete) or to stdout, never to a terminal.
func runSave(ctx context.Context, deps *Deps, opts *saveOptions) error {
	if opts.output == "" && command.IsTerminal(deps.Out) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	archive, err := deps.Client.ImageSave(ctx, opts.images)
	if err != nil {
		return err
	}
	defer archive.Close()
	if opts.output == "" {
		_, err := io.Copy(deps.Out, archive)
		return err
	}
	return writeFileAtomic(opts.output, archive)
}

// writeFileAtomic copies r into a temporary file beside path and renames
// it over path once everything was written.
func writeFileAtomic(path string, r io.Reader) (retErr error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
