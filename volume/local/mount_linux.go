package local

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// mountFlag is a mount(8) option that is a flag of mount(2) rather than
// filesystem data: clear says the option removes the flag ("rw", "exec").
type mountFlag struct {
	clear bool
	flag  uintptr
}

var mountFlags = map[string]mountFlag{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"suid":          {true, unix.MS_NOSUID},
	"nosuid":        {false, unix.MS_NOSUID},
	"dev":           {true, unix.MS_NODEV},
	"nodev":         {false, unix.MS_NODEV},
	"exec":          {true, unix.MS_NOEXEC},
	"noexec":        {false, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"private":       {false, unix.MS_PRIVATE},
	"rprivate":      {false, unix.MS_PRIVATE | unix.MS_REC},
	"shared":        {false, unix.MS_SHARED},
	"rshared":       {false, unix.MS_SHARED | unix.MS_REC},
	"slave":         {false, unix.MS_SLAVE},
	"rslave":        {false, unix.MS_SLAVE | unix.MS_REC},
	"unbindable":    {false, unix.MS_UNBINDABLE},
	"runbindable":   {false, unix.MS_UNBINDABLE | unix.MS_REC},
}

const propagation = unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE

// parseMountOptions splits mount(8) options into mount(2) flags and the
// filesystem's data ("size=64m,uid=1000" for a tmpfs), as mount(8) does.
func parseMountOptions(o string) (flags uintptr, data string) {
	var rest []string
	for _, opt := range strings.Split(o, ",") {
		if opt == "" {
			continue
		}
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		rest = append(rest, opt)
	}
	return flags, strings.Join(rest, ",")
}

// Mount mounts the volume's filesystem on target, its data directory, as
// `mount -t TYPE -o O DEVICE TARGET` would: propagation options take a
// second call, and a read-only bind a remount, as with mount(8).
func Mount(o Options, target string) error {
	// mount(2) follows a symlink at the target: mount only on a real
	// directory.
	fi, err := os.Lstat(target)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("refusing to mount on %s: not a directory", target)
	}
	flags, data := parseMountOptions(o.O)
	base := flags &^ propagation
	if err := unix.Mount(o.Device, target, o.Type, base, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", o, target, err)
	}
	if p := flags & propagation; p != 0 {
		if err := unix.Mount("", target, "", p|flags&unix.MS_REC, ""); err != nil {
			_ = Unmount(target)
			return fmt.Errorf("set propagation of %s: %w", target, err)
		}
	}
	if base&(unix.MS_BIND|unix.MS_RDONLY) == unix.MS_BIND|unix.MS_RDONLY {
		if err := unix.Mount("", target, "", base|unix.MS_REMOUNT, ""); err != nil {
			_ = Unmount(target)
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	return nil
}

// Unmount detaches what is mounted on target; nothing mounted is no error.
func Unmount(target string) error {
	err := unix.Unmount(target, unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		if mounted, merr := Mounted(target); merr == nil && mounted {
			// EINVAL for something mounted: try once more, then give up.
			if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", target, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unmount %s: %w", target, err)
}

// Mounted reports whether something is mounted on path.
func Mounted(path string) (bool, error) {
	m, err := mountinfo.Mounted(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return m, err
}

// MountsUnder lists the mount points at or below dir (which must be
// absolute, clean and free of symlinks).
func MountsUnder(dir string) ([]string, error) {
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(infos))
	for _, m := range infos {
		out = append(out, m.Mountpoint)
	}
	return out, nil
}
