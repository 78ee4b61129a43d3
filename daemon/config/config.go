// Package config holds pouchd's configuration: flags, the config file,
// and the rule that merges them.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Config is pouchd's configuration. The JSON keys equal the flag names.
type Config struct {
	HomeDir        string   `json:"home-dir"`
	ExecRootDir    string   `json:"exec-root-dir"`
	Listen         []string `json:"listen"`
	Debug          bool     `json:"debug"`
	DefaultRuntime string   `json:"default-runtime"`
	AddRuntime     []string `json:"add-runtime"` // name=path
	CgroupParent   string   `json:"cgroup-parent"`

	// Registries.
	InsecureRegistries []string `json:"insecure-registries"` // HOST[:PORT] or CIDR
	RegistryMirrors    []string `json:"registry-mirrors"`    // URLs of Docker Hub mirrors
	DefaultRegistry    string   `json:"default-registry"`    // registry of names without one
	CertsDir           string   `json:"certs-dir"`           // HOST[:PORT]/{ca.crt,client.cert,client.key}

	// The default bridge network.
	BridgeName string `json:"bridge-name"`
	BIP        string `json:"bip"`        // the bridge's address with its prefix
	FixedCIDR  string `json:"fixed-cidr"` // where container addresses come from
	MTU        int    `json:"mtu"`
	IPTables   bool   `json:"iptables"`
	IPForward  bool   `json:"ipforward"`
}

// DefaultFile is where the config file is looked for.
const DefaultFile = "/etc/pouch/config.json"

// Default returns the defaults.
func Default() Config {
	return Config{
		HomeDir:        "/var/lib/pouch",
		ExecRootDir:    "/var/run/pouch",
		Listen:         []string{"unix:///var/run/pouchd.sock"},
		DefaultRuntime: "runc",
		CgroupParent:   "pouch",
		CertsDir:       "/etc/pouch/certs.d",
		BridgeName:     "p0",
		BIP:            "192.168.5.1/24",
		IPTables:       true,
		IPForward:      true,
	}
}

// Flags binds the configuration's flags to fs.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.HomeDir, "home-dir", c.HomeDir, "Root directory of persistent state (images, containers)")
	fs.StringVar(&c.ExecRootDir, "exec-root-dir", c.ExecRootDir, "Root directory of runtime state (bundles, sockets)")
	fs.StringArrayVarP(&c.Listen, "listen", "l", c.Listen, "Address to serve the API on (unix:///path or tcp://host:port), repeatable")
	fs.BoolVarP(&c.Debug, "debug", "D", c.Debug, "Debug logging")
	fs.StringVar(&c.DefaultRuntime, "default-runtime", c.DefaultRuntime, "OCI runtime containers use unless they name one")
	fs.StringArrayVar(&c.AddRuntime, "add-runtime", c.AddRuntime, "Register an OCI runtime as name=path, repeatable")
	fs.StringVar(&c.CgroupParent, "cgroup-parent", c.CgroupParent, "Parent cgroup of every container")
	fs.StringArrayVar(&c.InsecureRegistries, "insecure-registries", c.InsecureRegistries, "Registry (HOST[:PORT] or CIDR) reached with an unverified certificate or plain HTTP, repeatable")
	fs.StringArrayVar(&c.RegistryMirrors, "registry-mirrors", c.RegistryMirrors, "Docker Hub mirror URL, tried in order before Docker Hub, repeatable")
	fs.StringVar(&c.DefaultRegistry, "default-registry", c.DefaultRegistry, "Registry of image names that name none (default docker.io)")
	fs.StringVar(&c.CertsDir, "certs-dir", c.CertsDir, "Directory of per-registry TLS files: HOST[:PORT]/ca.crt, client.cert, client.key")
	fs.StringVar(&c.BridgeName, "bridge-name", c.BridgeName, "Linux bridge of the default bridge network")
	fs.StringVar(&c.BIP, "bip", c.BIP, "Address and prefix of the default bridge (its gateway and subnet)")
	fs.StringVar(&c.FixedCIDR, "fixed-cidr", c.FixedCIDR, "Range of the default bridge's subnet that container addresses come from")
	fs.IntVar(&c.MTU, "mtu", c.MTU, "MTU of the default bridge network (0: the kernel's default, 1500)")
	fs.BoolVar(&c.IPTables, "iptables", c.IPTables, "Write iptables rules: masquerade, published ports, isolation of networks")
	fs.BoolVar(&c.IPForward, "ipforward", c.IPForward, "Enable IPv4 forwarding at start")
}

// Merge applies the config file at path onto c, whose flags were parsed
// from fs. A scalar set both by a flag and in the file is an error naming
// the key; lists are joined. A missing file is fine unless required.
func (c *Config) Merge(fs *pflag.FlagSet, path string, required bool) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var conflicts []string
	for key := range raw {
		f := fs.Lookup(key)
		if f == nil || key == "config-file" {
			return fmt.Errorf("config file %s: unknown key %q", path, key)
		}
		if f.Changed && !strings.HasSuffix(f.Value.Type(), "Array") {
			conflicts = append(conflicts, key)
		}
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return fmt.Errorf("the following directives are specified both as a flag and in the configuration file: %s", strings.Join(conflicts, ", "))
	}
	var file Config
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for key := range raw {
		switch key {
		case "home-dir":
			c.HomeDir = file.HomeDir
		case "exec-root-dir":
			c.ExecRootDir = file.ExecRootDir
		case "debug":
			c.Debug = file.Debug
		case "default-runtime":
			c.DefaultRuntime = file.DefaultRuntime
		case "cgroup-parent":
			c.CgroupParent = file.CgroupParent
		case "listen":
			if fs.Lookup("listen").Changed {
				c.Listen = append(c.Listen, file.Listen...)
			} else {
				c.Listen = file.Listen
			}
		case "add-runtime":
			c.AddRuntime = append(c.AddRuntime, file.AddRuntime...)
		case "insecure-registries":
			c.InsecureRegistries = append(c.InsecureRegistries, file.InsecureRegistries...)
		case "registry-mirrors":
			c.RegistryMirrors = append(c.RegistryMirrors, file.RegistryMirrors...)
		case "default-registry":
			c.DefaultRegistry = file.DefaultRegistry
		case "certs-dir":
			c.CertsDir = file.CertsDir
		case "bridge-name":
			c.BridgeName = file.BridgeName
		case "bip":
			c.BIP = file.BIP
		case "fixed-cidr":
			c.FixedCIDR = file.FixedCIDR
		case "mtu":
			c.MTU = file.MTU
		case "iptables":
			c.IPTables = file.IPTables
		case "ipforward":
			c.IPForward = file.IPForward
		}
	}
	return nil
}

// Runtimes returns the configured OCI runtimes by name; runc is always
// there unless replaced.
func (c *Config) Runtimes(lookPath func(string) (string, error)) (map[string]string, error) {
	out := map[string]string{}
	if p, err := lookPath("runc"); err == nil {
		out["runc"] = p
	}
	for _, r := range c.AddRuntime {
		name, path, ok := strings.Cut(r, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("invalid --add-runtime %q: want name=path", r)
		}
		out[name] = path
	}
	if _, ok := out[c.DefaultRuntime]; !ok {
		return nil, fmt.Errorf("default runtime %q not found (is runc installed?)", c.DefaultRuntime)
	}
	return out, nil
}
