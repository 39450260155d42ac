package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxDownloadBytes bounds what --download unpacks (a workspace holds at
// most 512 MiB).
const maxDownloadBytes = 600 << 20

// downloadWorkspace fetches a finished task's workspace
// (GET /v2/tasks/:id/workspace) and unpacks it into dir, a new directory.
func (c *cli) downloadWorkspace(ctx context.Context, api *apiClient, id, dir string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", api.base+"/api/scaffolder/v2/tasks/"+id+"/workspace", nil)
	if err != nil {
		return err
	}
	if api.token != "" {
		req.Header.Set("Authorization", "Bearer "+api.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("download the workspace of task %s: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var buf strings.Builder
		_, _ = io.Copy(&buf, io.LimitReader(resp.Body, 4096))
		return exitError{code: 1, msg: fmt.Sprintf("download the workspace of task %s: HTTP %d %s", id, resp.StatusCode, strings.TrimSpace(buf.String()))}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return exitError{code: 1, msg: fmt.Sprintf("--download %s already exists; choose a new directory", dir)}
		}
		return err
	}
	n, err := untarGz(io.LimitReader(resp.Body, maxDownloadBytes), dir)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("unpack the workspace of task %s into %s: %v", id, dir, err)}
	}
	fmt.Fprintf(c.stdout, "downloaded %d files of task %s's workspace to %s\n", n, id, dir)
	return nil
}

// untarGz unpacks regular files and directories into dir through an
// os.Root (no name can leave it); anything else is refused.
func untarGz(r io.Reader, dir string) (int, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(gz)
	files := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, err
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return files, fmt.Errorf("archive entry %q leaves the directory", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(filepath.FromSlash(name), 0o755); err != nil {
				return files, err
			}
		case tar.TypeReg:
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
					return files, err
				}
			}
			mode := os.FileMode(0o644)
			if hdr.FileInfo().Mode()&0o111 != 0 {
				mode = 0o755
			}
			f, err := root.OpenFile(filepath.FromSlash(name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
			if err != nil {
				return files, err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return files, err
			}
			files++
		default:
			return files, fmt.Errorf("archive entry %q is not a file or directory", hdr.Name)
		}
	}
}
