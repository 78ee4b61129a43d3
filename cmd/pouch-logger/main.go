// Command pouch-logger is the per-container log writer. pouchd starts one,
// detached in its own session, before it creates the container's task; it
// copies the container's stdout and stderr FIFOs into a json-file log, and
// keeps doing so while pouchd is down. It exits 0 once both FIFOs reached
// EOF, that is once the container's output is closed.
//
//	pouch-logger --stdout FIFO --stderr FIFO --log FILE [--ready-fd N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pouchcontainer/pouch/pkg/jsonlog"
)

// drainTimeout is how long the logger keeps copying after SIGTERM.
const drainTimeout = 10 * time.Second

func main() {
	var cfg jsonlog.LoggerConfig
	flag.StringVar(&cfg.Stdout, "stdout", "", "stdout `FIFO` (created if missing)")
	flag.StringVar(&cfg.Stderr, "stderr", "", "stderr `FIFO` (created if missing)")
	flag.StringVar(&cfg.Log, "log", "", "json-file log `path`")
	readyFD := flag.Int("ready-fd", -1, "`fd` to write one byte to, and close, once the FIFOs are open")
	flag.Parse()
	if cfg.Log == "" || (cfg.Stdout == "" && cfg.Stderr == "") || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	// The terminal and pouchd may come and go; only SIGTERM (and SIGKILL)
	// end the logger early.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		<-term
		close(stop)
	}()
	cfg.Stop = stop
	cfg.DrainTimeout = drainTimeout
	cfg.Errors = os.Stderr

	if *readyFD >= 0 {
		cfg.Ready = os.NewFile(uintptr(*readyFD), "ready-fd")
		if cfg.Ready == nil {
			fmt.Fprintf(os.Stderr, "pouch-logger: invalid --ready-fd %d\n", *readyFD)
			os.Exit(2)
		}
	}

	if err := jsonlog.RunLogger(context.Background(), cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s pouch-logger: %v\n", time.Now().UTC().Format(time.RFC3339Nano), err)
		os.Exit(1)
	}
}
