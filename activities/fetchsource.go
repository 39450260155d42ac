package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// A fetch action's url names one of:
//   - a path next to the template, read from the template's own folder (a
//     file location) or from its repository (a git location, or a template
//     registered by its GitHub-style URL), never leaving either;
//   - a GitHub-style tree or blob URL (https://host/owner/repo/tree/ref/dir,
//     GitLab's /-/tree/ too), cloned with real git;
//   - any other http(s) URL, downloaded through the guarded client (a
//     .tar.gz archive for a directory).
//
// Every remote host must be in scaffolder.allowedHosts.

// skeletonSource is what a fetch url resolved to: an opened directory tree
// and the path in it, or a remote URL to download.
type skeletonSource struct {
	root    *os.Root
	rel     string
	cleanup func()
	remote  *url.URL
}

func (src skeletonSource) close() {
	if src.cleanup != nil {
		src.cleanup()
	} else if src.root != nil {
		src.root.Close()
	}
}

// repoPath is a path inside a git repository at a branch ("" = default).
type repoPath struct {
	repo, branch, path string
	local              bool
}

// treeURL reads a GitHub-style browse URL: https://host/owner/repo/(tree|blob)/ref/path
// (GitLab: .../-/tree/...). A ref containing "/" cannot be told from the
// path and is not supported.
func treeURL(u *url.URL) (repoPath, bool) {
	if u.Scheme != "https" {
		return repoPath{}, false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) >= 4 && parts[2] == "-" {
		parts = append(parts[:2], parts[3:]...)
	}
	if len(parts) < 4 || (parts[2] != "tree" && parts[2] != "blob") || parts[0] == "" || parts[1] == "" || parts[3] == "" {
		return repoPath{}, false
	}
	repo := url.URL{Scheme: "https", Host: u.Host, Path: "/" + parts[0] + "/" + strings.TrimSuffix(parts[1], ".git") + ".git"}
	// path.Join cleans: "tree/main/../../x" would name "../x", which inRepo
	// and the clone's os.Root refuse.
	p := path.Join(parts[4:]...)
	if p == "" {
		p = "." // the repository's root
	}
	return repoPath{repo: repo.String(), branch: parts[3], path: p}, true
}

// gitBase reads the base of a template read from a git location:
// git:<repo>#<file>, where repo is an https URL or a local repository
// (file:// or a path). (Files of a clone at a named branch carry a browse
// URL instead; see fileRef.)
func gitBase(base string) (repoPath, bool) {
	rest, ok := strings.CutPrefix(base, "git:")
	if !ok {
		return repoPath{}, false
	}
	repo, file, _ := strings.Cut(rest, "#")
	if repo == "" || file == "" {
		return repoPath{}, false
	}
	local := strings.HasPrefix(repo, "/") || strings.HasPrefix(repo, "file://")
	return repoPath{repo: repo, path: file, local: local}, true
}

// inRepo resolves a relative reference against the folder of the file at
// base.path, refusing one that climbs out of the repository.
func inRepo(base repoPath, ref string) (repoPath, error) {
	p := path.Clean(path.Join(path.Dir(base.path), ref))
	if path.IsAbs(ref) || p == ".." || strings.HasPrefix(p, "../") {
		return repoPath{}, fmt.Errorf("url %q leaves the template's repository", ref)
	}
	base.path = p
	return base, nil
}

// skeletonRef is where a fetch url points, before anything is opened:
// exactly one of file (a file-location base), repo or remote is set.
type skeletonRef struct {
	file   string
	repo   *repoPath
	remote *url.URL
}

// resolveSkeleton resolves a fetch url against the template's base URL.
func resolveSkeleton(baseURL, ref string) (skeletonRef, error) {
	if ref == "" {
		return skeletonRef{}, fmt.Errorf("input url is required")
	}
	u, err := url.Parse(ref)
	if err != nil {
		return skeletonRef{}, fmt.Errorf("url %q: %v", ref, err)
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		if t, ok := treeURL(u); ok {
			if t.path == ".." || strings.HasPrefix(t.path, "../") {
				return skeletonRef{}, fmt.Errorf("url %q leaves the repository", ref)
			}
			return skeletonRef{repo: &t}, nil
		}
		return skeletonRef{remote: u}, nil
	case u.Scheme != "":
		return skeletonRef{}, fmt.Errorf("url %q: only http(s) URLs and paths relative to the template are supported", ref)
	case strings.HasPrefix(baseURL, "file://"):
		return skeletonRef{file: baseURL}, nil
	}
	base, ok := gitBase(baseURL)
	if !ok {
		b, err := url.Parse(baseURL)
		if err != nil || (b.Scheme != "http" && b.Scheme != "https") {
			return skeletonRef{}, fmt.Errorf("url %q: the template has no base location to resolve it against", ref)
		}
		if base, ok = treeURL(b); !ok {
			return skeletonRef{remote: b.ResolveReference(u)}, nil
		}
	}
	rp, err := inRepo(base, ref)
	if err != nil {
		return skeletonRef{}, err
	}
	return skeletonRef{repo: &rp}, nil
}

// openSkeleton resolves a fetch url and opens what it names: a folder next
// to the template, a clone of a repository, or (not opened) a remote URL.
func (s *Scaffold) openSkeleton(ctx context.Context, baseURL, ref string) (skeletonSource, error) {
	if s.SkeletonFake != nil && SkeletonFakeable(ref) {
		p, ok, err := s.SkeletonFake(ref)
		if err != nil {
			return skeletonSource{}, invalid(err)
		}
		if ok {
			return fakeSkeleton(ref, p)
		}
	}
	return openSource(ctx, s.fetchPolicy().Git, baseURL, ref)
}

// SkeletonFakeable says whether Scaffold.SkeletonFake is asked for the
// skeleton ref names: a remote one, or one outside the template's folder
// (../ — in the template's repository, which a test does not have).
func SkeletonFakeable(ref string) bool {
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		return true
	}
	rel := path.Clean(ref)
	return !strings.Contains(ref, "://") && (rel == ".." || strings.HasPrefix(rel, "../"))
}

// fakeSkeleton opens the local folder (or file) that stands in for the
// remote skeleton ref.
func fakeSkeleton(ref, p string) (skeletonSource, error) {
	dir, rel := p, "."
	if info, err := os.Stat(p); err != nil {
		return skeletonSource{}, invalid(fmt.Errorf("url %q: its fake: %w", ref, err))
	} else if !info.IsDir() {
		dir, rel = filepath.Dir(p), filepath.Base(p)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return skeletonSource{}, invalid(fmt.Errorf("url %q: its fake: %w", ref, err))
	}
	return skeletonSource{root: root, rel: rel}, nil
}

// openSource is openSkeleton with the clones' policy given (a docs build
// reads with the catalog's).
func openSource(ctx context.Context, git GitSource, baseURL, ref string) (skeletonSource, error) {
	r, err := resolveSkeleton(baseURL, ref)
	if err != nil {
		return skeletonSource{}, invalid(err)
	}
	switch {
	case r.remote != nil:
		return skeletonSource{remote: r.remote}, nil
	case r.file != "":
		root, rel, err := skeletonDir(r.file, ref)
		if err != nil {
			return skeletonSource{}, invalid(err)
		}
		return skeletonSource{root: root, rel: rel}, nil
	}
	g := git
	g.AllowLocal = r.repo.local // only a template read from a local repository names one
	root, cleanup, err := g.clone(ctx, r.repo.repo, r.repo.branch)
	if errors.Is(err, errCloneFailed) {
		// Perhaps the network: the step's retry policy applies.
		return skeletonSource{}, fmt.Errorf("url %q: %w", ref, err)
	}
	if err != nil {
		return skeletonSource{}, invalid(fmt.Errorf("url %q: %w", ref, err))
	}
	if _, err := root.Stat(r.repo.path); err != nil {
		cleanup()
		return skeletonSource{}, invalid(rootErr("url", ref, err))
	}
	return skeletonSource{root: root, rel: r.repo.path, cleanup: cleanup}, nil
}
