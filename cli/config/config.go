// Package config reads and writes the pouch command line's configuration
// file, <dir>/config.json, in the Docker CLI's format. Only registry
// credentials ("auths") are used; other keys are kept as they are.
package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/registry"
)

const (
	// EnvDir names the environment variable that overrides the config
	// directory, as DOCKER_CONFIG does for docker.
	EnvDir = "POUCH_CONFIG"
	// FileName is the config file's name inside the directory.
	FileName = "config.json"
	dirName  = ".pouch"
)

// Dir returns the config directory: $POUCH_CONFIG, else ~/.pouch.
func Dir() (string, error) {
	if dir := os.Getenv(EnvDir); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the pouch config directory (set $%s): %w", EnvDir, err)
	}
	return filepath.Join(home, dirName), nil
}

// AuthEntry is one registry's credentials as stored in the file: "auth" is
// base64("user:password").
type AuthEntry struct {
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// File is a loaded config file.
type File struct {
	// Auths maps a server key (see ServerKey) to its credentials.
	Auths map[string]AuthEntry

	path  string
	other map[string]json.RawMessage // keys pouch does not use, kept on Save
}

// Load reads <dir>/config.json. A missing file is an empty config.
func Load(dir string) (*File, error) {
	if dir == "" {
		return nil, fmt.Errorf("cannot find the pouch config directory (set $%s)", EnvDir)
	}
	f := &File{path: filepath.Join(dir, FileName), Auths: map[string]AuthEntry{}, other: map[string]json.RawMessage{}}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading config file %s: %w", f.path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(data, &f.other); err != nil {
		return nil, fmt.Errorf("loading config file %s: %w", f.path, err)
	}
	if raw, ok := f.other["auths"]; ok {
		if err := json.Unmarshal(raw, &f.Auths); err != nil {
			return nil, fmt.Errorf("loading config file %s: auths: %w", f.path, err)
		}
		if f.Auths == nil {
			f.Auths = map[string]AuthEntry{}
		}
		delete(f.other, "auths")
	}
	return f, nil
}

// Save writes the file atomically: the directory gets mode 0700 when it is
// created, the file always 0600, since it holds credentials.
func (f *File) Save() error {
	doc := make(map[string]any, len(f.other)+1)
	for k, v := range f.other {
		doc[k] = v
	}
	auths := f.Auths
	if auths == nil {
		auths = map[string]AuthEntry{}
	}
	doc["auths"] = auths
	data, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving config file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, FileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving config file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving config file: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving config file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving config file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("saving config file: %w", err)
	}
	return nil
}

// Credentials returns the stored credentials for server (any spelling
// ServerKey accepts) and whether there were any. An entry stored under the
// exact key wins over one that only normalises to it (e.g. stored with a
// scheme, "https://host:5000").
func (f *File) Credentials(server string) (registry.AuthConfig, bool) {
	key := ServerKey(server)
	entryKey, ok := f.find(key)
	if !ok {
		return registry.AuthConfig{ServerAddress: key}, false
	}
	e := f.Auths[entryKey]
	user, pass := decodeAuth(e.Auth)
	return registry.AuthConfig{
		Username:      user,
		Password:      pass,
		ServerAddress: key,
		IdentityToken: e.IdentityToken,
		RegistryToken: e.RegistryToken,
	}, true
}

// find returns the entry key matching the normalised server key.
func (f *File) find(key string) (string, bool) {
	if _, ok := f.Auths[key]; ok {
		return key, true
	}
	for _, k := range f.matching(key) {
		return k, true
	}
	return "", false
}

// matching lists, sorted, the entry keys that normalise to key.
func (f *File) matching(key string) []string {
	var keys []string
	for k := range f.Auths {
		if ServerKey(k) == key {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// SetCredentials stores auth under ServerKey(auth.ServerAddress),
// replacing any entry for the same server stored under another spelling.
// An identity token replaces the password, as docker does.
func (f *File) SetCredentials(auth registry.AuthConfig) {
	key := ServerKey(auth.ServerAddress)
	for _, k := range f.matching(key) {
		delete(f.Auths, k)
	}
	e := AuthEntry{IdentityToken: auth.IdentityToken, RegistryToken: auth.RegistryToken}
	password := auth.Password
	if auth.IdentityToken != "" {
		password = ""
	}
	if auth.Username != "" || password != "" {
		e.Auth = base64.StdEncoding.EncodeToString([]byte(auth.Username + ":" + password))
	}
	if f.Auths == nil {
		f.Auths = map[string]AuthEntry{}
	}
	f.Auths[key] = e
}

// RemoveCredentials deletes every entry for server and reports whether
// there was one.
func (f *File) RemoveCredentials(server string) bool {
	keys := f.matching(ServerKey(server))
	for _, k := range keys {
		delete(f.Auths, k)
	}
	return len(keys) > 0
}

// decodeAuth splits base64("user:password"); a malformed value yields
// no credentials.
func decodeAuth(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", ""
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", ""
	}
	return user, strings.Trim(pass, "\x00")
}

// LoadOrEmpty loads the config for reading credentials. A file that
// cannot be read is reported on warn and treated as empty, as docker does,
// so a broken config does not stop pulls of public images.
func LoadOrEmpty(dir string, warn io.Writer) *File {
	f, err := Load(dir)
	if err != nil {
		fmt.Fprintf(warn, "WARNING: Error loading config file: %v\n", err)
		return &File{path: filepath.Join(dir, FileName), Auths: map[string]AuthEntry{}, other: map[string]json.RawMessage{}}
	}
	return f
}
