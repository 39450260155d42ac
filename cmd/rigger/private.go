package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// privateFiles makes everything a server process creates from now on private
// to its user, whatever umask it was started with: the data dir holds the
// catalog and Temporal databases (task parameters, event history) and the
// key that seals task secrets. A umask of 077 covers the files libraries
// create themselves (SQLite's -wal and -shm, the embedded Temporal's files,
// workspaces, git clones). The umask is process-wide; only rigger dev,
// server and worker call this, so CLI commands that write files for the
// user keep the user's umask.
func privateFiles() {
	syscall.Umask(0o077)
}

// tightenDataDir fixes a data dir made by an older rigger or by hand: the
// directory becomes 0700 and every entry directly in it loses its group and
// other permissions (what is below is then unreachable for others anyway).
// A data dir that does not exist yet is left to whoever creates it.
func tightenDataDir(dir string) error {
	if dir == "" {
		return nil
	}
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make data dir %s private: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, e.Name()), perm&^0o077); err != nil {
				return fmt.Errorf("make %s private: %w", filepath.Join(dir, e.Name()), err)
			}
		}
	}
	return nil
}
