package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// copyUp fills an empty volume with the content the image has at its
// destination, as Docker does the first time a new volume is mounted
// over a directory of the image: files, directories and symlinks with
// their modes and owners. The source is resolved inside the rootfs and
// symlinks are copied as links, never followed; a volume that is not
// empty is left alone.
func copyUp(rootfs, dst, volume string) error {
	entries, err := os.ReadDir(volume)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return nil
	}
	src, err := securejoin.SecureJoin(rootfs, dst)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing to copy: the runtime creates the mount point
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	// The volume's root takes the directory's mode and owner.
	if err := os.Chmod(volume, fi.Mode().Perm()|fi.Mode()&(os.ModeSticky|os.ModeSetgid|os.ModeSetuid)); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(volume, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return copyTree(src, volume)
}

// copyTree copies the entries of directory src into directory dst.
func copyTree(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		fi, err := os.Lstat(from)
		if err != nil {
			return err
		}
		mode := fi.Mode()
		switch {
		case mode.IsDir():
			if err := os.Mkdir(to, 0o700); err != nil {
				return err
			}
			if err := copyTree(from, to); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := copyFile(from, to); err != nil {
				return err
			}
		case mode&os.ModeSymlink != 0:
			target, err := os.Readlink(from)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		default:
			continue // devices, sockets and fifos are not copied
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if err := os.Lchown(to, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if mode&os.ModeSymlink == 0 {
			if err := os.Chmod(to, mode.Perm()|mode&(os.ModeSticky|os.ModeSetgid|os.ModeSetuid)); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.OpenFile(from, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}
