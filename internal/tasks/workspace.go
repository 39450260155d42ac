package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
)

// workspaceIDRe is the form of a task id that names a workspace folder.
var workspaceIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Workspace opens the workspace a finished task left, for who: those who
// may read the task (anyone else is told it does not exist). Workspaces
// live where the steps ran: this server has them only when it sees the
// workers' scaffolder.workspaceRoot, and only until scaffolder.workspaceTTL
// has passed since a step last used them. The caller closes the root.
func (s *Service) Workspace(ctx context.Context, who auth.Identity, id string) (*Task, *os.Root, error) {
	t, err := s.Get(ctx, who, id)
	if err != nil {
		return nil, nil, err
	}
	if t.Status != StatusCompleted && t.Status != StatusFailed && t.Status != StatusCancelled {
		return nil, nil, fmt.Errorf("%w: task %s is %s; its workspace can be downloaded once it has finished", errs.ErrConflict, t.ID, t.Status)
	}
	root := s.d.WorkspaceDir
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
	case s.d.WorkspaceTTL > 0 && time.Since(info.ModTime()) > s.d.WorkspaceTTL:
		err = errs.NotFound("the workspace of task %s has expired (scaffolder.workspaceTTL %s)", t.ID, s.d.WorkspaceTTL)
	}
	if err != nil {
		return nil, nil, err
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return t, r, nil
}
