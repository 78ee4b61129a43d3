// Package auth serves POST /auth: checking registry credentials, as
// `docker login` asks the daemon to.
package auth

import (
	"context"
	"net/http"

	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/registry"
)

// Backend checks credentials against a registry.
type Backend interface {
	Login(ctx context.Context, creds registry.Credentials, server string) error
}

// Router serves /auth.
type Router struct {
	b Backend
}

// New returns the router.
func New(b Backend) *Router { return &Router{b: b} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "POST", Path: "/auth", Handler: r.auth},
	}
}

// auth validates the credentials of the body (Docker's AuthConfig); the
// daemon keeps nothing: clients store the credentials and send them with
// each pull and push.
func (r *Router) auth(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	var a registrytypes.AuthConfig
	if err := httputil.DecodeJSON(req, &a); err != nil {
		return err
	}
	if err := r.b.Login(ctx, registry.FromAuthConfig(a), a.ServerAddress); err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, registrytypes.AuthResponse{Status: "Login Succeeded"})
}
