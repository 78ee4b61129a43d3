package container

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type logsOptions struct {
	follow     bool
	timestamps bool
	details    bool
	tail       string
	since      string
	until      string
	container  string
}

func newLogsCommand(deps *Deps) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			return runLogs(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.follow, "follow", "f", false, "Follow log output")
	flags.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	flags.BoolVar(&opts.details, "details", false, "Show extra details provided to logs")
	flags.StringVarP(&opts.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	flags.StringVar(&opts.since, "since", "", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	flags.StringVar(&opts.until, "until", "", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	return cmd
}

// runLogs prints the container's logs, demultiplexed onto stdout and stderr
// unless the container has a TTY. The Engine API client turns --since and
// --until (RFC 3339 dates, Unix seconds, or durations such as 10m) into
// the Unix timestamps the API takes.
func runLogs(ctx context.Context, deps *Deps, opts *logsOptions) error {
	info, err := deps.Client.ContainerInspect(ctx, opts.container, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	logs, err := deps.Client.ContainerLogs(ctx, info.Container.ID, client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Since:      opts.since,
		Until:      opts.until,
		Timestamps: opts.timestamps,
		Follow:     opts.follow,
		Tail:       opts.tail,
		Details:    opts.details,
	})
	if err != nil {
		return err
	}
	defer logs.Close()
	if info.Container.Config != nil && info.Container.Config.Tty {
		_, err = io.Copy(deps.Out, logs)
	} else {
		_, err = stdcopy.StdCopy(deps.Out, deps.Err, logs)
	}
	return err
}
