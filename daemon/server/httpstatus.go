package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/containerd/errdefs"
)

// StatusFor is the one table from error class to HTTP status. Handlers
// return errors wrapped around an errdefs class; nothing else chooses.
func StatusFor(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errdefs.IsNotModified(err):
		return http.StatusNotModified
	case errdefs.IsInvalidArgument(err), errdefs.IsOutOfRange(err):
		return http.StatusBadRequest
	case errdefs.IsUnauthorized(err):
		return http.StatusUnauthorized
	case errdefs.IsPermissionDenied(err):
		return http.StatusForbidden
	case errdefs.IsNotFound(err):
		return http.StatusNotFound
	case errdefs.IsConflict(err), errdefs.IsAlreadyExists(err), errdefs.IsFailedPrecondition(err):
		return http.StatusConflict
	case errdefs.IsNotImplemented(err):
		return http.StatusNotImplemented
	case errdefs.IsUnavailable(err):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled), errdefs.IsCanceled(err):
		return 499
	}
	return http.StatusInternalServerError
}
