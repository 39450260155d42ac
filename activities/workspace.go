package activities

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	// usage keeps each workspace's file count and size, so a write checks
	// the quota without walking the workspace. Nil (a Workspaces not made by
	// NewWorkspaces): every check walks, as correct but quadratic in the
	// number of files a task writes.
	usage *usageTable
}

// NewWorkspaces returns Workspaces under dir that keep per-workspace quota
// counters in memory: a workspace is walked once, the first time this
// process writes to it, and its counters are then updated on every write,
// delete and rename, so writing N files costs O(N). Copies share the
// counters.
func NewWorkspaces(dir string, maxBytes int64, maxFiles int) Workspaces {
	return Workspaces{Dir: dir, MaxBytes: maxBytes, MaxFiles: maxFiles, usage: &usageTable{m: map[string]*wsUsage{}}}
}

// Default workspace quota.
const (
	DefaultWorkspaceBytes = 512 << 20
	DefaultWorkspaceFiles = 20000
)

// wsUsage is what one workspace holds: regular files and their bytes.
type wsUsage struct {
	bytes int64
	files int
}

// usageTable holds the counters of the workspaces this process has used.
type usageTable struct {
	mu sync.Mutex
	m  map[string]*wsUsage
}

// fileWrite is a file about to be written: its cleaned path in the
// workspace and its new size.
type fileWrite struct {
	path string
	size int64
}

// walkUsage counts the regular files and bytes below p inside root.
func walkUsage(root *os.Root, p string) (wsUsage, error) {
	var u wsUsage
	err := fs.WalkDir(root.FS(), filepath.ToSlash(p), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		u.files++
		if info, err := d.Info(); err == nil {
			u.bytes += info.Size()
		}
		return nil
	})
	return u, err
}

// current returns the workspace's counters, walking it on first use; the
// caller holds w.usage.mu.
func (w Workspaces) current(taskID string, root *os.Root) (*wsUsage, error) {
	if u, ok := w.usage.m[taskID]; ok {
		return u, nil
	}
	u, err := walkUsage(root, ".")
	if err != nil {
		return nil, err
	}
	w.usage.m[taskID] = &u
	return &u, nil
}

// reserve checks that writing files (replacing those already there) keeps
// the workspace within its quota and counts them. A write that then fails
// must call forget, so the next use counts again from the disk.
func (w Workspaces) reserve(taskID string, root *os.Root, files []fileWrite) error {
	maxBytes, maxFiles := w.MaxBytes, w.MaxFiles
	if maxBytes <= 0 {
		maxBytes = DefaultWorkspaceBytes
	}
	if maxFiles <= 0 {
		maxFiles = DefaultWorkspaceFiles
	}
	var delta wsUsage
	for _, f := range files {
		delta.bytes += f.size
		if info, err := root.Lstat(f.path); err == nil && info.Mode().IsRegular() {
			delta.bytes -= info.Size()
		} else {
			delta.files++
		}
	}
	if w.usage == nil {
		now, err := walkUsage(root, ".")
		if err != nil {
			return err
		}
		return quotaErr(now, delta, maxBytes, maxFiles)
	}
	w.usage.mu.Lock()
	defer w.usage.mu.Unlock()
	u, err := w.current(taskID, root)
	if err != nil {
		return err
	}
	if err := quotaErr(*u, delta, maxBytes, maxFiles); err != nil {
		return err
	}
	u.bytes += delta.bytes
	u.files += delta.files
	return nil
}

// quotaErr says why now plus delta is over the quota, or returns nil.
func quotaErr(now, delta wsUsage, maxBytes int64, maxFiles int) error {
	total, count := now.bytes+delta.bytes, now.files+delta.files
	if total > maxBytes || count > maxFiles {
		return fmt.Errorf("the task workspace would hold %d files and %d bytes; its quota is %d files and %d bytes", count, total, maxFiles, maxBytes)
	}
	return nil
}

// removed subtracts what a delete or an overwriting rename took away.
func (w Workspaces) removed(taskID string, gone wsUsage) {
	if w.usage == nil {
		return
	}
	w.usage.mu.Lock()
	defer w.usage.mu.Unlock()
	if u, ok := w.usage.m[taskID]; ok {
		u.bytes -= gone.bytes
		u.files -= gone.files
	}
}

// forget drops a workspace's counters after an operation whose effect is
// unknown (it failed half-way); the next use walks the workspace again.
func (w Workspaces) forget(taskID string) {
	if w.usage == nil {
		return
	}
	w.usage.mu.Lock()
	defer w.usage.mu.Unlock()
	delete(w.usage.m, taskID)
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
		// A new (or swept) workspace holds nothing.
		w.forget(taskID)
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
		w.forget(e.Name())
		removed++
	}
	return removed, nil
}
