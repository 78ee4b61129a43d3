package system

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type infoOptions struct {
	format string
}

func newInfoCommand(deps *Deps) *cobra.Command {
	var opts infoOptions
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInfo(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	return cmd
}

// runInfo prints GET /info, as text or through a template over the API's
// Info object (e.g. --format '{{.ServerVersion}}').
func runInfo(ctx context.Context, deps *Deps, opts *infoOptions) error {
	res, err := deps.Client.Info(ctx, client.InfoOptions{})
	if err != nil {
		return err
	}
	if opts.format != "" {
		tmpl, err := formatter.ParseTemplate(opts.format)
		if err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		if err := tmpl.Execute(deps.Out, res.Info); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		_, err = fmt.Fprintln(deps.Out)
		return err
	}
	fmt.Fprintf(deps.Out, "Client:\n Version:    %s\n Debug Mode: %t\n\n", deps.Build.Version, deps.Debug)
	printServerInfo(deps.Out, res.Info)
	for _, w := range res.Info.Warnings {
		fmt.Fprintln(deps.Err, w)
	}
	return nil
}

func printServerInfo(out io.Writer, info system.Info) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	p("Server:")
	p(" Containers: %d", info.Containers)
	p("  Running: %d", info.ContainersRunning)
	p("  Paused: %d", info.ContainersPaused)
	p("  Stopped: %d", info.ContainersStopped)
	p(" Images: %d", info.Images)
	p(" Server Version: %s", info.ServerVersion)
	p(" Storage Driver: %s", info.Driver)
	for _, kv := range info.DriverStatus {
		p("  %s: %s", kv[0], kv[1])
	}
	p(" Logging Driver: %s", info.LoggingDriver)
	p(" Cgroup Driver: %s", info.CgroupDriver)
	if info.CgroupVersion != "" {
		p(" Cgroup Version: %s", info.CgroupVersion)
	}
	if len(info.Runtimes) > 0 {
		names := make([]string, 0, len(info.Runtimes))
		for name := range info.Runtimes {
			names = append(names, name)
		}
		slices.Sort(names)
		p(" Runtimes: %s", strings.Join(names, " "))
	}
	if info.DefaultRuntime != "" {
		p(" Default Runtime: %s", info.DefaultRuntime)
	}
	if len(info.SecurityOptions) > 0 {
		p(" Security Options:")
		for _, opt := range info.SecurityOptions {
			p("  %s", opt)
		}
	}
	p(" Kernel Version: %s", info.KernelVersion)
	p(" Operating System: %s", info.OperatingSystem)
	p(" OSType: %s", info.OSType)
	p(" Architecture: %s", info.Architecture)
	p(" CPUs: %d", info.NCPU)
	p(" Total Memory: %s", units.BytesSize(float64(info.MemTotal)))
	p(" Name: %s", info.Name)
	p(" ID: %s", info.ID)
	p(" Pouch Root Dir: %s", info.DockerRootDir)
	p(" Debug Mode: %t", info.Debug)
	if len(info.Labels) > 0 {
		p(" Labels:")
		for _, l := range info.Labels {
			p("  %s", l)
		}
	}
	p(" Experimental: %t", info.ExperimentalBuild)
	p(" Live Restore Enabled: %t", info.LiveRestoreEnabled)
}
