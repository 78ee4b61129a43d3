package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// devices returns the device nodes and device cgroup rules of the container. Privileged
// containers get every host device and may use any device; others get the default nodes and
// rules, plus HostConfig.Devices and HostConfig.DeviceCgroupRules.
func devices(hc *container.HostConfig, h host) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	var devs []specs.LinuxDevice
	var rules []specs.LinuxDeviceCgroup
	if hc.Privileged {
		all, err := h.devices()
		if err != nil {
			return nil, nil, err
		}
		devs = all
		rules = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	} else {
		devs = defaultDevices()
		rules = defaultDeviceRules()
		for _, r := range hc.DeviceCgroupRules {
			rule, err := ParseDeviceCgroupRule(r)
			if err != nil {
				return nil, nil, err
			}
			rules = append(rules, rule)
		}
	}
	for _, m := range hc.Devices {
		d, r, err := mappedDevices(m)
		if err != nil {
			return nil, nil, err
		}
		devs = mergeDevices(devs, d)
		if !hc.Privileged {
			rules = append(rules, r...)
		}
	}
	return devs, rules, nil
}

// mergeDevices adds devices, replacing any with the same path.
func mergeDevices(devs, add []specs.LinuxDevice) []specs.LinuxDevice {
	for _, d := range add {
		if i := slices.IndexFunc(devs, func(x specs.LinuxDevice) bool { return x.Path == d.Path }); i >= 0 {
			devs[i] = d
		} else {
			devs = append(devs, d)
		}
	}
	return devs
}

func withDevices(devs []specs.LinuxDevice, rules []specs.LinuxDeviceCgroup) option {
	return func(s *specs.Spec) error {
		s.Linux.Devices = append([]specs.LinuxDevice(nil), devs...)
		s.Linux.Resources.Devices = append([]specs.LinuxDeviceCgroup(nil), rules...)
		return nil
	}
}

var deviceCgroupRuleRE = regexp.MustCompile(`^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`)

// ParseDeviceCgroupRule parses a --device-cgroup-rule value such as "c 1:3 rwm" or
// "b 8:* r" into an allow rule.
func ParseDeviceCgroupRule(rule string) (specs.LinuxDeviceCgroup, error) {
	m := deviceCgroupRuleRE.FindStringSubmatch(strings.TrimSpace(rule))
	if m == nil {
		return specs.LinuxDeviceCgroup{}, invalid("invalid device cgroup rule %q: want 'type major:minor access', e.g. 'c 1:3 rwm'", rule)
	}
	r := specs.LinuxDeviceCgroup{Allow: true, Type: m[1], Access: m[4]}
	for _, f := range []struct {
		s   string
		dst **int64
	}{{m[2], &r.Major}, {m[3], &r.Minor}} {
		if f.s == "*" {
			continue
		}
		n, err := strconv.ParseInt(f.s, 10, 64)
		if err != nil {
			return specs.LinuxDeviceCgroup{}, invalid("invalid device cgroup rule %q", rule)
		}
		*f.dst = &n
	}
	return r, nil
}

// mappedDevices resolves a --device mapping: a device node, or a directory of them mapped
// recursively. Symlinks on the host path are followed (e.g. /dev/disk/by-id/...).
func mappedDevices(m container.DeviceMapping) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	perms := m.CgroupPermissions
	if perms == "" {
		perms = "rwm"
	}
	if strings.Trim(perms, "rwm") != "" {
		return nil, nil, invalid("invalid device permissions %q for %s: want a combination of r, w and m", perms, m.PathOnHost)
	}
	dst := m.PathInContainer
	if dst == "" {
		dst = m.PathOnHost
	}
	if !filepath.IsAbs(m.PathOnHost) || !filepath.IsAbs(dst) {
		return nil, nil, invalid("invalid device mapping %s:%s: paths must be absolute", m.PathOnHost, dst)
	}
	src, err := filepath.EvalSymlinks(m.PathOnHost)
	if err != nil {
		return nil, nil, invalid("error gathering device information while adding device %q: %v", m.PathOnHost, err)
	}

	var devs []specs.LinuxDevice
	var rules []specs.LinuxDeviceCgroup
	add := func(d specs.LinuxDevice) {
		major, minor := d.Major, d.Minor
		devs = append(devs, d)
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: perms})
	}
	d, err := deviceFromPath(src, dst)
	if err == nil {
		add(d)
		return devs, rules, nil
	}
	if !errors.Is(err, errNotDevice) {
		return nil, nil, invalid("error gathering device information while adding device %q: %v", m.PathOnHost, err)
	}
	if fi, serr := os.Stat(src); serr != nil || !fi.IsDir() {
		return nil, nil, invalid("%s is not a device node or a directory of device nodes", m.PathOnHost)
	}
	err = filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		d, err := deviceFromPath(p, filepath.Join(dst, rel))
		if errors.Is(err, errNotDevice) {
			return nil
		}
		if err == nil {
			add(d)
		}
		return err
	})
	if err != nil {
		return nil, nil, invalid("error gathering device information while adding device %q: %v", m.PathOnHost, err)
	}
	return devs, rules, nil
}

var errNotDevice = errors.New("not a device node")

// deviceFromPath describes the character or block device at hostPath, to be created at
// containerPath. Symlinks are not followed.
func deviceFromPath(hostPath, containerPath string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(hostPath, &st); err != nil {
		return specs.LinuxDevice{}, &os.PathError{Op: "lstat", Path: hostPath, Err: err}
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, errNotDevice
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path:     containerPath,
		Type:     typ,
		Major:    int64(unix.Major(st.Rdev)),
		Minor:    int64(unix.Minor(st.Rdev)),
		FileMode: &mode,
		UID:      &uid,
		GID:      &gid,
	}, nil
}

// hostDevicesSkipped are /dev entries a privileged container does not get from the host:
// mounts and links the runtime sets up itself.
var hostDevicesSkipped = []string{"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", "console"}

// HostDevices returns the host's character and block devices under /dev, for privileged
// containers.
func HostDevices() ([]specs.LinuxDevice, error) {
	return devicesUnder("/dev")
}

func devicesUnder(root string) ([]specs.LinuxDevice, error) {
	var devs []specs.LinuxDevice
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil // devices come and go; skip what we cannot read
			}
			return err
		}
		if p != root && slices.Contains(hostDevicesSkipped, e.Name()) && filepath.Dir(p) == root {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || e.Type()&fs.ModeDevice == 0 {
			return nil
		}
		d, err := deviceFromPath(p, p)
		if err != nil {
			return nil // gone or changed since the directory was read
		}
		devs = append(devs, d)
		return nil
	})
	return devs, err
}
