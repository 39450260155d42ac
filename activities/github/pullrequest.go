package github

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
)

var permsPullRequest = map[string]string{"contents": "write", "pull_requests": "write"}

// pullRequest is publish:github:pull-request: the files of sourcePath go
// to targetPath on branchName (one commit on top of the branch when it
// exists, else of the target branch), and one open pull request from
// that branch is opened or updated. A retry pushes nothing when the
// branch already holds the files and updates the open pull request
// instead of opening a second one.
func (s *service) pullRequest(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionPullRequest, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	var e [10]error
	branch, e0 := c.str("branchName", "")
	title, e1 := c.str("title", "")
	body, e2 := c.str("description", "")
	targetBranch, e3 := c.str("targetBranchName", "")
	sourcePath, e4 := c.str("sourcePath", "")
	targetPath, e5 := c.str("targetPath", "")
	draft, e6 := c.boolean("draft", false)
	message, e7 := c.str("commitMessage", title)
	author, e8 := c.str("gitAuthorName", "Rigger")
	email, e9 := c.str("gitAuthorEmail", "rigger@localhost")
	e = [10]error{e0, e1, e2, e3, e4, e5, e6, e7, e8, e9}
	if err := firstErr(e[:]...); err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if branch == "" || title == "" {
		return contract.ActionOutput{}, fail(fmt.Errorf("%w: branchName and title are required", errs.ErrInvalid))
	}
	for _, b := range []string{branch, targetBranch} {
		if b != "" && (!branchPattern.MatchString(b) || strings.Contains(b, "..")) {
			return contract.ActionOutput{}, fail(fmt.Errorf("%w: %q is not a branch name", errs.ErrInvalid, b))
		}
	}
	src, err := sourceDir(c.env.Workspace, sourcePath)
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	under, err := localPath("targetPath", targetPath)
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if first := strings.Split(filepath.ToSlash(under), "/")[0]; strings.EqualFold(first, ".git") {
		return contract.ActionOutput{}, fail(fmt.Errorf("%w: targetPath %q is inside .git", errs.ErrInvalid, targetPath))
	}
	if c.env.DryRun {
		c.logf("dry run: would push %s to %s/%s under %q on branch %s and open or update its pull request %q into %s",
			orWorkspace(sourcePath), c.repo.owner, c.repo.repo, under, branch, title, orDefault(targetBranch))
		return c.output(map[string]any{"remoteUrl": webURL(c.host, c.repo) + "/pulls", "pullRequestNumber": 0, "targetBranchName": targetBranch}), nil
	}
	client, cred, err := c.client(ctx, permsPullRequest)
	if err != nil {
		return c.output(nil), err
	}
	repo, resp, err := client.Repositories.Get(ctx, c.repo.owner, c.repo.repo)
	if err != nil {
		return c.output(nil), apiError("read repository "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
	}
	if targetBranch == "" {
		targetBranch = repo.GetDefaultBranch()
	}
	if targetBranch == branch {
		return c.output(nil), fail(fmt.Errorf("%w: branchName %s is the target branch", errs.ErrInvalid, branch))
	}
	tmp, err := os.MkdirTemp(c.s.tmp, "rigger-github-")
	if err != nil {
		return c.output(nil), err
	}
	defer os.RemoveAll(tmp)
	sess, err := newSession(c.s.git, tmp, cred.Token, c.env.Workspace)
	if err != nil {
		return c.output(nil), err
	}
	commit, pushed, err := pushBranchWith(ctx, sess, tmp, src, under, targetBranch, commitSpec{remote: c.host.remoteURL(c.repo.owner, c.repo.repo),
		branch: branch, message: message, authorName: author, authorEmail: email})
	if err != nil {
		return c.output(nil), fail(fmt.Errorf("push branch %s to %s/%s: %w", branch, c.repo.owner, c.repo.repo, err))
	}
	if pushed {
		c.logf("pushed commit %s to branch %s of %s/%s", commit, branch, c.repo.owner, c.repo.repo)
	} else {
		c.logf("branch %s of %s/%s already holds these files (commit %s); nothing pushed", branch, c.repo.owner, c.repo.repo, commit)
	}
	open, resp, err := client.PullRequests.List(ctx, c.repo.owner, c.repo.repo, &gh.PullRequestListOptions{
		State: "open", Head: c.repo.owner + ":" + branch, Base: targetBranch})
	if err != nil {
		return c.output(nil), apiError("list pull requests of "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
	}
	var pr *gh.PullRequest
	if len(open) > 0 {
		pr, resp, err = client.PullRequests.Edit(ctx, c.repo.owner, c.repo.repo, open[0].GetNumber(), &gh.PullRequest{Title: gh.String(title), Body: gh.String(body)})
		if err != nil {
			return c.output(nil), apiError("update pull request", err, resp, cred)
		}
		c.logf("updated pull request #%d", pr.GetNumber())
	} else {
		pr, resp, err = client.PullRequests.Create(ctx, c.repo.owner, c.repo.repo, &gh.NewPullRequest{
			Title: gh.String(title), Body: gh.String(body), Head: gh.String(branch), Base: gh.String(targetBranch), Draft: gh.Bool(draft)})
		if err != nil {
			return c.output(nil), apiError("open a pull request", err, resp, cred)
		}
		c.logf("opened pull request #%d", pr.GetNumber())
	}
	return c.output(map[string]any{"remoteUrl": pr.GetHTMLURL(), "pullRequestNumber": pr.GetNumber(), "targetBranchName": targetBranch}), nil
}

func orDefault(b string) string {
	if b == "" {
		return "the default branch"
	}
	return b
}
