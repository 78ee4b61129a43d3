package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// File is one entry of a layer.
type File struct {
	// Path is slash-separated and relative to the image root; a leading "/"
	// is allowed ("/etc/passwd" and "etc/passwd" are the same entry).
	Path string
	// Mode holds the type (0 for a regular file, fs.ModeDir or
	// fs.ModeSymlink) and the permissions, including fs.ModeSticky,
	// fs.ModeSetuid and fs.ModeSetgid.
	Mode fs.FileMode
	// Data is the content of a regular file.
	Data []byte
	// Target is the target of a symlink.
	Target   string
	UID, GID int
}

// RegularFile returns a root-owned regular file.
func RegularFile(p string, perm fs.FileMode, data []byte) File {
	return File{Path: p, Mode: perm, Data: data}
}

// Dir returns a root-owned directory.
func Dir(p string, perm fs.FileMode) File {
	return File{Path: p, Mode: fs.ModeDir | perm}
}

// Symlink returns a symlink at p pointing to target.
func Symlink(p, target string) File {
	return File{Path: p, Mode: fs.ModeSymlink | 0o777, Target: target}
}

// Whiteout returns the entry that deletes p (and everything below it) from
// the layers underneath: an empty file named ".wh.<base>" beside it.
func Whiteout(p string) File {
	dir, base := path.Split(p)
	return File{Path: dir + ".wh." + base}
}

// OpaqueWhiteout returns the entry that hides everything the layers
// underneath hold in dir, while keeping dir itself.
func OpaqueWhiteout(dir string) File {
	return File{Path: path.Join(dir, ".wh..wh..opq")}
}

// LayerTar returns an uncompressed layer tar holding files. Missing parent
// directories are added (root-owned, 0755), entries are sorted by path and
// every timestamp is Epoch, so equal inputs give byte-identical layers.
func LayerTar(files ...File) ([]byte, error) {
	entries := make(map[string]File, len(files))
	for _, f := range files {
		name, err := cleanPath(f.Path)
		if err != nil {
			return nil, err
		}
		if _, dup := entries[name]; dup {
			return nil, fmt.Errorf("testimage: layer entry %q given twice", name)
		}
		f.Path = name
		entries[name] = f
	}
	for name := range entries {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = Dir(dir, 0o755)
			}
		}
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names) // a parent is a prefix of its children: it sorts first

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		f := entries[name]
		hdr, err := header(f)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("testimage: layer entry %q: %w", name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("testimage: layer entry %q: %w", name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func header(f File) (*tar.Header, error) {
	hdr := &tar.Header{
		Name:    f.Path,
		Mode:    unixMode(f.Mode),
		Uid:     f.UID,
		Gid:     f.GID,
		ModTime: Epoch,
	}
	switch f.Mode.Type() {
	case 0:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = int64(len(f.Data))
	case fs.ModeDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case fs.ModeSymlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = f.Target
	default:
		return nil, fmt.Errorf("testimage: layer entry %q: unsupported file type %v", f.Path, f.Mode.Type())
	}
	return hdr, nil
}

// unixMode converts Go's permission and special bits to a tar header mode.
func unixMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func cleanPath(p string) (string, error) {
	name := path.Clean(strings.TrimLeft(p, "/"))
	if name == "." || name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("testimage: invalid layer path %q", p)
	}
	return name, nil
}
