package container

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
)

// parseMountFlag reads a --mount value as docker does:
// type=volume|bind|tmpfs,source=...,target=...,readonly,bind-propagation=...,
// volume-nocopy,volume-opt=k=v,volume-label=k=v,volume-driver=...,
// tmpfs-size=...,tmpfs-mode=...
func parseMountFlag(value string) (mount.Mount, error) {
	r := csv.NewReader(strings.NewReader(value))
	fields, err := r.Read()
	if err != nil {
		return mount.Mount{}, fmt.Errorf("invalid mount %q: %w", value, err)
	}
	m := mount.Mount{Type: mount.TypeVolume}
	volume := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		return m.VolumeOptions
	}
	bind := func() *mount.BindOptions {
		if m.BindOptions == nil {
			m.BindOptions = &mount.BindOptions{}
		}
		return m.BindOptions
	}
	tmpfs := func() *mount.TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &mount.TmpfsOptions{}
		}
		return m.TmpfsOptions
	}
	boolValue := func(key, v string, hasValue bool) (bool, error) {
		if !hasValue {
			return true, nil
		}
		switch strings.ToLower(v) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return false, fmt.Errorf("invalid value for %s: %s", key, v)
	}
	for _, f := range fields {
		key, val, hasValue := strings.Cut(f, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			if m.ReadOnly, err = boolValue(key, val, hasValue); err != nil {
				return m, err
			}
		case "consistency":
			m.Consistency = mount.Consistency(val)
		case "bind-propagation":
			bind().Propagation = mount.Propagation(strings.ToLower(val))
		case "bind-nonrecursive":
			if bind().NonRecursive, err = boolValue(key, val, hasValue); err != nil {
				return m, err
			}
		case "volume-nocopy":
			if volume().NoCopy, err = boolValue(key, val, hasValue); err != nil {
				return m, err
			}
		case "volume-driver":
			if volume().DriverConfig == nil {
				volume().DriverConfig = &mount.Driver{}
			}
			volume().DriverConfig.Name = val
		case "volume-opt":
			k, v, ok := strings.Cut(val, "=")
			if !ok {
				return m, fmt.Errorf("invalid volume-opt %q: want key=value", val)
			}
			if volume().DriverConfig == nil {
				volume().DriverConfig = &mount.Driver{}
			}
			if volume().DriverConfig.Options == nil {
				volume().DriverConfig.Options = map[string]string{}
			}
			volume().DriverConfig.Options[k] = v
		case "volume-label":
			k, v, _ := strings.Cut(val, "=")
			if volume().Labels == nil {
				volume().Labels = map[string]string{}
			}
			volume().Labels[k] = v
		case "volume-subpath":
			volume().Subpath = val
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for tmpfs-size: %s", val)
			}
			tmpfs().SizeBytes = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return m, fmt.Errorf("invalid value for tmpfs-mode: %s", val)
			}
			// The octal bits as they are, as the docker CLI sends them.
			tmpfs().Mode = os.FileMode(n)
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", key, f)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("target is required")
	}
	switch m.Type {
	case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
	default:
		return m, fmt.Errorf("invalid mount type %q: want volume, bind or tmpfs", m.Type)
	}
	if m.VolumeOptions != nil && m.Type != mount.TypeVolume {
		return m, fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type)
	}
	if m.BindOptions != nil && m.Type != mount.TypeBind {
		return m, fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", m.Type)
	}
	if m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs {
		return m, fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", m.Type)
	}
	return m, nil
}
