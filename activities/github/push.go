package github

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/riggerdev/rigger/internal/errs"
)

// commitSpec is one commit to push.
type commitSpec struct {
	remote      string // https URL, no credentials in it
	branch      string
	message     string
	authorName  string
	authorEmail string
}

// remoteHead is the commit refs/heads/<branch> points at on the remote,
// "" when the branch does not exist (or the repository is empty).
func remoteHead(ctx context.Context, s gitSession, dir, remote, branch string) (string, error) {
	out, err := s.run(ctx, dir, "ls-remote", "--", remote, "refs/heads/"+branch)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "refs/heads/"+branch {
			return f[0], nil
		}
	}
	return "", nil
}

// pushDirectory pushes the files of src as one commit to c.branch of a
// repository that must not already hold anything else there. It is
// idempotent: when the branch already holds exactly src's tree (a retry
// after a push), nothing is pushed and the existing commit is returned.
func pushDirectory(ctx context.Context, s gitSession, tmp, src string, c commitSpec) (commit string, pushed bool, err error) {
	repo := filepath.Join(tmp, "repo")
	if err := os.MkdirAll(repo, 0o700); err != nil {
		return "", false, err
	}
	gitDir := "--git-dir=" + filepath.Join(repo, ".git")
	if _, err := s.run(ctx, repo, "init", "-q", "-b", c.branch); err != nil {
		return "", false, err
	}
	// The index lives in the temporary repository; the workspace is only
	// read.
	if _, err := s.run(ctx, repo, gitDir, "--work-tree="+src, "add", "-A", "."); err != nil {
		return "", false, err
	}
	tree, err := s.run(ctx, repo, gitDir, "write-tree")
	if err != nil {
		return "", false, err
	}
	head, err := remoteHead(ctx, s, repo, c.remote, c.branch)
	if err != nil {
		return "", false, err
	}
	if head != "" {
		if _, err := s.run(ctx, repo, gitDir, "fetch", "-q", "--", c.remote, "refs/heads/"+c.branch); err != nil {
			return "", false, err
		}
		remoteTree, err := s.run(ctx, repo, gitDir, "rev-parse", "FETCH_HEAD^{tree}")
		if err != nil {
			return "", false, err
		}
		if remoteTree == tree {
			return head, false, nil
		}
		return "", false, fmt.Errorf("%w: branch %s of %s already holds other content (commit %s); refusing to overwrite it", errs.ErrConflict, c.branch, c.remote, head)
	}
	commit, err = s.run(ctx, repo, "-c", "user.name="+c.authorName, "-c", "user.email="+c.authorEmail,
		gitDir, "commit-tree", tree, "-m", c.message)
	if err != nil {
		return "", false, err
	}
	if _, err := s.run(ctx, repo, gitDir, "push", "-q", "--", c.remote, commit+":refs/heads/"+c.branch); err != nil {
		return "", false, err
	}
	return commit, true, nil
}

// pushBranchWith makes c.branch hold base's files plus src's files under
// targetPath, as one commit on top of the branch (when it exists) or of
// base. When the branch already holds that content (a retry), nothing is
// pushed. It returns the branch's commit and whether it pushed.
func pushBranchWith(ctx context.Context, s gitSession, tmp, src, targetPath, base string, c commitSpec) (commit string, pushed bool, err error) {
	// The git directory lives outside the work tree, so nothing copied
	// into the clone — whatever links the branch holds — can reach its
	// config or hooks.
	repo := filepath.Join(tmp, "repo")
	if err := os.MkdirAll(repo, 0o700); err != nil {
		return "", false, err
	}
	sep := []string{"--git-dir=" + filepath.Join(tmp, "repo.git"), "--work-tree=" + repo}
	g := func(args ...string) []string { return append(append([]string{}, sep...), args...) }
	if _, err := s.run(ctx, repo, g("init", "-q")...); err != nil {
		return "", false, err
	}
	head, err := remoteHead(ctx, s, repo, c.remote, c.branch)
	if err != nil {
		return "", false, err
	}
	from := c.branch
	if head == "" {
		from = base
	}
	if _, err := s.run(ctx, repo, g("fetch", "-q", "--depth=1", "--", c.remote, "refs/heads/"+from)...); err != nil {
		return "", false, err
	}
	if _, err := s.run(ctx, repo, g("checkout", "-q", "--detach", "FETCH_HEAD")...); err != nil {
		return "", false, err
	}
	parent, err := s.run(ctx, repo, g("rev-parse", "FETCH_HEAD")...)
	if err != nil {
		return "", false, err
	}
	parentTree, err := s.run(ctx, repo, g("rev-parse", "FETCH_HEAD^{tree}")...)
	if err != nil {
		return "", false, err
	}
	if err := copyTree(src, repo, targetPath); err != nil {
		return "", false, fmt.Errorf("copy sourcePath into the clone: %w", err)
	}
	if _, err := s.run(ctx, repo, g("add", "-A", ".")...); err != nil {
		return "", false, err
	}
	tree, err := s.run(ctx, repo, g("write-tree")...)
	if err != nil {
		return "", false, err
	}
	if tree == parentTree {
		if head == "" {
			return "", false, fmt.Errorf("%w: the files change nothing on %s", errs.ErrInvalid, base)
		}
		return head, false, nil
	}
	commit, err = s.run(ctx, repo, g("-c", "user.name="+c.authorName, "-c", "user.email="+c.authorEmail,
		"commit-tree", tree, "-p", parent, "-m", c.message)...)
	if err != nil {
		return "", false, err
	}
	if _, err := s.run(ctx, repo, g("push", "-q", "--", c.remote, commit+":refs/heads/"+c.branch)...); err != nil {
		return "", false, err
	}
	return commit, true, nil
}
