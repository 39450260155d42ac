package api

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gin-gonic/gin"
)

// taskWorkspace serves GET /v2/tasks/:id/workspace: the files a finished
// task left in its workspace, as a .tar.gz, to those who may read the task
// (internal/tasks decides, and finds the workspace).
func (s *Server) taskWorkspace(c *gin.Context) {
	t, r, err := s.tasks.Workspace(c.Request.Context(), identity(c), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	defer r.Close()
	c.Header("Content-Type", "application/gzip")
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=%q", t.ID+".tar.gz"))
	c.Status(http.StatusOK)
	if err := writeTarGz(c.Writer, r); err != nil {
		// Headers are gone: the truncated archive fails to unpack.
		s.deps.Logger.Warn("task workspace download", "task", t.ID, "error", err)
	}
}

// writeTarGz writes the regular files and directories under r (symbolic
// links and other special files are left out) as a gzip-compressed tar.
func writeTarGz(w io.Writer, r *os.Root) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(p)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := r.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, info.Size())
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
