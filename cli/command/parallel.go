package command

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const maxParallel = 50

// ForEach runs op for every name, at most 50 at a time, and reports the
// outcome in the order the names were given: the name on out when op
// succeeds. The failures are joined into the returned error.
func ForEach(ctx context.Context, out io.Writer, names []string, op func(ctx context.Context, name string) error) error {
	results := make([]chan error, len(names))
	sem := make(chan struct{}, maxParallel)
	for i, name := range names {
		results[i] = make(chan error, 1)
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] <- op(ctx, name)
		}()
	}
	var errs []error
	for i, name := range names {
		if err := <-results[i]; err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(out, name)
	}
	return errors.Join(errs...)
}
