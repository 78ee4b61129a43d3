package container

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/cli/command"
)

type cpOptions struct {
	source      string
	destination string
	followLink  bool
	copyUIDGID  bool
	quiet       bool
}

func newCpCommand(deps *Deps) *cobra.Command {
	var opts cpOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tpouch cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin\n" +
			"and extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a\n" +
			"container source to stdout.",
		Args: command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return errors.New("source can not be empty")
			}
			if args[1] == "" {
				return errors.New("destination can not be empty")
			}
			opts.source, opts.destination = args[0], args[1]
			if !cmd.Flags().Changed("quiet") {
				opts.quiet = !command.IsTerminal(deps.Out)
			}
			return runCp(cmd.Context(), deps, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	flags.BoolVarP(&opts.copyUIDGID, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	return cmd
}

func runCp(ctx context.Context, deps *Deps, opts cpOptions) error {
	srcContainer, srcPath := splitCpArg(opts.source)
	dstContainer, dstPath := splitCpArg(opts.destination)
	api := deps.Client
	switch {
	case srcContainer != "" && dstContainer != "":
		return errors.New("copying between containers is not supported")
	case srcContainer != "":
		return copyFromContainer(ctx, deps, api, srcContainer, srcPath, dstPath, opts)
	case dstContainer != "":
		return copyToContainer(ctx, deps, api, dstContainer, srcPath, dstPath, opts)
	}
	return errors.New("must specify at least one container source")
}

// splitCpArg splits CONTAINER:PATH. A local path with a colon is made
// explicit with a relative or absolute path (./file:name, /tmp/a:b).
func splitCpArg(arg string) (container, path string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}

func resolveLocalPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return preserveTrailingDotOrSeparator(abs, p), nil
}

func copyFromContainer(ctx context.Context, deps *Deps, api APIClient, ctr, srcPath, dstPath string, opts cpOptions) error {
	if dstPath != "-" {
		var err error
		if dstPath, err = resolveLocalPath(dstPath); err != nil {
			return err
		}
	}
	if err := validateOutputPath(dstPath); err != nil {
		return err
	}
	// With -L a symlink is replaced by what it points to, under the
	// link's name.
	var rebaseName string
	if opts.followLink {
		res, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: srcPath})
		if err == nil && res.Stat.Mode&os.ModeSymlink != 0 {
			target := res.Stat.LinkTarget
			if !filepath.IsAbs(target) {
				parent, _ := splitPathDirEntry(srcPath)
				target = filepath.Join(parent, target)
			}
			target, rebaseName = getRebaseName(srcPath, target)
			srcPath = target
		}
	}
	res, err := api.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: srcPath})
	if err != nil {
		return err
	}
	content := res.Content
	defer content.Close()
	if dstPath == "-" {
		_, err := io.Copy(deps.Out, content)
		return err
	}
	src := copyInfo{Path: srcPath, Exists: true, IsDir: res.Stat.Mode.IsDir(), RebaseName: rebaseName}
	counted := &countingReader{r: content}
	var archive io.Reader = counted
	if rebaseName != "" {
		_, srcBase := splitPathDirEntry(src.Path)
		rebased := rebaseArchiveEntries(counted, srcBase, rebaseName)
		defer rebased.Close()
		archive = rebased
	}
	if err := copyTo(archive, src, dstPath); err != nil {
		return err
	}
	if !opts.quiet {
		size := counted.n
		if !res.Stat.Mode.IsDir() {
			size = res.Stat.Size
		}
		fmt.Fprintf(deps.Err, "Successfully copied %s to %s\n", units.HumanSizeWithPrecision(float64(size), 3), dstPath)
	}
	return nil
}

// copyToContainer works out from the stat of the destination whether the
// archive must be renamed (copying onto a new name, or a file onto a
// file) and into which directory it is extracted.
func copyToContainer(ctx context.Context, deps *Deps, api APIClient, ctr, srcPath, dstPath string, opts cpOptions) error {
	if srcPath != "-" {
		var err error
		if srcPath, err = resolveLocalPath(srcPath); err != nil {
			return err
		}
	}
	dst := copyInfo{Path: dstPath}
	if res, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dstPath}); err == nil {
		if res.Stat.Mode&os.ModeSymlink != 0 {
			target := res.Stat.LinkTarget
			if !filepath.IsAbs(target) {
				parent, _ := splitPathDirEntry(dstPath)
				target = filepath.Join(parent, target)
			}
			dst.Path = target
			res, err = api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: target})
		}
		if err == nil {
			if err := validateOutputPathFileMode(res.Stat.Mode); err != nil {
				return fmt.Errorf(`destination "%s:%s" must be a directory or a regular file: %w`, ctr, dstPath, err)
			}
			dst.Exists, dst.IsDir = true, res.Stat.Mode.IsDir()
		}
	}
	// A destination that could not be stat-ed may still have its parent:
	// the extraction says.
	var (
		content   io.Reader
		extractTo string
		counted   *countingReader
	)
	if srcPath == "-" {
		if !dst.IsDir {
			return fmt.Errorf(`destination "%s:%s" must be a directory`, ctr, dstPath)
		}
		content, extractTo = deps.In, dst.Path
	} else {
		src, err := copyInfoSourcePath(srcPath, opts.followLink)
		if err != nil {
			return err
		}
		archive, err := tarResource(src)
		if err != nil {
			return err
		}
		defer archive.Close()
		dir, prepared, err := prepareArchiveCopy(archive, src, dst)
		if err != nil {
			return err
		}
		defer prepared.Close()
		counted = &countingReader{r: prepared}
		content, extractTo = counted, dir
	}
	_, err := api.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{
		DestinationPath: extractTo,
		Content:         content,
		CopyUIDGID:      opts.copyUIDGID,
	})
	if err == nil && !opts.quiet && counted != nil {
		fmt.Fprintf(deps.Err, "Successfully copied %s to %s:%s\n", units.HumanSizeWithPrecision(float64(counted.n), 3), ctr, dst.Path)
	}
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// validateOutputPath checks that a local destination can be written: its
// directory exists, and it is a directory or a regular file if it exists.
func validateOutputPath(p string) error {
	if p == "-" {
		return nil
	}
	dir := filepath.Dir(filepath.Clean(p))
	if dir != "" && dir != "." {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			return fmt.Errorf("invalid output path: directory %q does not exist", dir)
		}
	}
	if fi, err := os.Stat(p); !os.IsNotExist(err) {
		if err != nil {
			return err
		}
		if fi.Mode().IsDir() || fi.Mode().IsRegular() {
			return nil
		}
		if err := validateOutputPathFileMode(fi.Mode()); err != nil {
			return fmt.Errorf("invalid output path: %q must be a directory or a regular file: %w", p, err)
		}
	}
	return nil
}

func validateOutputPathFileMode(mode os.FileMode) error {
	switch {
	case mode&os.ModeDevice != 0:
		return errors.New("got a device")
	case mode&os.ModeIrregular != 0:
		return errors.New("got an irregular file")
	}
	return nil
}

// copyInfo describes the source or destination of a copy.
type copyInfo struct {
	Path       string
	Exists     bool
	IsDir      bool
	RebaseName string
}

var (
	errNotDirectory  = errors.New("not a directory")
	errDirNotExists  = errors.New("no such directory")
	errCannotCopyDir = errors.New("cannot copy directory")
)

// preserveTrailingDotOrSeparator keeps the "/" or "/." the original path
// ended in: they say "the directory itself", and cleaning drops them.
func preserveTrailingDotOrSeparator(cleaned, original string) string {
	if !specifiesCurrentDir(cleaned) && specifiesCurrentDir(original) {
		if !hasTrailingPathSeparator(cleaned) {
			cleaned += string(filepath.Separator)
		}
		cleaned += "."
	}
	if !hasTrailingPathSeparator(cleaned) && hasTrailingPathSeparator(original) {
		cleaned += string(filepath.Separator)
	}
	return cleaned
}

func assertsDirectory(p string) bool {
	return hasTrailingPathSeparator(p) || specifiesCurrentDir(p)
}

func hasTrailingPathSeparator(p string) bool {
	return len(p) > 0 && p[len(p)-1] == filepath.Separator
}

func specifiesCurrentDir(p string) bool { return filepath.Base(p) == "." }

// splitPathDirEntry splits a path into its directory and base name,
// keeping a trailing "." of the original.
func splitPathDirEntry(p string) (dir, base string) {
	cleaned := filepath.Clean(p)
	if specifiesCurrentDir(p) {
		cleaned += string(filepath.Separator) + "."
	}
	return filepath.Dir(cleaned), filepath.Base(cleaned)
}

// getRebaseName completes a resolved symlink target with the trailing
// "/" or "/." of the path, and returns the name entries must take when
// the target's base name differs from the path's.
func getRebaseName(p, resolved string) (string, string) {
	if specifiesCurrentDir(p) && !specifiesCurrentDir(resolved) {
		resolved += string(filepath.Separator) + "."
	}
	if hasTrailingPathSeparator(p) && !hasTrailingPathSeparator(resolved) {
		resolved += string(filepath.Separator)
	}
	rebase := ""
	if filepath.Base(p) != filepath.Base(resolved) {
		rebase = filepath.Base(p)
	}
	return resolved, rebase
}

// resolveHostSourcePath resolves a local source: with followLink every
// symlink, else only those of its directory.
func resolveHostSourcePath(p string, followLink bool) (resolved, rebase string, err error) {
	if followLink {
		if resolved, err = filepath.EvalSymlinks(p); err != nil {
			return "", "", err
		}
		resolved, rebase = getRebaseName(p, resolved)
		return resolved, rebase, nil
	}
	dir, base := filepath.Split(p)
	resolvedDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", "", err
	}
	resolved = resolvedDir + string(filepath.Separator) + base
	if hasTrailingPathSeparator(p) && filepath.Base(p) != filepath.Base(resolved) {
		rebase = filepath.Base(p)
	}
	return resolved, rebase, nil
}

func copyInfoSourcePath(p string, followLink bool) (copyInfo, error) {
	resolved, rebase, err := resolveHostSourcePath(p, followLink)
	if err != nil {
		return copyInfo{}, err
	}
	st, err := os.Lstat(resolved)
	if err != nil {
		return copyInfo{}, err
	}
	return copyInfo{Path: resolved, Exists: true, IsDir: st.IsDir(), RebaseName: rebase}, nil
}

// copyInfoDestinationPath stats a local destination, following symlinks
// (a dangling one is where the copy goes); it need not exist, its parent
// must.
func copyInfoDestinationPath(p string) (copyInfo, error) {
	original := p
	st, err := os.Lstat(p)
	if err == nil && st.Mode()&os.ModeSymlink == 0 {
		return copyInfo{Path: p, Exists: true, IsDir: st.IsDir()}, nil
	}
	for n := 0; err == nil && st.Mode()&os.ModeSymlink != 0; n++ {
		if n > 10 {
			return copyInfo{}, errors.New("too many symlinks in " + original)
		}
		target, rerr := os.Readlink(p)
		if rerr != nil {
			return copyInfo{}, rerr
		}
		if !filepath.IsAbs(target) {
			parent, _ := splitPathDirEntry(p)
			target = filepath.Join(parent, target)
		}
		p = target
		st, err = os.Lstat(p)
	}
	if err != nil {
		if !os.IsNotExist(err) {
			return copyInfo{}, err
		}
		parent, _ := splitPathDirEntry(p)
		pst, err := os.Stat(parent)
		if err != nil {
			return copyInfo{}, err
		}
		if !pst.IsDir() {
			return copyInfo{}, errNotDirectory
		}
		return copyInfo{Path: p}, nil
	}
	return copyInfo{Path: p, Exists: true, IsDir: st.IsDir()}, nil
}

// prepareArchiveCopy works out where an archive of src is extracted to
// give dst, and renames its entries when the copy takes another name.
func prepareArchiveCopy(content io.Reader, src, dst copyInfo) (string, io.ReadCloser, error) {
	dstDir, dstBase := splitPathDirEntry(dst.Path)
	_, srcBase := splitPathDirEntry(src.Path)
	if src.RebaseName != "" {
		srcBase = src.RebaseName
	}
	switch {
	case dst.Exists && dst.IsDir:
		// Into an existing directory, under the source's own name.
		return dst.Path, io.NopCloser(content), nil
	case dst.Exists && src.IsDir:
		return "", nil, errCannotCopyDir
	case dst.Exists:
		// A file onto a file: the destination's name.
		return dstDir, rebaseArchiveEntries(content, srcBase, dstBase), nil
	case src.IsDir:
		// A directory to a new name.
		return dstDir, rebaseArchiveEntries(content, srcBase, dstBase), nil
	case assertsDirectory(dst.Path):
		// A file to a directory that does not exist.
		return "", nil, errDirNotExists
	}
	return dstDir, rebaseArchiveEntries(content, srcBase, dstBase), nil
}

// rebaseArchiveEntries renames the first oldBase of every entry name (and
// hard link target) to newBase.
func rebaseArchiveEntries(content io.Reader, oldBase, newBase string) io.ReadCloser {
	if oldBase == string(filepath.Separator) {
		oldBase = ""
	}
	pr, pw := io.Pipe()
	go func() {
		src := tar.NewReader(content)
		dst := tar.NewWriter(pw)
		for {
			hdr, err := src.Next()
			if errors.Is(err, io.EOF) {
				pw.CloseWithError(dst.Close())
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			hdr.Format = tar.FormatPAX
			hdr.Name = strings.Replace(hdr.Name, oldBase, newBase, 1)
			if hdr.Typeflag == tar.TypeLink {
				hdr.Linkname = strings.Replace(hdr.Linkname, oldBase, newBase, 1)
			}
			if err := dst.WriteHeader(hdr); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(dst, src); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// tarResource archives a local file or directory: entries are named from
// its base name (or RebaseName), a directory with everything below it.
func tarResource(src copyInfo) (io.ReadCloser, error) {
	if _, err := os.Lstat(src.Path); err != nil {
		return nil, err
	}
	dir, base := splitPathDirEntry(src.Path)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeLocalTar(pw, dir, base, src.RebaseName)) }()
	return pr, nil
}

func writeLocalTar(w io.Writer, srcDir, include, rebase string) error {
	tw := tar.NewWriter(w)
	seen := map[[2]uint64]string{}
	root := strings.TrimSuffix(srcDir, string(filepath.Separator)) + string(filepath.Separator) + include
	err := filepath.Walk(root, func(file string, fi os.FileInfo, err error) error {
		if err != nil {
			if file == root {
				return err
			}
			return nil // gone or unreadable: left out, as docker does
		}
		rel, err := filepath.Rel(srcDir, file)
		if err != nil {
			return err
		}
		if include == "." && rel != "." {
			rel = "./" + rel
		}
		if rebase != "" {
			replacement := rebase
			if rebase == string(filepath.Separator) {
				replacement = ""
			}
			rel = strings.Replace(rel, include, replacement, 1)
		}
		return addLocalFile(tw, file, rel, fi, seen)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func addLocalFile(tw *tar.Writer, file, name string, fi os.FileInfo, seen map[[2]uint64]string) error {
	if fi.Mode()&os.ModeSocket != 0 {
		return nil
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(file); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Format = tar.FormatPAX
	hdr.Name = filepath.ToSlash(name)
	if fi.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Uname, hdr.Gname = "", ""
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := seen[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				seen[key] = hdr.Name
			}
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, io.LimitReader(f, hdr.Size))
	return err
}

// copyTo extracts an archive of src to the local dstPath.
func copyTo(content io.Reader, src copyInfo, dstPath string) error {
	dst, err := copyInfoDestinationPath(dstPath)
	if err != nil {
		return err
	}
	dir, prepared, err := prepareArchiveCopy(content, src, dst)
	if err != nil {
		return err
	}
	defer prepared.Close()
	return untarLocal(prepared, dir)
}

// untarLocal extracts an archive into the local directory dest. Nothing
// lands outside it: entries go through an os.Root, which refuses paths
// (and symlinks of the archive) leading out. Owners are not restored
// (the files belong to the user copying), nor are device nodes created.
func untarLocal(r io.Reader, dest string) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	type dirTime struct {
		name         string
		atime, mtime time.Time
	}
	var dirs []dirTime
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		clean := filepath.Clean(hdr.Name)
		if clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("%q is outside of %q", hdr.Name, dest)
		}
		rel := strings.TrimLeft(filepath.Clean("/"+clean), "/")
		if rel == "" {
			rel = "."
		}
		full := filepath.Join(dest, rel)
		isDir := hdr.Typeflag == tar.TypeDir
		if parent := filepath.Dir(rel); parent != "." {
			if _, err := root.Lstat(parent); errors.Is(err, fs.ErrNotExist) {
				if err := root.MkdirAll(parent, 0o755); err != nil {
					return err
				}
			}
		}
		if fi, err := root.Lstat(rel); err == nil {
			switch {
			case fi.IsDir() && !isDir:
				return fmt.Errorf("cannot overwrite directory %q with non-directory %q", full, dest)
			case !fi.IsDir() && isDir:
				return fmt.Errorf("cannot overwrite non-directory %q with directory %q", full, dest)
			case fi.IsDir() && rel == ".":
				continue
			case !fi.IsDir():
				if err := root.RemoveAll(rel); err != nil {
					return err
				}
			}
		}
		mode := hdr.FileInfo().Mode()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if fi, err := root.Lstat(rel); err != nil || !fi.IsDir() {
				if err := root.Mkdir(rel, mode.Perm()); err != nil {
					return err
				}
			}
		case tar.TypeReg:
			f, err := root.OpenFile(rel, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if !filepath.IsAbs(hdr.Linkname) {
				target := filepath.Join(filepath.Dir(full), hdr.Linkname)
				if target != dest && !strings.HasPrefix(target, strings.TrimSuffix(dest, "/")+"/") {
					return fmt.Errorf("invalid symlink %q -> %q", full, hdr.Linkname)
				}
			}
			if err := root.Symlink(hdr.Linkname, rel); err != nil {
				return err
			}
			continue
		case tar.TypeLink:
			target := filepath.Clean(hdr.Linkname)
			if target == ".." || strings.HasPrefix(target, "../") {
				return fmt.Errorf("invalid hardlink %q -> %q", full, hdr.Linkname)
			}
			if err := root.Link(strings.TrimLeft(filepath.Clean("/"+target), "/"), rel); err != nil {
				return err
			}
		case tar.TypeFifo:
			// os.Root cannot make one: create it by its resolved path.
			if err := mkfifoIn(root, rel, uint32(mode.Perm())); err != nil {
				return err
			}
		case tar.TypeChar, tar.TypeBlock:
			continue
		default:
			return fmt.Errorf("unhandled tar header type %d", hdr.Typeflag)
		}
		if err := root.Chmod(rel, mode); err != nil {
			return err
		}
		if isDir {
			dirs = append(dirs, dirTime{rel, hdr.AccessTime, hdr.ModTime})
			continue
		}
		if err := root.Chtimes(rel, latestTime(hdr.AccessTime, hdr.ModTime), hdr.ModTime); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		_ = root.Chtimes(d.name, latestTime(d.atime, d.mtime), d.mtime)
	}
	return nil
}

func latestTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// mkfifoIn makes a FIFO in its parent directory opened through the root.
func mkfifoIn(root *os.Root, rel string, perm uint32) error {
	parent, err := root.Open(filepath.Dir(rel))
	if err != nil {
		return err
	}
	defer parent.Close()
	return unix.Mkfifoat(int(parent.Fd()), filepath.Base(rel), perm)
}
