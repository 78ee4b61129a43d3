package config

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
)

// IndexServer is the key Docker Hub's credentials are stored under, as in
// docker's config.json.
const IndexServer = "https://index.docker.io/v1/"

// hubHosts are the names Docker Hub goes by.
var hubHosts = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// ServerKey normalises a registry address the way docker's credential
// lookup does: empty and every Docker Hub name become IndexServer; any
// other address becomes its host[:port], without scheme or path.
func ServerKey(server string) string {
	host := strings.TrimSpace(server)
	if host == "" || host == IndexServer {
		return IndexServer
	}
	host = strings.TrimPrefix(host, "https://")
	host = strings.TrimPrefix(host, "http://")
	host, _, _ = strings.Cut(host, "/")
	if hubHosts[strings.ToLower(host)] {
		return IndexServer
	}
	return host
}

// ServerKeyForImage returns the server key of the registry an image
// reference names: `busybox` → IndexServer, `localhost:5000/app` →
// "localhost:5000".
func ServerKeyForImage(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", err
	}
	return ServerKey(reference.Domain(named)), nil
}

// EncodedAuthForImage returns the X-Registry-Auth header value for
// pulling or pushing image: the stored credentials for its registry, or
// just the server address when there are none (as docker sends).
func (f *File) EncodedAuthForImage(image string) (string, error) {
	key, err := ServerKeyForImage(image)
	if err != nil {
		return "", err
	}
	auth, _ := f.Credentials(key)
	encoded, err := authconfig.Encode(auth)
	if err != nil {
		return "", fmt.Errorf("encoding credentials for %s: %w", key, err)
	}
	return encoded, nil
}
