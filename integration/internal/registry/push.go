package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/internal/testimage"
)

// Client is an HTTP client for the registry's API that trusts its CA,
// presents its client certificate and answers its auth challenges (basic
// or bearer) with the registry's account. URLs may be relative ("/v2/").
func (r *Registry) Client() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &authTransport{
		base: r.transport(), base0: r.URL, user: r.User, pass: r.Password,
	}}
}

// authTransport answers registry challenges: Basic with the account,
// Bearer by fetching a token from the challenge's realm.
type authTransport struct {
	base        http.RoundTripper
	base0       string
	user, pass  string
	mu          sync.Mutex
	bearerByKey map[string]string
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "" {
		u, err := url.Parse(a.base0)
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	}
	resp, err := a.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || a.user == "" {
		return resp, err
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	retry, err := a.authorize(req, challenge)
	if err != nil {
		return resp, nil // hand back the 401
	}
	resp.Body.Close()
	return a.base.RoundTrip(retry)
}

func (a *authTransport) authorize(req *http.Request, challenge string) (*http.Request, error) {
	if req.Body != nil && req.GetBody == nil {
		return nil, errors.New("registry client: body cannot be re-sent")
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		retry.Body = body
	}
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic":
		retry.SetBasicAuth(a.user, a.pass)
	case "bearer":
		token, err := a.token(req.Context(), params)
		if err != nil {
			return nil, err
		}
		retry.Header.Set("Authorization", "Bearer "+token)
	default:
		return nil, fmt.Errorf("registry client: unknown challenge %q", challenge)
	}
	return retry, nil
}

func (a *authTransport) token(ctx context.Context, p map[string]string) (string, error) {
	key := p["realm"] + " " + p["service"] + " " + p["scope"]
	a.mu.Lock()
	if t, ok := a.bearerByKey[key]; ok {
		a.mu.Unlock()
		return t, nil
	}
	a.mu.Unlock()
	u, err := url.Parse(p["realm"])
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("service", p["service"])
	if p["scope"] != "" {
		q.Set("scope", p["scope"])
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(a.user, a.pass)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token server: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if out.Token == "" {
		out.Token = out.AccessToken
	}
	a.mu.Lock()
	if a.bearerByKey == nil {
		a.bearerByKey = map[string]string{}
	}
	a.bearerByKey[key] = out.Token
	a.mu.Unlock()
	return out.Token, nil
}

// parseChallenge splits `Bearer realm="x",service="y",scope="z"`.
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, ", ")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				params[k], rest = v[1:], ""
				break
			}
			params[k], rest = v[1:1+end], v[2+end:]
		} else {
			val, after, _ := strings.Cut(v, ",")
			params[k], rest = val, after
		}
	}
	return scheme, params
}

// do sends one API request and returns status, headers and body.
func (r *Registry) do(method, path string, header http.Header, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if !strings.HasPrefix(path, "http") {
		path = r.URL + path
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

// HasBlob reports whether the repository holds the blob.
func (r *Registry) HasBlob(t testing.TB, repo string, d digest.Digest) bool {
	t.Helper()
	status, _, body, err := r.do(http.MethodHead, "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
	if err != nil {
		t.Fatalf("registry: HEAD blob %s in %s: %v", d, repo, err)
	}
	switch status {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("registry: HEAD blob %s in %s: %d %s", d, repo, status, body)
	return false
}

// Manifest fetches a manifest (tag or digest) accepting every manifest and
// index media type; it returns the media type, the body and its digest.
func (r *Registry) Manifest(t testing.TB, repo, ref string) (string, []byte, digest.Digest) {
	t.Helper()
	mt, body, d, err := r.manifest(repo, ref)
	if err != nil {
		t.Fatal(err)
	}
	return mt, body, d
}

var manifestTypes = []string{
	ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

func (r *Registry) manifest(repo, ref string) (string, []byte, digest.Digest, error) {
	h := http.Header{"Accept": manifestTypes}
	status, hdr, body, err := r.do(http.MethodGet, "/v2/"+repo+"/manifests/"+ref, h, nil)
	if err != nil {
		return "", nil, "", fmt.Errorf("registry: GET manifest %s:%s: %w", repo, ref, err)
	}
	if status != http.StatusOK {
		return "", nil, "", fmt.Errorf("registry: GET manifest %s:%s: %d %s", repo, ref, status, body)
	}
	return hdr.Get("Content-Type"), body, digest.FromBytes(body), nil
}

// PutBlob uploads one blob unless the repository already has it.
func (r *Registry) PutBlob(repo string, d digest.Digest, data []byte) error {
	status, _, _, err := r.do(http.MethodHead, "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		return nil
	}
	status, hdr, body, err := r.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("registry: start upload to %s: %d %s", repo, status, body)
	}
	loc, err := url.Parse(hdr.Get("Location"))
	if err != nil {
		return err
	}
	base, _ := url.Parse(r.URL)
	loc = base.ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	status, _, body, err = r.do(http.MethodPut, loc.String(), h, data)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("registry: upload %s to %s: %d %s", d, repo, status, body)
	}
	return nil
}

// PutManifest stores a manifest or index under ref (a tag or its digest).
func (r *Registry) PutManifest(repo, ref, mediaType string, body []byte) error {
	h := http.Header{"Content-Type": {mediaType}}
	status, _, resp, err := r.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, h, body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("registry: PUT manifest %s:%s: %d %s", repo, ref, status, resp)
	}
	return nil
}

// Push uploads img as an OCI image (gzip layers) to repo:tag through the
// registry API, without pouchd. The returned OCI form names every digest
// (manifest, config, layers) the registry now holds.
func (r *Registry) Push(t testing.TB, img *testimage.Image, repo, tag string) *testimage.OCI {
	t.Helper()
	o, err := r.PushImage(img, repo, tag)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// PushImage is Push for callers without a testing.TB.
func (r *Registry) PushImage(img *testimage.Image, repo, tag string) (*testimage.OCI, error) {
	o, err := img.OCI()
	if err != nil {
		return nil, err
	}
	for _, l := range append([]ocispec.Descriptor{o.Manifest.Config}, o.Manifest.Layers...) {
		if err := r.PutBlob(repo, l.Digest, o.Blobs[l.Digest]); err != nil {
			return nil, err
		}
	}
	if err := r.PutManifest(repo, tag, o.Descriptor.MediaType, o.Blobs[o.Descriptor.Digest]); err != nil {
		return nil, err
	}
	return o, nil
}

// PushIndex pushes each image by digest and then an OCI index of them as
// repo:tag; each image's config decides its platform. It returns the
// index digest and the images' OCI forms, in order.
func (r *Registry) PushIndex(t testing.TB, repo, tag string, imgs ...*testimage.Image) (digest.Digest, []*testimage.OCI) {
	t.Helper()
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	var out []*testimage.OCI
	for _, img := range imgs {
		o, err := img.OCI()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.PushImage(img, repo, o.Descriptor.Digest.String()); err != nil {
			t.Fatal(err)
		}
		idx.Manifests = append(idx.Manifests, o.Descriptor)
		out = append(out, o)
	}
	body, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PutManifest(repo, tag, ocispec.MediaTypeImageIndex, body); err != nil {
		t.Fatal(err)
	}
	return digest.FromBytes(body), out
}

// PushArchive pushes img with skopeo from a docker-archive, so the
// registry holds a Docker schema 2 manifest written by another client; it
// returns the manifest digest.
func (r *Registry) PushArchive(t testing.TB, img *testimage.Image, repo, tag string) digest.Digest {
	t.Helper()
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed")
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "image.tar")
	if err := testimage.WriteFile(archive, testimage.FormatDocker, img); err != nil {
		t.Fatal(err)
	}
	digestFile := filepath.Join(dir, "digest")
	args := []string{"--insecure-policy", "copy", "--quiet", "--digestfile", digestFile, "--dest-tls-verify=false"}
	if r.User != "" {
		args = append(args, "--dest-creds", r.User+":"+r.Password)
	}
	args = append(args, "docker-archive:"+archive, "docker://"+r.Ref(repo, tag))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, skopeo, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy to %s: %v\n%s", r.Ref(repo, tag), err, out)
	}
	b, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	d, err := digest.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("skopeo digest file: %v", err)
	}
	return d
}
