package container

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type portOptions struct {
	container string
	port      string
}

func newPortCommand(deps *Deps) *cobra.Command {
	var opts portOptions
	cmd := &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			if len(args) > 1 {
				opts.port = args[1]
			}
			return runPort(cmd.Context(), deps, &opts)
		},
	}
	return cmd
}

// runPort prints the host addresses the container's ports are published
// on: every "80/tcp -> 0.0.0.0:8080", or for one port (tcp unless given)
// its "0.0.0.0:8080" lines, in docker's natural order.
func runPort(ctx context.Context, deps *Deps, opts *portOptions) error {
	res, err := deps.Client.ContainerInspect(ctx, opts.container, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	var ports network.PortMap
	if res.Container.NetworkSettings != nil {
		ports = res.Container.NetworkSettings.Ports
	}

	var lines []string
	if opts.port != "" {
		port, err := network.ParsePort(opts.port)
		if err != nil {
			return fmt.Errorf("Error: invalid port (%s): %w", opts.port, err)
		}
		bindings := ports[port]
		if len(bindings) == 0 {
			return fmt.Errorf("Error: No public port '%s' published for %s", port, opts.container)
		}
		for _, b := range bindings {
			lines = append(lines, hostAddress(b))
		}
	} else {
		for port, bindings := range ports {
			for _, b := range bindings {
				lines = append(lines, port.String()+" -> "+hostAddress(b))
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	slices.SortFunc(lines, formatter.NaturalCompare)
	_, err = fmt.Fprintln(deps.Out, strings.Join(lines, "\n"))
	return err
}

// hostAddress renders a binding as "0.0.0.0:8080" or "[::]:8080".
func hostAddress(b network.PortBinding) string {
	ip := ""
	if b.HostIP.IsValid() {
		ip = b.HostIP.String()
	}
	return net.JoinHostPort(ip, b.HostPort)
}
