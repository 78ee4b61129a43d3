package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
)

// psBinary is the host's ps, which Top runs as Docker does.
var psBinary = "ps"

// Top lists the processes of a running container as the host's ps shows
// them with psArgs ("-ef" when empty): ps's header, and the rows whose
// PID is one of the container's.
func (s *Service) Top(ctx context.Context, ref, psArgs string) (*ctypes.TopResponse, error) {
	if psArgs == "" {
		psArgs = "-ef"
	}
	if err := validatePSArgs(psArgs); err != nil {
		return nil, err
	}
	c, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	sh, _, err := runningShim(c)
	if err != nil {
		return nil, err
	}
	pids, err := sh.Pids(ctx)
	if err != nil {
		if taskGone(c, err) {
			return nil, errNotRunning(c.ID)
		}
		return nil, fmt.Errorf("processes of container %s: %w", c.ID, err)
	}
	args := fieldsASCII(psArgs)
	out, err := exec.CommandContext(ctx, psBinary, append(args, psPidsArg(pids))...).Output()
	if err != nil {
		// Some options (such as f) cannot be combined with -q: filter
		// the whole list instead.
		if out, err = exec.CommandContext(ctx, psBinary, args...).Output(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				// The first line of ps's complaint says why.
				if line, _, _ := bytes.Cut(ee.Stderr, []byte("\n")); len(bytes.TrimSpace(line)) > 0 {
					return nil, fmt.Errorf("ps: %s: %w", bytes.TrimSpace(line), errdefs.ErrInvalidArgument)
				}
			}
			return nil, fmt.Errorf("ps: %w", err)
		}
	}
	procs, err := parsePSOutput(out, pids)
	if err != nil {
		return nil, err
	}
	s.publish(c, "top", nil)
	return procs, nil
}

// psPidsArg is ps's quick selection of the given PIDs: "-q1,2,3".
func psPidsArg(pids []uint32) string {
	b := []byte("-q")
	for i, p := range pids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(p), 10)
	}
	return string(b)
}

var psFormatPID = regexp.MustCompile(`\s+([^\s]*)=\s*(PID[^\s]*)`)

// validatePSArgs refuses renaming another column to PID (-o x=PID): the
// rows are filtered by the PID column.
func validatePSArgs(psArgs string) error {
	for _, m := range psFormatPID.FindAllStringSubmatch(psArgs, -1) {
		if m[1] != "pid" {
			return fmt.Errorf("specifying \"%s=%s\" is not allowed: %w", m[1], m[2], errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// fieldsASCII splits on ASCII whitespace only, as ps pads with it.
func fieldsASCII(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\f', '\r', ' ':
			return true
		}
		return false
	})
}

// parsePSOutput keeps ps's header and the rows of the given PIDs. A row
// has as many fields as the header has titles: the last column (the
// command) takes the rest. Thread rows (PID "-", with ps's m option)
// follow their process.
func parsePSOutput(output []byte, pids []uint32) (*ctypes.TopResponse, error) {
	lines := strings.Split(string(output), "\n")
	resp := &ctypes.TopResponse{Titles: fieldsASCII(lines[0])}
	pidIndex := -1
	for i, title := range resp.Titles {
		if title == "PID" {
			pidIndex = i
			break
		}
	}
	if pidIndex < 0 {
		return nil, fmt.Errorf("couldn't find PID field in ps output: %w", errdefs.ErrInvalidArgument)
	}
	wanted := make(map[int]bool, len(pids))
	for _, p := range pids {
		wanted[int(p)] = true
	}
	keepThreads := false
	for _, line := range lines[1:] {
		fields := fieldsASCII(line)
		if len(fields) <= pidIndex {
			continue
		}
		if fields[pidIndex] == "-" {
			if keepThreads {
				resp.Processes = append(resp.Processes, psRow(fields, len(resp.Titles)))
			}
			continue
		}
		pid, err := strconv.Atoi(fields[pidIndex])
		if err != nil {
			return nil, fmt.Errorf("unexpected pid %q in ps output: %w", fields[pidIndex], errdefs.ErrInvalidArgument)
		}
		keepThreads = wanted[pid]
		if keepThreads {
			resp.Processes = append(resp.Processes, psRow(fields, len(resp.Titles)))
		}
	}
	return resp, nil
}

// psRow merges the fields past the last title into the last column.
func psRow(fields []string, titles int) []string {
	if len(fields) <= titles {
		return fields
	}
	row := append([]string{}, fields[:titles-1]...)
	return append(row, strings.Join(fields[titles-1:], " "))
}
