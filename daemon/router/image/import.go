package image

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	svc "github.com/pouchcontainer/pouch/services/image"
)

// ImportBackend is what importing a filesystem tarball needs of the image
// service.
type ImportBackend interface {
	Import(ctx context.Context, r io.Reader, opts svc.ImportOptions) (digest.Digest, error)
}

// importImage makes an image of the tarball in the request body:
// POST /images/create?fromSrc=-&repo=&tag=&message=&changes=&platform=.
// create hands requests with fromSrc over to it. Failures before the
// image exists (a broken tarball, bad changes) are plain HTTP errors; the
// answer is Docker's JSON stream with the image ID as its status.
func (r *Router) importImage(ctx context.Context, w http.ResponseWriter, req *http.Request) error {
	b, ok := r.b.(ImportBackend)
	if !ok {
		return fmt.Errorf("importing an image from a tarball is not supported: %w", errdefs.ErrNotImplemented)
	}
	return serveImport(ctx, b, w, req)
}

func serveImport(ctx context.Context, b ImportBackend, w http.ResponseWriter, req *http.Request) (retErr error) {
	defer func() {
		if retErr != nil {
			// Read what the client is still sending, so that it gets the
			// answer rather than a broken pipe.
			_, _ = io.Copy(io.Discard, req.Body)
		}
	}()
	q := req.URL.Query()
	src := q.Get("fromSrc")
	if src != "-" {
		return fmt.Errorf("importing from a URL (fromSrc=%s) is not supported: send the tarball in the request body with fromSrc=-: %w", src, errdefs.ErrNotImplemented)
	}
	ref, err := svc.RepoTag(q.Get("repo"), q.Get("tag"))
	if err != nil {
		return err
	}
	var platform *ocispec.Platform
	if p := q.Get("platform"); p != "" {
		parsed, err := platforms.Parse(p)
		if err != nil {
			return fmt.Errorf("invalid platform %q: %v: %w", p, err, errdefs.ErrInvalidArgument)
		}
		if parsed.OS != "linux" {
			return fmt.Errorf("platform %q is not supported: %w", p, errdefs.ErrInvalidArgument)
		}
		platform = &parsed
	}
	message := q.Get("message")
	if message == "" {
		message = "Imported from " + src
	}
	var changes []string
	for _, c := range q["changes"] {
		if strings.TrimSpace(c) != "" {
			changes = append(changes, c)
		}
	}
	id, err := b.Import(ctx, req.Body, svc.ImportOptions{Ref: ref, Message: message, Changes: changes, Platform: platform})
	if err != nil {
		return err
	}
	stream := newProgressStream(w)
	return stream.finish(ctx, stream.write(streamMessage{Status: id.String()}))
}
