package activities

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Workspaces hands out one directory per task, opened as an os.Root: every
// file operation of that task goes through it, so `..`, absolute paths and
// symlinks that lead outside are refused by the kernel-backed resolver, not
// by string checks alone.
type Workspaces struct {
	Dir string
	// MaxBytes and MaxFiles bound one task's workspace (0: the defaults);
	// every write checks them first.
	MaxBytes int64
	MaxFiles int
}

// Default workspace quota.
const (
	DefaultWorkspaceBytes = 512 << 20
	DefaultWorkspaceFiles = 20000
)

// checkQuota refuses a write of addBytes in addFiles new files that would
// take the workspace past its quota.
func (w Workspaces) checkQuota(root *os.Root, addBytes int64, addFiles int) error {
	maxBytes, maxFiles := w.MaxBytes, w.MaxFiles
	if maxBytes <= 0 {
		maxBytes = DefaultWorkspaceBytes
	}
	if maxFiles <= 0 {
		maxFiles = DefaultWorkspaceFiles
	}
	total, files := addBytes, addFiles
	err := fs.WalkDir(root.FS(), ".", func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if total > maxBytes || files > maxFiles {
		return fmt.Errorf("the task workspace would hold %d files and %d bytes; its quota is %d files and %d bytes", files, total, maxFiles, maxBytes)
	}
	return nil
}

var taskIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Open returns the task's workspace root, creating it.
func (w Workspaces) Open(taskID string) (*os.Root, error) {
	if !taskIDRe.MatchString(taskID) {
		return nil, fmt.Errorf("invalid task id %q", taskID)
	}
	dir := filepath.Join(w.Dir, taskID)
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create workspace: %w", err)
		}
		root, err = os.OpenRoot(dir)
	}
	if err != nil {
		return nil, err
	}
	// Every use marks it live for Sweep.
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
	return root, nil
}

// errPath is a path a template asked for that cannot be used.
type errPath struct {
	field, path, why string
}

func (e *errPath) Error() string {
	return fmt.Sprintf("%s %q: %s", e.field, e.path, e.why)
}

// workspacePath checks a template-supplied path before it reaches the root:
// it must be relative and stay inside the workspace. os.Root enforces the
// same again (including through symlinks); this gives the clear message.
func workspacePath(field, p string) (string, error) {
	if p == "" {
		return "", &errPath{field, p, "is empty"}
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) {
		return "", &errPath{field, p, "absolute paths are not allowed; paths are relative to the task workspace"}
	}
	clean := filepath.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", &errPath{field, p, "leaves the task workspace"}
	}
	if strings.ContainsRune(p, 0) {
		return "", &errPath{field, p, "contains a NUL byte"}
	}
	return clean, nil
}

// rootErr makes an os.Root error readable: escapes say so.
func rootErr(field, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return &errPath{field, p, "leads outside the task workspace (through a symlink or ..)"}
	}
	return fmt.Errorf("%s %q: %w", field, p, err)
}

// Sweep deletes task workspaces not modified for longer than ttl (their
// files may hold what a run derived from its secrets) and returns how many
// it removed.
func (w Workspaces) Sweep(ttl time.Duration, now time.Time) (int, error) {
	entries, err := os.ReadDir(w.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !taskIDRe.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < ttl {
			continue
		}
		if err := os.RemoveAll(filepath.Join(w.Dir, e.Name())); err != nil {
			return removed, err
		}
		if err := w.removeDerived(e.Name()); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}
