// Package cli is the pouch command line: a cobra command tree whose
// commands talk to pouchd over the Docker Engine API, keeping docker's
// verbs, flags, output and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/config"
	"github.com/pouchcontainer/pouch/cli/container"
	"github.com/pouchcontainer/pouch/cli/image"
	"github.com/pouchcontainer/pouch/cli/network"
	"github.com/pouchcontainer/pouch/cli/registry"
	"github.com/pouchcontainer/pouch/cli/system"
	"github.com/pouchcontainer/pouch/cli/volume"
	"github.com/pouchcontainer/pouch/client"
	"github.com/pouchcontainer/pouch/version"
)

// Build information, set at link time in the version package.
var (
	Version   = version.Version
	GitCommit = version.GitCommit
	BuildTime = "unknown"
)

type globalOptions struct {
	host  string
	debug bool
}

// Run executes the pouch command line with args and returns the exit code.
func Run(ctx context.Context, streams command.Streams, args []string) int {
	var api *client.Client
	defer func() {
		if api != nil {
			api.Close()
		}
	}()
	var opts globalOptions
	root := newRootCommand(streams, &opts, func(c *client.Client) { api = c })
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if api != nil {
		err = api.ExplainError(err)
	}
	return reportError(streams.Err, err, opts.debug)
}

// newRootCommand builds the command tree. The API client is created once
// the global flags are parsed and handed to onClient as well as to every
// command group.
func newRootCommand(streams command.Streams, opts *globalOptions, onClient func(*client.Client)) *cobra.Command {
	containerDeps := &container.Deps{Streams: streams}
	imageDeps := &image.Deps{Streams: streams}
	networkDeps := &network.Deps{Streams: streams}
	registryDeps := &registry.Deps{Streams: streams}
	volumeDeps := &volume.Deps{Streams: streams}
	systemDeps := &system.Deps{
		Streams: streams,
		Build:   system.BuildInfo{Version: Version, GitCommit: GitCommit, BuildTime: BuildTime},
	}

	root := &cobra.Command{
		Use:           "pouch [OPTIONS] COMMAND [ARG...]",
		Short:         "A container engine compatible with the Docker Engine API",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			api, err := client.New(client.Options{Host: opts.host, UserAgent: "pouch-cli/" + Version})
			if err != nil {
				return err
			}
			onClient(api)
			// An unknown config directory fails only the commands that
			// need credentials stored (login, logout) when they load it.
			configDir, _ := config.Dir()
			containerDeps.Client, containerDeps.ConfigDir = api, configDir
			imageDeps.Client, imageDeps.ConfigDir = api, configDir
			networkDeps.Client = api
			registryDeps.Client, registryDeps.ConfigDir = api, configDir
			systemDeps.Client = api
			volumeDeps.Client = api
			systemDeps.Debug = opts.debug
			return nil
		},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetVersionTemplate(fmt.Sprintf("Pouch version {{.Version}}, build %s\n", GitCommit))
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return command.StatusError{
			Err:        fmt.Errorf("%w\nSee '%s --help'.", err, cmd.CommandPath()),
			StatusCode: 125,
		}
	})

	// Global flags go before the command name, as with docker: they are
	// the root's own flags, parsed while cobra traverses to the command,
	// so commands may reuse the letters (`pouch -H HOST history -H=false`).
	root.TraverseChildren = true
	flags := root.Flags()
	flags.StringVarP(&opts.host, "host", "H", "", "Daemon socket to connect to (default $"+client.EnvHost+" or "+client.DefaultHost+")")
	flags.BoolVarP(&opts.debug, "debug", "D", false, "Enable debug mode")

	root.AddCommand(
		container.NewContainerCommand(containerDeps),
		image.NewImageCommand(imageDeps),
		network.NewNetworkCommand(networkDeps),
		volume.NewVolumeCommand(volumeDeps),
	)
	root.AddCommand(container.NewTopLevelCommands(containerDeps)...)
	root.AddCommand(image.NewTopLevelCommands(imageDeps)...)
	root.AddCommand(registry.NewTopLevelCommands(registryDeps)...)
	root.AddCommand(system.NewTopLevelCommands(systemDeps)...)
	disableFlagsInUseLine(root)
	return root
}

// disableFlagsInUseLine keeps cobra from appending "[flags]" to usage
// lines, which already say [OPTIONS] as docker's do.
func disableFlagsInUseLine(cmd *cobra.Command) {
	cmd.DisableFlagsInUseLine = true
	for _, sub := range cmd.Commands() {
		disableFlagsInUseLine(sub)
	}
}

// reportError prints err the way docker does and returns the exit code:
// a StatusError's own code, 0 for a cancelled command, 1 otherwise.
func reportError(stderr io.Writer, err error, debug bool) int {
	if err == nil {
		return 0
	}
	code := 1
	var status command.StatusError
	if errors.As(err, &status) {
		if status.StatusCode != 0 {
			code = status.StatusCode
		}
		if status.Err == nil {
			return code
		}
	} else if errors.Is(err, context.Canceled) {
		return 0
	}
	fmt.Fprintln(stderr, err)
	var connErr *client.ConnectError
	if debug && errors.As(err, &connErr) {
		fmt.Fprintln(stderr, "cause:", connErr.Err)
	}
	return code
}
