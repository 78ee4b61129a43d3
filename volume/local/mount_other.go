//go:build !linux

package local

import (
	"fmt"

	"github.com/containerd/errdefs"
)

func parseMountOptions(o string) (uintptr, string) { return 0, o }

// Mount is only supported on Linux.
func Mount(o Options, target string) error {
	return fmt.Errorf("mounting volumes is only supported on Linux: %w", errdefs.ErrNotImplemented)
}

// Unmount is only supported on Linux.
func Unmount(target string) error {
	return fmt.Errorf("unmounting volumes is only supported on Linux: %w", errdefs.ErrNotImplemented)
}

// Mounted is only supported on Linux: nothing is mounted elsewhere.
func Mounted(path string) (bool, error) { return false, nil }

// MountsUnder is only supported on Linux: nothing is mounted elsewhere.
func MountsUnder(dir string) ([]string, error) { return nil, nil }
