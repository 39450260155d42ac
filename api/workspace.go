package api

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/errs"
)

// workspaceIDRe is the form of a task id that names a workspace folder.
var workspaceIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// taskWorkspace serves GET /v2/tasks/:id/workspace: the files a finished
// task left in its workspace, as a .tar.gz, to the task's creator and to
// tokens with scaffolder.admin (anyone else is told the task does not
// exist). Workspaces live where the steps ran: this server serves them only
// when it sees the workers' scaffolder.workspaceRoot (rigger dev, or a
// server sharing it), and only until scaffolder.workspaceTTL has passed
// since a step last used them.
func (s *Server) taskWorkspace(c *gin.Context) {
	t, err := s.loadTask(c, c.Param("id"))
	if err == nil && mayChange(c, t) != nil {
		err = errs.NotFound("no task with id %q", c.Param("id"))
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if t.Status != "completed" && t.Status != "failed" && t.Status != "cancelled" {
		writeError(c, fmt.Errorf("%w: task %s is %s; its workspace can be downloaded once it has finished", errs.ErrConflict, t.ID, t.Status))
		return
	}
	root := s.deps.Scaffolder.WorkspaceDir
	dir := filepath.Join(root, t.ID)
	info, statErr := os.Stat(dir)
	switch {
	case root == "" || !workspaceIDRe.MatchString(t.ID):
		err = errs.NotFound("this server keeps no task workspaces")
	case errors.Is(statErr, fs.ErrNotExist):
		err = errs.NotFound("task %s has no workspace here: it was deleted after scaffolder.workspaceTTL, the task wrote no file, "+
			"or its steps ran on a worker whose scaffolder.workspaceRoot this server does not share", t.ID)
	case statErr != nil:
		err = statErr
	case s.deps.Scaffolder.WorkspaceTTL > 0 && time.Since(info.ModTime()) > s.deps.Scaffolder.WorkspaceTTL:
		err = errs.NotFound("the workspace of task %s has expired (scaffolder.workspaceTTL %s)", t.ID, s.deps.Scaffolder.WorkspaceTTL)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	r, err := os.OpenRoot(dir)
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
