// Package image serves the /images endpoints of the Docker API.
package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	itypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/filters"
	"github.com/pouchcontainer/pouch/pkg/reference"
	svc "github.com/pouchcontainer/pouch/services/image"
)

// Backend is what the router needs of the image service.
type Backend interface {
	List(ctx context.Context) ([]*svc.Image, error)
	Get(ctx context.Context, ref string) (*svc.Image, error)
	Tag(ctx context.Context, source, target string) error
	History(ctx context.Context, ref string) ([]svc.History, error)
	Remove(ctx context.Context, ref string, opts svc.RemoveOptions) (*svc.Removed, error)
	Prune(ctx context.Context, opts svc.PruneOptions) (*svc.Removed, uint64, error)
	Load(ctx context.Context, r io.Reader) ([]string, error)
	Save(ctx context.Context, refs []string, w io.Writer) error
	Pull(ctx context.Context, opts svc.PullOptions, out svc.ProgressOutput) error
	Push(ctx context.Context, opts svc.PushOptions, out svc.ProgressOutput) error
}

// Usage counts the containers of an image.
type Usage interface {
	ImageUsers(id svc.Digest) (all, running int)
}

// Router serves images.
type Router struct {
	b     Backend
	usage Usage
}

// New returns the router.
func New(b Backend, usage Usage) *Router { return &Router{b: b, usage: usage} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Path: "/images/json", Handler: r.list},
		{Method: "POST", Path: "/images/load", Handler: r.load},
		{Method: "POST", Path: "/images/create", Handler: r.create},
		{Method: "GET", Path: "/images/get", Handler: r.saveMany},
		{Method: "POST", Path: "/images/prune", Handler: r.prune},
		{Method: "GET", Path: "/images/{name:.+}/get", Handler: r.saveOne},
		{Method: "GET", Path: "/images/{name:.+}/json", Handler: r.inspect},
		{Method: "GET", Path: "/images/{name:.+}/history", Handler: r.history},
		{Method: "POST", Path: "/images/{name:.+}/tag", Handler: r.tag},
		{Method: "POST", Path: "/images/{name:.+}/push", Handler: r.push},
		{Method: "DELETE", Path: "/images/{name:.+}", Handler: r.remove},
	}
}

func (r *Router) list(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	f, err := filters.Parse(req.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate("reference", "dangling", "label", "before", "since"); err != nil {
		return err
	}
	dangling := ""
	for _, d := range f.Values("dangling") {
		switch strings.ToLower(d) {
		case "true", "1":
			dangling = "true"
		case "false", "0":
			dangling = "false"
		default:
			return fmt.Errorf("invalid filter 'dangling=%s': %w", d, errdefs.ErrInvalidArgument)
		}
	}
	before, err := r.timeOfImages(ctx, f.Values("before"), true)
	if err != nil {
		return err
	}
	since, err := r.timeOfImages(ctx, f.Values("since"), false)
	if err != nil {
		return err
	}
	imgs, err := r.b.List(ctx)
	if err != nil {
		return err
	}
	out := []itypes.Summary{}
	for _, img := range imgs {
		if dangling == "true" && !img.Dangling() || dangling == "false" && img.Dangling() {
			continue
		}
		if !f.MatchLabels("label", img.Config.Config.Labels) {
			continue
		}
		c := created(img)
		if !before.IsZero() && !c.Before(before) || !since.IsZero() && !c.After(since) {
			continue
		}
		tags := reference.FamiliarNames(img.Names)
		if f.Has("reference") {
			tags = matchReference(tags, f.Values("reference"))
			if len(tags) == 0 {
				continue
			}
		}
		n, _ := r.usage.ImageUsers(img.ID)
		labels := img.Config.Config.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		digests := reference.FamiliarNames(img.Digests)
		if f.Has("reference") {
			digests = digestsOfRepos(digests, tags)
		}
		out = append(out, itypes.Summary{
			ID:          img.ID.String(),
			RepoTags:    nonNil(tags),
			RepoDigests: nonNil(digests),
			Created:     created(img).Unix(),
			Size:        img.Size,
			Labels:      labels,
			Containers:  int64(n),
			SharedSize:  -1,
		})
	}
	return server.WriteJSON(w, http.StatusOK, out)
}

// timeOfImages returns the creation time of the images refs name (the
// earliest for a "before" filter, the latest for "since"); zero if none.
func (r *Router) timeOfImages(ctx context.Context, refs []string, earliest bool) (time.Time, error) {
	var out time.Time
	for _, ref := range refs {
		img, err := r.b.Get(ctx, ref)
		if err != nil {
			return time.Time{}, err
		}
		c := created(img)
		if out.IsZero() || earliest && c.Before(out) || !earliest && c.After(out) {
			out = c
		}
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// matchReference keeps the tags matching any pattern (path.Match on the
// familiar name, with or without the tag), as Docker's reference filter.
func matchReference(tags, patterns []string) []string {
	var out []string
	for _, t := range tags {
		repo, _, _ := strings.Cut(t, ":")
		if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
			repo = t[:i]
		}
		for _, p := range patterns {
			if globMatch(p, t) || globMatch(p, repo) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func (r *Router) inspect(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	img, err := r.b.Get(ctx, v["name"])
	if err != nil {
		return err
	}
	cfg := img.Config
	var layers []string
	for _, d := range cfg.RootFS.DiffIDs {
		layers = append(layers, d.String())
	}
	resp := itypes.InspectResponse{
		ID:           img.ID.String(),
		RepoTags:     nonNil(reference.FamiliarNames(img.Names)),
		RepoDigests:  nonNil(reference.FamiliarNames(img.Digests)),
		Created:      created(img).UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
		Author:       cfg.Author,
		Config:       &cfg.Config,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		Size:         img.Size,
		GraphDriver:  &storage.DriverData{Name: "overlayfs", Data: map[string]string{}},
		RootFS:       itypes.RootFS{Type: "layers", Layers: layers},
		Descriptor:   &img.Target,
	}
	return server.WriteJSON(w, http.StatusOK, resp)
}

func (r *Router) history(ctx context.Context, w http.ResponseWriter, _ *http.Request, v map[string]string) error {
	h, err := r.b.History(ctx, v["name"])
	if err != nil {
		return err
	}
	out := []itypes.HistoryResponseItem{}
	for _, e := range h {
		tags := e.Tags
		if tags == nil {
			tags = []string{}
		}
		out = append(out, itypes.HistoryResponseItem{
			ID: e.ID, Created: e.Created.Unix(), CreatedBy: e.CreatedBy, Comment: e.Comment, Size: e.Size, Tags: tags,
		})
	}
	return server.WriteJSON(w, http.StatusOK, out)
}

func (r *Router) tag(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	q := req.URL.Query()
	repo, tag := q.Get("repo"), q.Get("tag")
	if repo == "" {
		return fmt.Errorf("repository name is required: %w", errdefs.ErrInvalidArgument)
	}
	target := repo
	if tag != "" {
		target += ":" + tag
	}
	if err := r.b.Tag(ctx, v["name"], target); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (r *Router) remove(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	force, err := httputil.BoolValue(req, "force")
	if err != nil {
		return err
	}
	res, err := r.b.Remove(ctx, v["name"], svc.RemoveOptions{Force: force})
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, deleteResponse(res))
}

func deleteResponse(res *svc.Removed) []itypes.DeleteResponse {
	out := []itypes.DeleteResponse{}
	for _, u := range res.Untagged {
		out = append(out, itypes.DeleteResponse{Untagged: u})
	}
	for _, d := range res.Deleted {
		out = append(out, itypes.DeleteResponse{Deleted: d})
	}
	return out
}

func (r *Router) prune(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	f, err := filters.Parse(req.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := f.Validate("dangling", "until", "label", "label!"); err != nil {
		return err
	}
	all := false
	for _, d := range f.Values("dangling") {
		switch strings.ToLower(d) {
		case "true", "1":
		case "false", "0":
			all = true
		default:
			return fmt.Errorf("invalid filter 'dangling=%s': %w", d, errdefs.ErrInvalidArgument)
		}
	}
	var until time.Time
	for _, u := range f.Values("until") {
		t, err := httputil.Until(u, time.Now())
		if err != nil {
			return err
		}
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	match := func(img *svc.Image) bool {
		labels := img.Config.Config.Labels
		if !f.MatchLabels("label", labels) || f.Has("label!") && matchAnyLabel(f.Values("label!"), labels) {
			return false
		}
		return until.IsZero() || created(img).Before(until)
	}
	res, reclaimed, err := r.b.Prune(ctx, svc.PruneOptions{All: all, Match: match})
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, itypes.PruneReport{ImagesDeleted: deleteResponse(res), SpaceReclaimed: reclaimed})
}

func (r *Router) load(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	lines, err := r.b.Load(ctx, req.Body)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, l := range lines {
		if err := enc.Encode(map[string]string{"stream": l + "\n"}); err != nil {
			return nil
		}
	}
	return nil
}

func (r *Router) saveMany(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	return r.save(ctx, w, req, req.URL.Query()["names"])
}

func (r *Router) saveOne(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	return r.save(ctx, w, req, []string{v["name"]})
}

func (r *Router) save(ctx context.Context, w http.ResponseWriter, req *http.Request, names []string) error {
	if p := req.URL.Query().Get("platform"); p != "" {
		if _, err := platforms.Parse(p); err != nil {
			return fmt.Errorf("invalid platform %q: %w", p, errdefs.ErrInvalidArgument)
		}
	}
	// Resolve every name first so an unknown one is a clean 404.
	for _, n := range names {
		if _, err := r.b.Get(ctx, n); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if err := r.b.Save(ctx, names, w); err != nil {
		// Headers are gone: the client sees a truncated archive.
		log.G(ctx).WithError(err).WithField("images", names).Warn("image save failed part-way")
	}
	return nil
}

// created is the image's creation time from its config, else when it was stored.
func created(img *svc.Image) time.Time {
	if img.Config.Created != nil && !img.Config.Created.IsZero() {
		return *img.Config.Created
	}
	return img.Created
}

// matchAnyLabel reports whether labels satisfy any of the "key" or
// "key=value" filters (for "label!": prune only what matches none).
func matchAnyLabel(filters []string, labels map[string]string) bool {
	for _, v := range filters {
		k, want, hasValue := strings.Cut(v, "=")
		if got, ok := labels[k]; ok && (!hasValue || got == want) {
			return true
		}
	}
	return false
}

func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// digestsOfRepos keeps the repo@digest entries whose repository one of
// the kept tags belongs to, so a reference filter filters both.
func digestsOfRepos(digests, tags []string) []string {
	repos := map[string]bool{}
	for _, t := range tags {
		if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
			t = t[:i]
		}
		repos[t] = true
	}
	var out []string
	for _, d := range digests {
		if repo, _, ok := strings.Cut(d, "@"); ok && repos[repo] {
			out = append(out, d)
		}
	}
	return out
}
