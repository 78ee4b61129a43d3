// Command pouchd is the Pouch daemon.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/daemon"
	"github.com/pouchcontainer/pouch/daemon/config"
	"github.com/pouchcontainer/pouch/version"
)

func main() {
	cfg := config.Default()
	var configFile string
	cmd := &cobra.Command{
		Use:           "pouchd",
		Short:         "The Pouch container engine daemon",
		Version:       version.Version,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			required := cmd.Flags().Changed("config-file")
			if err := cfg.Merge(cmd.Flags(), configFile, required); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			signal.Ignore(syscall.SIGPIPE)
			return daemon.Run(ctx, cfg)
		},
	}
	cfg.Flags(cmd.Flags())
	cmd.Flags().StringVar(&configFile, "config-file", config.DefaultFile, "Configuration file (same keys as the flags)")
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "pouchd:", err)
		os.Exit(1)
	}
}
