package github

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/riggerdev/rigger/internal/errs"
)

// localPath checks that p (an input path) names something inside a
// directory: relative, no "..", not absolute. "" and "." are the
// directory itself.
func localPath(field, p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	clean := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(p, "./")))
	if filepath.IsAbs(p) || !filepath.IsLocal(clean) && clean != "." {
		return "", fmt.Errorf("%w: %s %q must be a relative path inside the workspace (no absolute path, no ..)", errs.ErrInvalid, field, p)
	}
	for _, part := range strings.Split(filepath.ToSlash(clean), "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %s %q must not contain a .. element", errs.ErrInvalid, field, p)
		}
	}
	return clean, nil
}

// sourceDir resolves sourcePath inside the workspace to a directory
// path, refusing anything that leaves it: an absolute path, "..", or a
// symbolic link (anywhere on the way) that points outside.
func sourceDir(workspace, sourcePath string) (string, error) {
	rel, err := localPath("sourcePath", sourcePath)
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return "", fmt.Errorf("open the workspace: %w", err)
	}
	defer root.Close()
	fi, err := root.Stat(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: sourcePath %q does not exist in the workspace", errs.ErrInvalid, sourcePath)
		}
		return "", fmt.Errorf("%w: sourcePath %q: %v", errs.ErrInvalid, sourcePath, pathError(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%w: sourcePath %q is not a directory", errs.ErrInvalid, sourcePath)
	}
	wsReal, err := filepath.EvalSymlinks(workspace)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(workspace, rel))
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(wsReal, real); err != nil || (r != "." && !filepath.IsLocal(r)) {
		return "", fmt.Errorf("%w: sourcePath %q leaves the workspace", errs.ErrInvalid, sourcePath)
	}
	return real, nil
}

// pathError drops the absolute path an *fs.PathError carries (the
// workspace's location is the worker's business).
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// copyTree copies the directory src into dst/under (dst's own files
// stay). Reads and writes go through os.Root, so neither side's symbolic
// links can lead outside; symbolic links are copied as links. .git
// directories are skipped.
func copyTree(src, dst, under string) error {
	from, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer to.Close()
	if under != "." {
		if err := to.MkdirAll(under, 0o755); err != nil {
			return fmt.Errorf("targetPath: %w", pathError(err))
		}
	}
	return fs.WalkDir(from.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		out := filepath.Join(under, filepath.FromSlash(p))
		switch {
		case d.IsDir():
			if p == "." {
				return nil
			}
			return to.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := from.Readlink(p)
			if err != nil {
				return err
			}
			_ = to.Remove(out)
			return to.Symlink(link, out)
		case d.Type().IsRegular():
			return copyFile(from, to, p, out)
		default:
			return nil // sockets, devices: not content
		}
	})
}

func copyFile(from, to *os.Root, src, dst string) error {
	in, err := from.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	_ = to.Remove(dst) // a link in the clone is replaced, never followed
	out, err := to.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, pathError(err))
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
