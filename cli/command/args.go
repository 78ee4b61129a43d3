package command

import (
	"fmt"

	"github.com/spf13/cobra"
)

// RequiresMinArgs returns a cobra argument validator that fails, with
// Docker's wording, when fewer than min arguments are given.
func RequiresMinArgs(min int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires at least %d %s", min, plural("argument", min)))
	}
}

// ExactArgs returns a cobra argument validator that requires exactly n
// arguments.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires exactly %d %s", n, plural("argument", n)))
	}
}

// RequiresMaxArgs returns a cobra argument validator that accepts at most
// max arguments.
func RequiresMaxArgs(max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= max {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires at most %d %s", max, plural("argument", max)))
	}
}

// RequiresRangeArgs returns a cobra argument validator that accepts
// between min and max arguments.
func RequiresRangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires at least %d and at most %d %s", min, max, plural("argument", max)))
	}
}

// NoArgs rejects any positional argument.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return argsError(cmd, "accepts no arguments")
}

func argsError(cmd *cobra.Command, what string) error {
	return fmt.Errorf("%q %s.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
		cmd.CommandPath(), what, cmd.CommandPath(), cmd.UseLine(), cmd.Short)
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
