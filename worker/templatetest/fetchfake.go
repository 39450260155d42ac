package templatetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// fetchFaker answers a case's remote skeleton fetches from its fetch
// fakes (activities.Scaffold.SkeletonFake): the local folder a url maps
// to, or an empty one for FetchRecord. It remembers every url asked for.
type fetchFaker struct {
	base  string // the test file's folder: fake paths are relative to it
	home  string // the folder fakes must stay in ("" when anywhere)
	fakes map[string]string
	// recordAll answers every url as FetchRecord (--init's first run).
	recordAll bool

	mu    sync.Mutex
	empty string // the empty folder of FetchRecord, made on first use
	asked []string
}

func (f *fetchFaker) answer(url string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.asked, url) {
		f.asked = append(f.asked, url)
	}
	dir, ok := f.fakes[url]
	if !ok && !f.recordAll {
		return "", false, fmt.Errorf("url %q is remote or outside the template's folder, which a template test never reads: give the case a fetch fake (fetch: {%q: a local folder beside the test, or %s})", url, url, FetchRecord)
	}
	if !ok || dir == FetchRecord {
		if f.empty == "" {
			d, err := os.MkdirTemp("", "rigger-template-test-fetch-")
			if err != nil {
				return "", false, err
			}
			f.empty = d
		}
		return f.empty, true, nil
	}
	p := filepath.Join(f.base, filepath.FromSlash(dir))
	if f.home != "" {
		if rel, err := filepath.Rel(f.home, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", false, fmt.Errorf("url %q: its fake %s leaves the test file's folder: a fetch fake may only read beside the test", url, dir)
		} else if err := insideHome(f.home, rel); err != nil {
			return "", false, fmt.Errorf("url %q: its fake %s: %w", url, dir, err)
		}
	}
	return p, true, nil
}

// insideHome checks that rel (relative to home) names a fake that stays
// in home when the file system resolves it: each symlink on its way is
// followed only within home (through an os.Root), and the fake itself
// may not be a symlink. The textual check alone would let a committed
// fakes/skel -> /home/runner read outside the test's folder.
func insideHome(home, rel string) error {
	root, err := os.OpenRoot(home)
	if err != nil {
		return err
	}
	defer root.Close()
	info, err := root.Lstat(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("it leaves the test file's folder through a symlink (%v): a fetch fake may only read beside the test", err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("it is a symlink: a fetch fake must be a real folder (or file) beside the test")
	}
	return nil
}

// notes says which urls were faked and how, for the report.
func (f *fetchFaker) notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, u := range f.asked {
		switch dir, ok := f.fakes[u]; {
		case !ok && !f.recordAll:
		case !ok || dir == FetchRecord:
			out = append(out, "fetch faked (recorded, empty skeleton): "+u)
		default:
			out = append(out, "fetch faked: "+u+" read from "+dir)
		}
	}
	return out
}

func (f *fetchFaker) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.empty != "" {
		_ = os.RemoveAll(f.empty)
	}
}
