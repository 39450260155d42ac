package githost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// pullsFile holds a repository's pull requests, inside its bare
// repository (git http-backend serves only the smart protocol, never this
// file), so they live and go with the repository.
const pullsFile = "rigger-pulls.json"

// Pull is one pull request on the host.
type Pull struct {
	Number    int       `json:"number"`
	State     string    `json:"state"` // open or closed
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Head      string    `json:"head"` // branch
	Base      string    `json:"base"` // branch
	Draft     bool      `json:"draft"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Set by a merge.
	Merged         bool       `json:"merged"`
	MergedAt       *time.Time `json:"mergedAt,omitempty"`
	MergedBy       string     `json:"mergedBy,omitempty"`
	MergeCommitSHA string     `json:"mergeCommitSha,omitempty"`
	// HeadSHA and BaseSHA are recorded when the pull request closes;
	// while it is open they are read from the branches.
	HeadSHA string `json:"headSha,omitempty"`
	BaseSHA string `json:"baseSha,omitempty"`
}

type pullsState struct {
	Next  int    `json:"next"`
	Pulls []Pull `json:"pulls"`
}

// branchRe is a branch name the host accepts: git's rules (git
// check-ref-format --branch) narrowed to plain characters.
var branchRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$`)

// CheckBranch refuses a branch name that is not a plain branch: a leading
// '-' (an option to git), "..", a full ref ("refs/heads/main"), a
// component starting with '.', ".lock", "//" or a trailing '/'.
func CheckBranch(b string) error {
	bad := func(why string) error {
		return errs.Invalid("branch %q is not a plain branch name: %s", b, why)
	}
	switch {
	case b == "":
		return bad("empty")
	case strings.HasPrefix(b, "-"):
		return bad("it starts with '-'")
	case strings.Contains(b, ".."):
		return bad("it contains '..'")
	case strings.HasPrefix(b, "refs/") || b == "HEAD":
		return bad("name the branch, not a ref")
	case !branchRe.MatchString(b):
		return bad("letters, digits, '_', '.', '-' and '/' only, at most 200")
	case strings.Contains(b, "//") || strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".lock") || strings.Contains(b, "/."):
		return bad("no '//', trailing '/', '/.' or '.lock'")
	}
	return nil
}

// repoDir is owner/repo's bare repository (names already checked).
func (h *Host) repoDir(owner, repo string) string {
	return filepath.Join(h.dir, strings.ToLower(owner), strings.ToLower(repo)+".git")
}

// RepoPath is the directory of owner/repo's bare repository (a local
// git remote for this machine's own readers, such as a catalog location).
func (h *Host) RepoPath(owner, repo string) string { return h.repoDir(owner, repo) }

// HasMerged says whether a pull request of owner/repo was ever merged.
func (h *Host) HasMerged(owner, repo string) bool {
	pulls, err := h.Pulls(owner, repo)
	return err == nil && slices.ContainsFunc(pulls, func(p Pull) bool { return p.Merged })
}

// exists says whether owner/repo is a repository of the host.
func (h *Host) exists(owner, repo string) bool {
	_, err := os.Stat(filepath.Join(h.repoDir(owner, repo), "HEAD"))
	return err == nil
}

func (h *Host) loadPulls(gitDir string) (pullsState, error) {
	var st pullsState
	b, err := os.ReadFile(filepath.Join(gitDir, pullsFile))
	if errors.Is(err, os.ErrNotExist) {
		return pullsState{Next: 1}, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", pullsFile, err)
	}
	return st, nil
}

// savePulls replaces the file whole (a crash leaves the old or the new).
func (h *Host) savePulls(gitDir string, st pullsState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(gitDir, pullsFile+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(gitDir, pullsFile))
}

// git runs git on a bare repository with nothing of the environment but
// PATH and a private HOME.
func (h *Host) git(gitDir string, stdin []byte, extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command(h.gitBin, append([]string{"--git-dir", gitDir}, args...)...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + h.dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}, extraEnv...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), &gitError{args: args, err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return strings.TrimSpace(out.String()), nil
}

type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %v: %s", e.args[0], e.err, e.stderr)
}

func (e *gitError) Unwrap() error { return e.err }

// branchSHA is the commit a branch points at, "" when it does not exist.
func (h *Host) branchSHA(gitDir, branch string) string {
	sha, err := h.git(gitDir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		return ""
	}
	return sha
}

// branches maps each branch of a repository to its commit.
func (h *Host) branches(gitDir string) map[string]string {
	out := map[string]string{}
	refs, _ := h.git(gitDir, nil, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	for _, line := range strings.Split(refs, "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok {
			out[strings.TrimPrefix(ref, "refs/heads/")] = sha
		}
	}
	return out
}

// defaultBranch is the branch HEAD names, read from the file (main when
// it names none).
func (h *Host) defaultBranch(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if ref, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref: refs/heads/"); err == nil && ok && CheckBranch(ref) == nil {
		return ref
	}
	return "main"
}

// isAncestor says whether commit a is an ancestor of (or equal to) b.
func (h *Host) isAncestor(gitDir, a, b string) (bool, error) {
	_, err := h.git(gitDir, nil, nil, "merge-base", "--is-ancestor", a, b)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, err
}

// CreatePull opens a pull request from head into base of owner/repo, as
// GitHub does: both branches must exist, head must hold commits base has
// not, and one open pull request per head and base (a second is a
// conflict naming the first).
func (h *Host) CreatePull(owner, repo, user string, p Pull) (Pull, error) {
	if err := errors.Join(CheckBranch(p.Head), CheckBranch(p.Base)); err != nil {
		return Pull{}, err
	}
	if strings.TrimSpace(p.Title) == "" {
		return Pull{}, errs.Invalid("a pull request needs a title")
	}
	if p.Head == p.Base {
		return Pull{}, errs.Invalid("head and base are both %s", p.Head)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	gitDir := h.repoDir(owner, repo)
	headSHA, baseSHA := h.branchSHA(gitDir, p.Head), h.branchSHA(gitDir, p.Base)
	if headSHA == "" || baseSHA == "" {
		return Pull{}, errs.Invalid("branch %s or %s does not exist in %s/%s", p.Head, p.Base, owner, repo)
	}
	if in, err := h.isAncestor(gitDir, headSHA, baseSHA); err != nil {
		return Pull{}, err
	} else if in {
		return Pull{}, errs.Invalid("no commits between %s and %s", p.Base, p.Head)
	}
	st, err := h.loadPulls(gitDir)
	if err != nil {
		return Pull{}, err
	}
	for _, o := range st.Pulls {
		if o.State == "open" && o.Head == p.Head && o.Base == p.Base {
			return Pull{}, errs.Conflict("a pull request already exists for %s:%s (#%d)", owner, p.Head, o.Number)
		}
	}
	now := h.now().UTC().Truncate(time.Second)
	np := Pull{Number: st.Next, State: "open", Title: p.Title, Body: p.Body, Head: p.Head, Base: p.Base, Draft: p.Draft,
		User: user, CreatedAt: now, UpdatedAt: now}
	st.Next++
	st.Pulls = append(st.Pulls, np)
	if err := h.savePulls(gitDir, st); err != nil {
		return Pull{}, err
	}
	return np, nil
}

// Pulls lists owner/repo's pull requests, oldest first.
func (h *Host) Pulls(owner, repo string) ([]Pull, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := h.loadPulls(h.repoDir(owner, repo))
	return st.Pulls, err
}

// GetPull returns pull request number of owner/repo.
func (h *Host) GetPull(owner, repo string, number int) (Pull, error) {
	pulls, err := h.Pulls(owner, repo)
	if err != nil {
		return Pull{}, err
	}
	for _, p := range pulls {
		if p.Number == number {
			return p, nil
		}
	}
	return Pull{}, errs.NotFound("pull request #%d of %s/%s", number, owner, repo)
}

// EditPull changes an open or closed pull request's title and body (nil
// keeps them), as GitHub's PATCH does.
func (h *Host) EditPull(owner, repo string, number int, title, body *string) (Pull, error) {
	if title != nil && strings.TrimSpace(*title) == "" {
		return Pull{}, errs.Invalid("a pull request needs a title")
	}
	return h.updatePull(owner, repo, number, func(p *Pull) error {
		if title != nil {
			p.Title = *title
		}
		if body != nil {
			p.Body = *body
		}
		return nil
	})
}

// updatePull changes one pull request under the lock and saves it.
func (h *Host) updatePull(owner, repo string, number int, change func(*Pull) error) (Pull, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	gitDir := h.repoDir(owner, repo)
	st, err := h.loadPulls(gitDir)
	if err != nil {
		return Pull{}, err
	}
	for i := range st.Pulls {
		if st.Pulls[i].Number != number {
			continue
		}
		if err := change(&st.Pulls[i]); err != nil {
			return Pull{}, err
		}
		st.Pulls[i].UpdatedAt = h.now().UTC().Truncate(time.Second)
		if err := h.savePulls(gitDir, st); err != nil {
			return Pull{}, err
		}
		return st.Pulls[i], nil
	}
	return Pull{}, errs.NotFound("pull request #%d of %s/%s", number, owner, repo)
}

// ErrNotMergeable is a merge git cannot make without a person (a
// conflict), or of a pull request that is not open.
var ErrNotMergeable = errors.New("pull request is not mergeable")

// MergePull merges an open pull request with real git in the bare
// repository: a fast-forward of base when base is an ancestor of head,
// else a merge commit (git merge-tree; a conflict refuses the merge and
// changes nothing). wantSHA, when set, must be head's commit (GitHub's
// sha guard). The base branch moves by a compare-and-swap, so a push
// racing the merge is never lost.
func (h *Host) MergePull(owner, repo string, number int, by, wantSHA string) (Pull, error) {
	p, err := h.mergeRecord(owner, repo, number, by, wantSHA)
	if err == nil && h.OnMerge != nil {
		h.OnMerge(owner, repo, p)
	}
	return p, err
}

func (h *Host) mergeRecord(owner, repo string, number int, by, wantSHA string) (Pull, error) {
	gitDir := h.repoDir(owner, repo)
	return h.updatePull(owner, repo, number, func(p *Pull) error {
		if p.State != "open" {
			return fmt.Errorf("%w: #%d is %s", ErrNotMergeable, number, p.State)
		}
		headSHA, baseSHA := h.branchSHA(gitDir, p.Head), h.branchSHA(gitDir, p.Base)
		if headSHA == "" || baseSHA == "" {
			return fmt.Errorf("%w: branch %s or %s is gone", ErrNotMergeable, p.Head, p.Base)
		}
		if wantSHA != "" && wantSHA != headSHA {
			return errs.Conflict("head branch was modified: review and try the merge again")
		}
		ff, err := h.isAncestor(gitDir, baseSHA, headSHA)
		if err != nil {
			return err
		}
		result := headSHA
		if !ff {
			tree, err := h.git(gitDir, nil, nil, "merge-tree", "--write-tree", "--no-messages", baseSHA, headSHA)
			if err != nil {
				return fmt.Errorf("%w: %s does not merge cleanly into %s", ErrNotMergeable, p.Head, p.Base)
			}
			tree, _, _ = strings.Cut(tree, "\n")
			who := []string{"GIT_AUTHOR_NAME=" + by, "GIT_AUTHOR_EMAIL=" + by + "@rigger.localhost",
				"GIT_COMMITTER_NAME=rigger dev", "GIT_COMMITTER_EMAIL=rigger@localhost"}
			msg := fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s\n", number, owner, p.Head, p.Title)
			if result, err = h.git(gitDir, []byte(msg), who, "commit-tree", tree, "-p", baseSHA, "-p", headSHA); err != nil {
				return err
			}
		}
		if _, err := h.git(gitDir, nil, nil, "update-ref", "-m", fmt.Sprintf("merge pull request #%d", number),
			"refs/heads/"+p.Base, result, baseSHA); err != nil {
			return errs.Conflict("%s moved during the merge: try again", p.Base)
		}
		now := h.now().UTC().Truncate(time.Second)
		p.State, p.Merged, p.MergedAt, p.MergedBy, p.MergeCommitSHA = "closed", true, &now, by, result
		p.HeadSHA, p.BaseSHA = headSHA, baseSHA
		return nil
	})
}

// Diff is what a pull request changes (base...head), at most max bytes.
func (h *Host) Diff(owner, repo string, p Pull, max int) (string, error) {
	gitDir := h.repoDir(owner, repo)
	base, head := p.BaseSHA, p.HeadSHA
	if p.State == "open" {
		base, head = h.branchSHA(gitDir, p.Base), h.branchSHA(gitDir, p.Head)
	}
	if base == "" || head == "" {
		return "", nil
	}
	out, err := h.git(gitDir, nil, nil, "diff", "--no-color", "--no-ext-diff", "--no-textconv", base+"..."+head, "--")
	if len(out) > max {
		out = out[:max] + "\n… (cut at " + fmt.Sprint(max) + " bytes)"
	}
	return out, err
}

// Seed creates owner/repo with one commit of files on main when it does
// not exist yet (rigger dev's shared repositories); an existing
// repository is left as it is. It reports whether it created it.
func (h *Host) Seed(owner, repo, message string, files map[string]string) (bool, error) {
	if err := errors.Join(checkName("owner", owner), checkName("repository", repo)); err != nil {
		return false, err
	}
	gitDir := h.repoDir(owner, repo)
	if err := h.ensureRepo(gitDir); err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.branchSHA(gitDir, "main") != "" {
		return false, nil
	}
	work, err := os.MkdirTemp("", "rigger-githost-seed-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(work)
	root, err := os.OpenRoot(work)
	if err != nil {
		return false, err
	}
	defer root.Close()
	for name, content := range files {
		if dir := filepath.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o700); err != nil {
				return false, err
			}
		}
		if err := root.WriteFile(name, []byte(content), 0o600); err != nil {
			return false, err
		}
	}
	env := []string{"GIT_WORK_TREE=" + work, "GIT_INDEX_FILE=" + filepath.Join(work, ".index"),
		"GIT_AUTHOR_NAME=rigger dev", "GIT_AUTHOR_EMAIL=rigger@localhost", "GIT_COMMITTER_NAME=rigger dev", "GIT_COMMITTER_EMAIL=rigger@localhost"}
	args := append([]string{"add", "--"}, slices.Sorted(maps.Keys(files))...)
	if _, err := h.git(gitDir, nil, env, args...); err != nil {
		return false, err
	}
	tree, err := h.git(gitDir, nil, env, "write-tree")
	if err != nil {
		return false, err
	}
	commit, err := h.git(gitDir, []byte(message+"\n"), env, "commit-tree", tree)
	if err != nil {
		return false, err
	}
	if _, err := h.git(gitDir, nil, nil, "update-ref", "refs/heads/main", commit, ""); err != nil {
		return false, err
	}
	return true, nil
}
