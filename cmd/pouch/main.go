// Command pouch is the Pouch command line client.
package main

import (
	"context"
	"os"

	"github.com/pouchcontainer/pouch/cli"
	"github.com/pouchcontainer/pouch/cli/command"
)

func main() {
	os.Exit(cli.Run(context.Background(), command.StdStreams(), os.Args[1:]))
}
