package container

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	svc "github.com/pouchcontainer/pouch/services/container"
	imagesvc "github.com/pouchcontainer/pouch/services/image"
)

// ArchiveBackend is what the file routes (archive, export, changes,
// commit) need of the container service.
type ArchiveBackend interface {
	StatPath(ctx context.Context, ref, path string) (*ctypes.PathStat, error)
	ArchivePath(ctx context.Context, ref, path string, open func(*ctypes.PathStat) (io.Writer, error)) error
	ExtractToDir(ctx context.Context, ref, path string, opts svc.ExtractOptions, r io.Reader) error
	Export(ctx context.Context, ref string, w io.Writer) error
	Changes(ctx context.Context, ref string) ([]ctypes.FilesystemChange, error)
	Commit(ctx context.Context, ref string, images svc.ImageCommitter, opts svc.CommitOptions) (digest.Digest, error)
}

// ArchiveRouter serves the files of containers: copying to and from them
// (/containers/{id}/archive), export, changes, and commit.
type ArchiveRouter struct {
	b      ArchiveBackend
	images svc.ImageCommitter
}

// NewArchive returns the router; images writes the images commits make.
func NewArchive(b ArchiveBackend, images svc.ImageCommitter) *ArchiveRouter {
	return &ArchiveRouter{b: b, images: images}
}

// Routes lists the endpoints.
func (r *ArchiveRouter) Routes() []server.Route {
	return []server.Route{
		{Method: "HEAD", Path: "/containers/{id}/archive", Handler: r.statPath},
		{Method: "GET", Path: "/containers/{id}/archive", Handler: r.getArchive},
		{Method: "PUT", Path: "/containers/{id}/archive", Handler: r.putArchive},
		{Method: "GET", Path: "/containers/{id}/export", Handler: r.export},
		{Method: "GET", Path: "/containers/{id}/changes", Handler: r.changes},
		{Method: "POST", Path: "/commit", Handler: r.commit},
	}
}

// pathStatHeader carries a path's stat, base64-encoded JSON, as Docker sends it.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func setPathStat(w http.ResponseWriter, stat *ctypes.PathStat) error {
	b, err := json.Marshal(stat)
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

func archivePath(req *http.Request) (string, error) {
	p := req.URL.Query().Get("path")
	if p == "" {
		return "", fmt.Errorf("path cannot be empty: %w", errdefs.ErrInvalidArgument)
	}
	return p, nil
}

func (r *ArchiveRouter) statPath(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	p, err := archivePath(req)
	if err != nil {
		return err
	}
	stat, err := r.b.StatPath(ctx, v["id"], p)
	if err != nil {
		return err
	}
	if err := setPathStat(w, stat); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (r *ArchiveRouter) getArchive(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	p, err := archivePath(req)
	if err != nil {
		return err
	}
	started := false
	err = r.b.ArchivePath(ctx, v["id"], p, func(stat *ctypes.PathStat) (io.Writer, error) {
		if err := setPathStat(w, stat); err != nil {
			return nil, err
		}
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		started = true
		return w, nil
	})
	if err != nil && started {
		// The status is sent: all that is left is to cut the archive short.
		log.G(ctx).WithError(err).WithField("container", v["id"]).Warn("archive of a container path failed")
		return nil
	}
	return err
}

func (r *ArchiveRouter) putArchive(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	p, err := archivePath(req)
	if err != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		return err
	}
	noOverwrite, err := httputil.BoolValue(req, "noOverwriteDirNonDir")
	if err != nil {
		return err
	}
	copyUIDGID, err := httputil.BoolValue(req, "copyUIDGID")
	if err != nil {
		return err
	}
	opts := svc.ExtractOptions{NoOverwriteDirNonDir: noOverwrite, CopyUIDGID: copyUIDGID}
	if err := r.b.ExtractToDir(ctx, v["id"], p, opts, req.Body); err != nil {
		// Read what the client is still sending, so that it gets the
		// answer rather than a broken pipe.
		_, _ = io.Copy(io.Discard, req.Body)
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// lazyWriter sends the response's headers with its first byte, so that a
// failure before any (an unknown container) is still a plain error answer.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.w.Header().Set("Content-Type", l.contentType)
		l.w.WriteHeader(http.StatusOK)
		l.started = true
	}
	return l.w.Write(p)
}

func (r *ArchiveRouter) export(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	lw := &lazyWriter{w: w, contentType: "application/x-tar"}
	err := r.b.Export(ctx, v["id"], lw)
	if err != nil && lw.started {
		log.G(ctx).WithError(err).WithField("container", v["id"]).Warn("export failed")
		return nil
	}
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("Error exporting container %s: %w", v["id"], err)
	}
	if err == nil && !lw.started {
		_, _ = lw.Write(nil)
	}
	return err
}

func (r *ArchiveRouter) changes(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	changes, err := r.b.Changes(ctx, v["id"])
	if err != nil {
		return err
	}
	// No change is null, as in Docker.
	return server.WriteJSON(w, http.StatusOK, changes)
}

// commit makes an image of a container:
// POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=,
// with an optional container configuration as the body.
func (r *ArchiveRouter) commit(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	q := req.URL.Query()
	var cfg *ctypes.Config
	if req.ContentLength != 0 {
		if ct := req.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != "application/json" {
				return fmt.Errorf("unsupported Content-Type header (%s): must be 'application/json': %w", ct, errdefs.ErrInvalidArgument)
			}
		}
		dec := json.NewDecoder(io.LimitReader(req.Body, 16<<20))
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("invalid JSON: %v: %w", err, errdefs.ErrInvalidArgument)
		}
	}
	ref, err := imagesvc.RepoTag(q.Get("repo"), q.Get("tag"))
	if err != nil {
		return err
	}
	pause := true
	if q.Get("pause") != "" {
		if pause, err = httputil.BoolValue(req, "pause"); err != nil {
			return err
		}
	}
	id, err := r.b.Commit(ctx, q.Get("container"), r.images, svc.CommitOptions{
		Ref:     ref,
		Author:  q.Get("author"),
		Comment: q.Get("comment"),
		Changes: q["changes"],
		Config:  cfg,
		Pause:   pause,
	})
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusCreated, ctypes.CommitResponse{ID: id.String()})
}
