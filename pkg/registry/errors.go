package registry

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
)

// classified gives an error an errdefs class without changing its text.
type classified struct {
	err   error
	class error
}

func (c classified) Error() string   { return c.err.Error() }
func (c classified) Unwrap() []error { return []error{c.err, c.class} }

// Classify puts a registry client error into its errdefs class, keeping
// its text: a refused authorization is unauthorized, a 403 permission
// denied, a 404 not found, a network failure unavailable. Errors that
// already have a class keep it.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var class error
	var status remoteerrors.ErrUnexpectedStatus
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, docker.ErrInvalidAuthorization):
		class = errdefs.ErrUnauthenticated
	case errors.As(err, &status):
		switch status.StatusCode {
		case http.StatusUnauthorized:
			class = errdefs.ErrUnauthenticated
		case http.StatusForbidden:
			class = errdefs.ErrPermissionDenied
		case http.StatusNotFound:
			class = errdefs.ErrNotFound
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			class = errdefs.ErrUnavailable
		}
	case errdefs.IsNotFound(err), errdefs.IsUnauthorized(err), errdefs.IsPermissionDenied(err),
		errdefs.IsInvalidArgument(err), errdefs.IsNotImplemented(err), errdefs.IsFailedPrecondition(err):
		return err
	case errors.As(err, &netErr):
		class = errdefs.ErrUnavailable
	}
	if class == nil {
		return err
	}
	return classified{err: err, class: class}
}

// StatusCode returns the HTTP status a registry answered with, if err
// carries one.
func StatusCode(err error) (int, bool) {
	var status remoteerrors.ErrUnexpectedStatus
	if errors.As(err, &status) {
		return status.StatusCode, true
	}
	return 0, false
}
