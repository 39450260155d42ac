package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Values a step derived from its task's secrets (a skeleton's file named
// after `secrets.token | lower`) are redacted by every later step of the
// task too (debug:log lists that file). They are kept next to the
// workspaces, one file per task, as private as the workspace whose files
// hold them, and deleted with it.

// derivedDir is the folder of the files; its name is no task id, so Sweep
// and Open never take it for a workspace.
const derivedDir = ".derived"

// maxDerivedFile bounds what one task's file may hold.
const maxDerivedFile = 4 << 20

func (w Workspaces) derivedPath(taskID string) (string, error) {
	if !taskIDRe.MatchString(taskID) {
		return "", fmt.Errorf("invalid task id %q", taskID)
	}
	return filepath.Join(w.Dir, derivedDir, taskID), nil
}

// loadDerived returns the values earlier steps of the task derived from
// its secrets.
func (w Workspaces) loadDerived(taskID string) ([]string, error) {
	p, err := w.derivedPath(taskID)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the values derived from the task's secrets: %w", err)
	}
	var vals []string
	if err := json.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("read the values derived from the task's secrets: %w", err)
	}
	return vals, nil
}

// addDerived adds vals to the task's derived values. Two attempts of a
// step may add at once (a quick step that ran out of time goes on for a
// moment while its activity retry runs): an exclusive lock on a file
// beside the record makes every addition a union.
func (w Workspaces) addDerived(taskID string, vals []string) error {
	if len(vals) == 0 {
		return nil
	}
	p, err := w.derivedPath(taskID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(p+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close() // and unlocks
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock the values derived from the task's secrets: %w", err)
	}
	old, err := w.loadDerived(taskID)
	if err != nil {
		return err
	}
	all := slices.Compact(slices.Sorted(slices.Values(append(old, vals...))))
	data, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if len(data) > maxDerivedFile {
		return fmt.Errorf("the task derived more than %d bytes of values from its secrets", maxDerivedFile)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// removeDerived deletes the task's derived values.
func (w Workspaces) removeDerived(taskID string) error {
	p, err := w.derivedPath(taskID)
	if err != nil {
		return err
	}
	for _, f := range []string{p, p + ".lock"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
