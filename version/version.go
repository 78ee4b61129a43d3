// Package version holds Pouch's version, set at build time.
package version

// Version and GitCommit are set by the Makefile through -ldflags.
var (
	Version   = "0.1.0-dev"
	GitCommit = ""
)
