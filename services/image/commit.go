package image

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/labels"
	"github.com/containerd/errdefs"
	dref "github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/sys/signal"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// emptyLayer is the diff ID of a layer without entries: a tar holding only
// its end-of-archive blocks.
const emptyLayer = digest.Digest("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")

// CommitOptions describes an image made from a container.
type CommitOptions struct {
	// Parent is the ID of the image the container was created from.
	Parent digest.Digest
	// Ref names the new image (a normalised or familiar name with a
	// tag, see RepoTag); empty leaves it untagged.
	Ref string
	// Config is the new image's run configuration (the container's, with
	// the changes applied).
	Config *ctypes.Config
	// Author, Comment and CreatedBy go into the image and its history
	// entry. An empty Author keeps the parent's.
	Author, Comment, CreatedBy string
	// Layer writes the container's changes as an uncompressed layer tar.
	// A layer without entries adds no layer (an empty history entry).
	Layer func(w io.Writer) error
}

// Commit makes an image of the parent image plus one layer. Everything is
// written under a lease and named last: a failed commit lists nothing and
// leaves only garbage for the collector.
func (s *Service) Commit(ctx context.Context, opts CommitOptions) (digest.Digest, error) {
	parent, err := s.Get(ctx, opts.Parent.String())
	if err != nil {
		return "", fmt.Errorf("image of the container: %w", err)
	}
	name, err := s.tagName(opts.Ref)
	if err != nil {
		return "", err
	}
	var id digest.Digest
	err = s.store.WithLease(ctx, func(ctx context.Context) error {
		blob, diffID, err := s.writeLayer(ctx, opts.Layer)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		base := parent.Config
		author := opts.Author
		if author == "" {
			author = base.Author
		}
		img := dockerspec.DockerOCIImage{
			Image: ocispec.Image{
				Created:  &now,
				Author:   author,
				Platform: base.Platform,
				RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: slices.Clone(base.RootFS.DiffIDs)},
				History: append(slices.Clone(base.History), ocispec.History{
					Created:    &now,
					CreatedBy:  opts.CreatedBy,
					Author:     author,
					Comment:    opts.Comment,
					EmptyLayer: diffID == emptyLayer,
				}),
			},
			Config: ImageConfig(opts.Config),
		}
		layers := slices.Clone(parent.Manifest.Layers)
		if diffID != emptyLayer {
			img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, diffID)
			layers = append(layers, blob)
		}
		id, err = s.createImage(ctx, img, layers, name)
		return err
	})
	if err != nil {
		s.gc.Schedule()
		return "", err
	}
	return id, nil
}

// tagName normalises the name an image is to get (the default registry
// applied); empty stays empty.
func (s *Service) tagName(ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	n, err := s.registries.Normalize(ref)
	if err != nil {
		return "", err
	}
	if _, ok := n.(dref.Digested); ok {
		return "", fmt.Errorf("refusing to create a tag with a digest reference %q: %w", ref, errdefs.ErrInvalidArgument)
	}
	return n.String(), nil
}

// RepoTag joins the repo and tag parameters of commit and import into one
// name, as Docker does: the tag replaces one the repository carries,
// "latest" is the default, digests are refused. An empty repo is no name.
func RepoTag(repo, tag string) (string, error) {
	if repo == "" {
		return "", nil
	}
	n, err := dref.ParseNormalizedNamed(repo)
	if err != nil {
		return "", fmt.Errorf("invalid reference format %q: %v: %w", repo, err, errdefs.ErrInvalidArgument)
	}
	if _, ok := n.(dref.Digested); ok {
		return "", fmt.Errorf("cannot commit or import to a digest reference %q: %w", repo, errdefs.ErrInvalidArgument)
	}
	if tag != "" {
		t, err := dref.WithTag(dref.TrimNamed(n), tag)
		if err != nil {
			return "", fmt.Errorf("invalid tag %q: %v: %w", tag, err, errdefs.ErrInvalidArgument)
		}
		return t.String(), nil
	}
	return dref.TagNameOnly(n).String(), nil
}

// writeLayer stores the tar that write produces as a gzip layer blob and
// returns its descriptor and diff ID (the digest of the uncompressed tar).
func (s *Service) writeLayer(ctx context.Context, write func(io.Writer) error) (ocispec.Descriptor, digest.Digest, error) {
	cs := s.store.Content
	ref := "pouch-layer-" + randomHex(8)
	w, err := content.OpenWriter(ctx, cs, content.WithRef(ref))
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	committed := false
	defer func() {
		w.Close()
		if !committed {
			_ = cs.Abort(context.WithoutCancel(ctx), ref)
		}
	}()
	counted := &countingWriter{w: w}
	gz := gzip.NewWriter(counted)
	diffID := digest.Canonical.Digester()
	if err := write(io.MultiWriter(diffID.Hash(), gz)); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	if err := gz.Close(); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	dgst := w.Digest()
	err = w.Commit(ctx, counted.n, dgst, content.WithLabels(map[string]string{labels.LabelUncompressed: diffID.Digest().String()}))
	if err != nil && !errdefs.IsAlreadyExists(err) {
		return ocispec.Descriptor{}, "", err
	}
	committed = true
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: dgst, Size: counted.n}, diffID.Digest(), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createImage writes the config and an OCI manifest of layers, labels
// them for the collector, unpacks the layers that are not yet snapshots
// and names the image (a dangling record when name is empty). Callers
// hold a lease.
func (s *Service) createImage(ctx context.Context, img dockerspec.DockerOCIImage, layers []ocispec.Descriptor, name string) (digest.Digest, error) {
	cs := s.store.Content
	cfgBlob, err := json.Marshal(img)
	if err != nil {
		return "", err
	}
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgBlob), Size: int64(len(cfgBlob))}
	if err := content.WriteBlob(ctx, cs, "pouch-config-"+cfgDesc.Digest.Encoded(), strings.NewReader(string(cfgBlob)), cfgDesc); err != nil {
		return "", err
	}
	if layers == nil {
		layers = []ocispec.Descriptor{}
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    layers,
	}
	mBlob, err := json.Marshal(manifest)
	if err != nil {
		return "", err
	}
	target := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mBlob), Size: int64(len(mBlob))}
	if err := content.WriteBlob(ctx, cs, "pouch-manifest-"+target.Digest.Encoded(), strings.NewReader(string(mBlob)), target); err != nil {
		return "", err
	}
	// Children labels, then the snapshot: what the record will hold
	// stays reachable for the collector once the lease is gone.
	if err := s.prepare(ctx, target); err != nil {
		return "", err
	}
	s.writing.Lock()
	defer s.writing.Unlock()
	if name == "" {
		err = s.keepIfUnnamed(ctx, target)
	} else {
		err = s.setName(ctx, name, target)
	}
	if err != nil {
		return "", err
	}
	return cfgDesc.Digest, nil
}

// ImageConfig is the image configuration a container configuration makes
// (the fields an image carries).
func ImageConfig(c *ctypes.Config) dockerspec.DockerOCIImageConfig {
	if c == nil {
		return dockerspec.DockerOCIImageConfig{}
	}
	var ports map[string]struct{}
	if len(c.ExposedPorts) > 0 {
		ports = map[string]struct{}{}
		for p := range c.ExposedPorts {
			ports[p.String()] = struct{}{}
		}
	}
	return dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{
			User:         c.User,
			ExposedPorts: ports,
			Env:          c.Env,
			Entrypoint:   c.Entrypoint,
			Cmd:          c.Cmd,
			Volumes:      c.Volumes,
			WorkingDir:   c.WorkingDir,
			Labels:       c.Labels,
			StopSignal:   c.StopSignal,
			ArgsEscaped:  c.ArgsEscaped, //nolint:staticcheck // kept as Docker keeps it
		},
		DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{
			Healthcheck: c.Healthcheck,
			OnBuild:     c.OnBuild,
			Shell:       c.Shell,
		},
	}
}

// validChanges are the Dockerfile instructions commit and import accept.
var validChanges = map[string]bool{
	"cmd": true, "entrypoint": true, "healthcheck": true, "env": true, "expose": true, "label": true,
	"onbuild": true, "stopsignal": true, "user": true, "volume": true, "workdir": true,
}

// ApplyChanges applies Dockerfile instructions (`commit --change`,
// `import --change`: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR,
// VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK) to a copy of cfg, as Docker's
// builder does: variables expand in ENV, LABEL, EXPOSE, USER, WORKDIR,
// VOLUME and STOPSIGNAL; an ENTRYPOINT drops a CMD not set by the same
// changes.
func ApplyChanges(cfg *ctypes.Config, changes []string) (*ctypes.Config, error) {
	c := copyConfig(cfg)
	if len(changes) == 0 {
		return c, nil
	}
	var lines []string
	for _, ch := range changes {
		for _, line := range strings.Split(ch, "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") {
				lines = append(lines, line)
			}
		}
	}
	for _, line := range lines {
		instr, _, _ := strings.Cut(line, " ")
		instr, _, _ = strings.Cut(instr, "\t")
		if !validChanges[strings.ToLower(instr)] {
			return nil, fmt.Errorf("%s is not a valid change command: %w", strings.ToLower(instr), errdefs.ErrInvalidArgument)
		}
	}
	cmdSet := false
	for _, line := range lines {
		instr, args := splitInstruction(line)
		if err := applyChange(c, strings.ToLower(instr), args, &cmdSet); err != nil {
			return nil, fmt.Errorf("%s: %v: %w", strings.ToUpper(instr), err, errdefs.ErrInvalidArgument)
		}
	}
	return c, nil
}

func splitInstruction(line string) (string, string) {
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimSpace(line[i+1:])
}

func copyConfig(cfg *ctypes.Config) *ctypes.Config {
	if cfg == nil {
		return &ctypes.Config{}
	}
	c := *cfg
	c.Env = slices.Clone(cfg.Env)
	c.Cmd = slices.Clone(cfg.Cmd)
	c.Entrypoint = slices.Clone(cfg.Entrypoint)
	c.OnBuild = slices.Clone(cfg.OnBuild)
	c.Shell = slices.Clone(cfg.Shell)
	if cfg.ExposedPorts != nil {
		c.ExposedPorts = maps.Clone(cfg.ExposedPorts)
	}
	if cfg.Volumes != nil {
		c.Volumes = maps.Clone(cfg.Volumes)
	}
	if cfg.Labels != nil {
		c.Labels = maps.Clone(cfg.Labels)
	}
	if cfg.Healthcheck != nil {
		h := *cfg.Healthcheck
		h.Test = slices.Clone(cfg.Healthcheck.Test)
		c.Healthcheck = &h
	}
	return &c
}

func applyChange(c *ctypes.Config, instr, args string, cmdSet *bool) error {
	env := envMap(c.Env)
	switch instr {
	case "cmd":
		c.Cmd = commandLine(c, args)
		*cmdSet = true
	case "entrypoint":
		c.Entrypoint = commandLine(c, args)
		if c.Entrypoint == nil {
			c.Entrypoint = []string{}
		}
		if !*cmdSet {
			c.Cmd = nil
		}
	case "env":
		kvs, err := keyValues(args, env, "ENV")
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			c.Env = setEnv(c.Env, kv[0], kv[1])
		}
	case "label":
		kvs, err := keyValues(args, env, "LABEL")
		if err != nil {
			return err
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			c.Labels[kv[0]] = kv[1]
		}
	case "expose":
		words, err := shellWords(args, env)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			return fmt.Errorf("EXPOSE requires at least one argument")
		}
		if c.ExposedPorts == nil {
			c.ExposedPorts = network.PortSet{}
		}
		for _, w := range words {
			pr, err := network.ParsePortRange(w)
			if err != nil {
				return err
			}
			for p := range pr.All() {
				c.ExposedPorts[p] = struct{}{}
			}
		}
	case "user":
		w, err := oneWord(args, env, "USER")
		if err != nil {
			return err
		}
		c.User = w
	case "workdir":
		w, err := oneWord(args, env, "WORKDIR")
		if err != nil {
			return err
		}
		if !path.IsAbs(w) {
			w = path.Join("/", c.WorkingDir, w)
		}
		c.WorkingDir = w
	case "volume":
		var vols []string
		if js, ok := jsonArray(args); ok {
			vols = js
		} else {
			words, err := shellWords(args, env)
			if err != nil {
				return err
			}
			vols = words
		}
		if len(vols) == 0 {
			return fmt.Errorf("VOLUME requires at least one argument")
		}
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			if v = strings.TrimSpace(v); v == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			c.Volumes[v] = struct{}{}
		}
	case "stopsignal":
		w, err := oneWord(args, env, "STOPSIGNAL")
		if err != nil {
			return err
		}
		if _, err := signal.ParseSignal(w); err != nil {
			return fmt.Errorf("invalid signal: %s", w)
		}
		c.StopSignal = w
	case "onbuild":
		trigger, rest := splitInstruction(args)
		switch strings.ToUpper(trigger) {
		case "":
			return fmt.Errorf("ONBUILD requires at least one argument")
		case "ONBUILD":
			return fmt.Errorf("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
		case "FROM", "MAINTAINER":
			return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(trigger))
		}
		c.OnBuild = append(c.OnBuild, strings.TrimSpace(strings.ToUpper(trigger)+" "+rest))
	case "healthcheck":
		hc, err := parseHealthcheck(c, args)
		if err != nil {
			return err
		}
		c.Healthcheck = hc
	}
	return nil
}

// commandLine is the exec form of CMD or ENTRYPOINT: a JSON array as is,
// anything else run by the shell.
func commandLine(c *ctypes.Config, args string) []string {
	if js, ok := jsonArray(args); ok {
		return js
	}
	if args == "" {
		return nil
	}
	shell := c.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(slices.Clone(shell), args)
}

func jsonArray(args string) ([]string, bool) {
	if !strings.HasPrefix(strings.TrimSpace(args), "[") {
		return nil, false
	}
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		return nil, false
	}
	if out == nil {
		out = []string{}
	}
	return out, true
}

func parseHealthcheck(c *ctypes.Config, args string) (*ctypes.HealthConfig, error) {
	if strings.EqualFold(strings.TrimSpace(args), "NONE") {
		return &ctypes.HealthConfig{Test: []string{"NONE"}}, nil
	}
	hc := &ctypes.HealthConfig{}
	rest := args
	for strings.HasPrefix(rest, "--") {
		var flag string
		flag, rest = splitInstruction(rest)
		name, value, ok := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		if !ok {
			return nil, fmt.Errorf("missing value for --%s", name)
		}
		var err error
		switch name {
		case "interval":
			hc.Interval, err = positiveDuration(value)
		case "timeout":
			hc.Timeout, err = positiveDuration(value)
		case "start-period":
			hc.StartPeriod, err = positiveDuration(value)
		case "start-interval":
			hc.StartInterval, err = positiveDuration(value)
		case "retries":
			hc.Retries, err = strconv.Atoi(value)
			if err == nil && hc.Retries < 0 {
				err = fmt.Errorf("--retries cannot be negative (%d)", hc.Retries)
			}
		default:
			err = fmt.Errorf("unknown flag: --%s", name)
		}
		if err != nil {
			return nil, err
		}
	}
	typ, cmd := splitInstruction(rest)
	if !strings.EqualFold(typ, "CMD") {
		return nil, fmt.Errorf("unknown type %q in HEALTHCHECK (try CMD)", typ)
	}
	if js, ok := jsonArray(cmd); ok {
		hc.Test = append([]string{"CMD"}, js...)
	} else if cmd != "" {
		hc.Test = []string{"CMD-SHELL", cmd}
	} else {
		return nil, fmt.Errorf("missing command after HEALTHCHECK CMD")
	}
	return hc, nil
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < time.Millisecond && d != 0 {
		return 0, fmt.Errorf("interval %q cannot be less than 1ms", v)
	}
	return d, nil
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// keyValues parses `key=value ...` (quotes and variables as the shell), or
// the legacy `key value with spaces`.
func keyValues(args string, env map[string]string, instr string) ([][2]string, error) {
	words, err := shellWords(args, env)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s requires at least one argument", instr)
	}
	first, _, _ := strings.Cut(args, " ")
	if !strings.Contains(first, "=") {
		// Legacy form: the rest of the line is the value.
		key, rest := splitInstruction(args)
		value, err := shellWords(rest, env)
		if err != nil {
			return nil, err
		}
		if len(value) == 0 {
			return nil, fmt.Errorf("%s names can not be blank", instr)
		}
		k, err := shellWords(key, env)
		if err != nil || len(k) != 1 {
			return nil, fmt.Errorf("invalid %s name %q", instr, key)
		}
		return [][2]string{{k[0], strings.Join(value, " ")}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		if k == "" {
			return nil, fmt.Errorf("%s names can not be blank", instr)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func oneWord(args string, env map[string]string, instr string) (string, error) {
	words, err := shellWords(args, env)
	if err != nil {
		return "", err
	}
	if len(words) != 1 {
		return "", fmt.Errorf("%s requires exactly one argument", instr)
	}
	return words[0], nil
}

// shellWords splits s into words as a Dockerfile does: whitespace
// separates, quotes group (single quotes literally), a backslash escapes
// the next character, and $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt}
// expand from env outside single quotes.
func shellWords(s string, env map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
		case ch == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unexpected end of statement while looking for matching single-quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case ch == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
					cur.WriteByte(s[i])
					continue
				}
				if c == '$' {
					v, n, err := expandVar(s[i:], env)
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					i += n - 1
					continue
				}
				cur.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("unexpected end of statement while looking for matching double-quote")
			}
		case ch == '$':
			inWord = true
			v, n, err := expandVar(s[i:], env)
			if err != nil {
				return nil, err
			}
			cur.WriteString(v)
			i += n - 1
		default:
			inWord = true
			cur.WriteByte(ch)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expandVar expands the variable s starts with ("$..."), returning its
// value and how many bytes it took.
func expandVar(s string, env map[string]string) (string, int, error) {
	if len(s) < 2 {
		return "$", 1, nil
	}
	if s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0, fmt.Errorf("missing '}' in %q", s)
		}
		expr := s[2:end]
		name, word, op := expr, "", ""
		if i := strings.Index(expr, ":"); i >= 0 && i+1 < len(expr) {
			name, op, word = expr[:i], expr[i:i+2], expr[i+2:]
		}
		v, set := env[name]
		switch op {
		case ":-":
			if !set || v == "" {
				v = word
			}
		case ":+":
			if set && v != "" {
				v = word
			} else {
				v = ""
			}
		case "":
		default:
			return "", 0, fmt.Errorf("unsupported modifier (%s) in substitution", op)
		}
		return v, end + 1, nil
	}
	n := 1
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
		n++
	}
	if n == 1 {
		return "$", 1, nil
	}
	return env[s[1:n]], n, nil
}
