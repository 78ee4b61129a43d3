// Command mkimage writes a busybox container image archive, offline, from
// the host's static busybox (Debian: apt-get install busybox-static).
//
//	go run ./hack/mkimage -o busybox.tar                  # docker-archive
//	go run ./hack/mkimage -o busybox-oci.tar -format oci  # OCI layout tar
//	go run ./hack/mkimage -o - -name busybox:v1 | docker load
//	go run ./hack/mkimage -o big.tar -big-layers 4 -big-size 32MiB
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pouchcontainer/pouch/internal/testimage"
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		// -h: the flag package printed the usage.
	case errors.As(err, new(usageError)):
		os.Exit(2) // the flag package printed the error and the usage
	default:
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

// usageError is a command line the flag package rejected and reported.
type usageError struct{ error }

func run(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: mkimage -o FILE|- [-format docker|oci] [-name busybox:latest] [-busybox PATH] [-big-layers N -big-size SIZE]")
		flags.PrintDefaults()
	}
	var (
		out       = flags.String("o", "", "output archive, or - for stdout (required)")
		format    = flags.String("format", string(testimage.FormatDocker), "archive format: docker (docker save/load) or oci (OCI image layout tar)")
		name      = flags.String("name", "", "image name (default busybox:latest, or busybox-big:latest with -big-layers)")
		busybox   = flags.String("busybox", testimage.DefaultBusybox, "static busybox binary to copy into the image")
		bigLayers = flags.Int("big-layers", 0, "add N layers of seeded random files, for benchmarks")
		bigSize   = flags.String("big-size", "16MiB", "bytes of file content per -big-layers layer (suffixes KiB, MiB, GiB)")
	)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -h)", flags.Args())
	}
	if *out == "" {
		return errors.New("-o FILE is required (-o - writes to stdout)")
	}
	f := testimage.Format(*format)
	if f != testimage.FormatDocker && f != testimage.FormatOCI {
		return fmt.Errorf("-format %q: want docker or oci", *format)
	}
	if *out == "-" && isTerminal(stdout) {
		return errors.New("refusing to write an archive to a terminal: redirect stdout or use -o FILE")
	}

	opts := []testimage.Option{testimage.WithBusybox(*busybox)}
	if *name != "" {
		opts = append(opts, testimage.WithName(*name))
	}
	build := testimage.Busybox
	if *bigLayers > 0 {
		size, err := parseSize(*bigSize)
		if err != nil {
			return fmt.Errorf("-big-size: %w", err)
		}
		build = func(opts ...testimage.Option) (*testimage.Image, error) {
			return testimage.Big(*bigLayers, size, opts...)
		}
	}
	img, err := build(opts...)
	if err != nil {
		return err
	}

	if *out == "-" {
		return testimage.Write(stdout, f, img)
	}
	if err := testimage.WriteFile(*out, f, img); err != nil {
		return err
	}
	id, err := img.ID()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%s archive, image ID %s)\n", img.Name, f, id)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parseSize reads "4096", "512KiB", "16MiB" or "1GiB".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = n, m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
