package github

import (
	"context"
	"fmt"
	"net/http"
	"os"

	gh "github.com/google/go-github/v60/github"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// The permissions each part of publishing declares.
var (
	permsAdmin = map[string]string{"administration": "write"}
	permsPush  = map[string]string{"contents": "write"}
)

// repoSettings are the repository inputs of publish:github and
// github:repo:create.
type repoSettings struct {
	description string
	visibility  string
	topics      []string
}

func (c *call) repoSettings() (repoSettings, error) {
	var r repoSettings
	var err1, err2, err3 error
	r.description, err1 = c.str("description", "")
	r.visibility, err2 = c.str("repoVisibility", "private")
	r.topics, err3 = c.strings("topics")
	if err := firstErr(err1, err2, err3); err != nil {
		return r, err
	}
	switch r.visibility {
	case "private", "internal", "public":
	default:
		return r, fmt.Errorf("%w: repoVisibility %q is not private, internal or public", errs.ErrInvalid, r.visibility)
	}
	return r, nil
}

// pushSettings are the push inputs of publish:github and github:repo:push.
type pushSettings struct {
	branch, message, authorName, authorEmail string
	source                                   string // the resolved sourcePath
	protect, codeOwners                      bool
	reviews                                  int
}

func (c *call) pushSettings() (pushSettings, error) {
	var p pushSettings
	var errList [9]error
	p.branch, errList[0] = c.str("defaultBranch", "main")
	p.message, errList[1] = c.str("gitCommitMessage", "initial commit")
	p.authorName, errList[2] = c.str("gitAuthorName", "Rigger")
	p.authorEmail, errList[3] = c.str("gitAuthorEmail", "rigger@localhost")
	sourcePath, e := c.str("sourcePath", "")
	errList[4] = e
	p.protect, errList[5] = c.boolean("protectDefaultBranch", true)
	p.codeOwners, errList[6] = c.boolean("requireCodeOwnerReviews", false)
	n, ok, e := c.integer("requiredApprovingReviewCount")
	errList[7] = e
	p.reviews = 1
	if ok {
		p.reviews = n
	}
	if err := firstErr(errList[:]...); err != nil {
		return p, err
	}
	if !branchPattern.MatchString(p.branch) {
		return p, fmt.Errorf("%w: defaultBranch %q is not a branch name", errs.ErrInvalid, p.branch)
	}
	src, err := sourceDir(c.env.Workspace, sourcePath)
	if err != nil {
		return p, err
	}
	p.source = src
	return p, nil
}

// publish is publish:github: create the repository and push the
// workspace to it. A retry reuses the repository and, when the branch
// already holds the workspace's files, the commit.
func (s *service) publish(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionPublish, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	rs, err := c.repoSettings()
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	ps, err := c.pushSettings()
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if c.env.DryRun {
		c.logf("dry run: would create %s repository %s/%s on %s (topics %v), push %s to its %s branch and protect it: %v",
			rs.visibility, c.repo.owner, c.repo.repo, c.repo.host, rs.topics, orWorkspace(in.Input["sourcePath"]), ps.branch, ps.protect)
		contents := webURL(c.host, c.repo) + "/blob/" + ps.branch
		if c.host.Dev {
			contents = webURL(c.host, c.repo) // the host's repository page
		}
		return c.output(map[string]any{"remoteUrl": c.host.remoteURL(c.repo.owner, c.repo.repo),
			"repoContentsUrl": contents, "commitHash": ""}), nil
	}
	if c.host.Dev {
		c.logf("%s is rigger dev's own git host: it keeps the files only (no description, visibility, topics or branch protection)", c.host.Host)
		return c.devPush(ctx, ps)
	}
	repo, err := c.ensureRepo(ctx, rs)
	if err != nil {
		return c.output(nil), err
	}
	commit, err := c.push(ctx, repo, ps)
	if err != nil {
		return c.output(nil), err
	}
	return c.output(map[string]any{"remoteUrl": cloneURL(c, repo), "repoContentsUrl": contentsURL(c, repo, ps.branch), "commitHash": commit}), nil
}

// devPush pushes to rigger dev's git host, which creates the repository
// on its first push.
func (c *call) devPush(ctx context.Context, ps pushSettings) (contract.ActionOutput, error) {
	ps.protect = false
	commit, err := c.push(ctx, &gh.Repository{DefaultBranch: gh.String(ps.branch)}, ps)
	if err != nil {
		return c.output(nil), err
	}
	remote := c.host.remoteURL(c.repo.owner, c.repo.repo)
	c.logf("clone it with: git clone %s", remote)
	// repoContentsUrl is the repository's page on the host.
	return c.output(map[string]any{"remoteUrl": remote, "repoContentsUrl": webURL(c.host, c.repo), "commitHash": commit}), nil
}

// repoCreate is github:repo:create, the first half of publish:github.
func (s *service) repoCreate(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionRepoCreate, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	rs, err := c.repoSettings()
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if c.env.DryRun {
		c.logf("dry run: would create %s repository %s/%s on %s (topics %v)", rs.visibility, c.repo.owner, c.repo.repo, c.repo.host, rs.topics)
		return c.output(map[string]any{"remoteUrl": c.host.remoteURL(c.repo.owner, c.repo.repo), "repoContentsUrl": webURL(c.host, c.repo) + "/blob/main"}), nil
	}
	repo, err := c.ensureRepo(ctx, rs)
	if err != nil {
		return c.output(nil), err
	}
	return c.output(map[string]any{"remoteUrl": cloneURL(c, repo), "repoContentsUrl": contentsURL(c, repo, repo.GetDefaultBranch())}), nil
}

// repoPush is github:repo:push, the second half of publish:github.
func (s *service) repoPush(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionRepoPush, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	ps, err := c.pushSettings()
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if c.env.DryRun {
		c.logf("dry run: would push %s to branch %s of %s/%s on %s", orWorkspace(in.Input["sourcePath"]), ps.branch, c.repo.owner, c.repo.repo, c.repo.host)
		return c.output(map[string]any{"remoteUrl": c.host.remoteURL(c.repo.owner, c.repo.repo),
			"repoContentsUrl": webURL(c.host, c.repo) + "/blob/" + ps.branch, "commitHash": ""}), nil
	}
	if c.host.Dev {
		return c.devPush(ctx, ps)
	}
	client, cred, err := c.client(ctx, permsPush)
	if err != nil {
		return c.output(nil), err
	}
	repo, resp, err := client.Repositories.Get(ctx, c.repo.owner, c.repo.repo)
	if err != nil {
		return c.output(nil), apiError("read repository "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
	}
	commit, err := c.push(ctx, repo, ps)
	if err != nil {
		return c.output(nil), err
	}
	return c.output(map[string]any{"remoteUrl": cloneURL(c, repo), "repoContentsUrl": contentsURL(c, repo, ps.branch), "commitHash": commit}), nil
}

func orWorkspace(v any) string {
	if s, ok := v.(string); ok && s != "" {
		return "sourcePath " + s
	}
	return "the workspace"
}

func cloneURL(c *call, repo *gh.Repository) string {
	if u := repo.GetCloneURL(); u != "" {
		return u
	}
	return c.host.remoteURL(c.repo.owner, c.repo.repo)
}

func contentsURL(c *call, repo *gh.Repository, branch string) string {
	base := repo.GetHTMLURL()
	if base == "" {
		base = webURL(c.host, c.repo)
	}
	return base + "/blob/" + branch
}

// ensureRepo returns the repository, creating it when it does not exist
// (a retry finds the one an earlier attempt created), and sets its
// topics.
func (c *call) ensureRepo(ctx context.Context, rs repoSettings) (*gh.Repository, error) {
	// While the repository does not exist this token cannot be limited
	// to it (see AppMinter.Mint): it is used for the lookup and the
	// creation only.
	client, cred, err := c.client(ctx, permsAdmin)
	if err != nil {
		return nil, err
	}
	repo, resp, err := client.Repositories.Get(ctx, c.repo.owner, c.repo.repo)
	switch {
	case err == nil:
		c.logf("repository %s/%s exists; reusing it", c.repo.owner, c.repo.repo)
	case resp != nil && resp.StatusCode == http.StatusNotFound:
		repo, err = c.createRepo(ctx, client, cred, rs)
		if err != nil {
			return nil, err
		}
	default:
		return nil, apiError("read repository "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
	}
	if len(rs.topics) > 0 {
		// A new token: now that the repository exists it is limited to it.
		client, cred, err := c.client(ctx, permsAdmin)
		if err != nil {
			return nil, err
		}
		if _, resp, err := client.Repositories.ReplaceAllTopics(ctx, c.repo.owner, c.repo.repo, rs.topics); err != nil {
			return nil, apiError("set the topics of "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
		}
		c.logf("topics of %s/%s: %v", c.repo.owner, c.repo.repo, rs.topics)
	}
	return repo, nil
}

func (c *call) createRepo(ctx context.Context, client *gh.Client, cred credentials.Credential, rs repoSettings) (*gh.Repository, error) {
	owner, resp, err := client.Users.Get(ctx, c.repo.owner)
	if err != nil {
		return nil, apiError("read owner "+c.repo.owner, err, resp, cred)
	}
	org := ""
	if owner.GetType() == "Organization" {
		org = c.repo.owner
	}
	want := &gh.Repository{Name: gh.String(c.repo.repo), Private: gh.Bool(rs.visibility != "public"), Visibility: gh.String(rs.visibility)}
	if rs.description != "" {
		want.Description = gh.String(rs.description)
	}
	repo, resp, err := client.Repositories.Create(ctx, org, want)
	if err != nil && resp != nil && resp.StatusCode == http.StatusUnprocessableEntity {
		// Created meanwhile (a concurrent attempt): reuse it.
		if existing, _, gerr := client.Repositories.Get(ctx, c.repo.owner, c.repo.repo); gerr == nil {
			c.logf("repository %s/%s was created meanwhile; reusing it", c.repo.owner, c.repo.repo)
			return existing, nil
		}
	}
	if err != nil {
		return nil, apiError("create repository "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
	}
	c.logf("created %s repository %s", rs.visibility, repo.GetFullName())
	return repo, nil
}

// push pushes the source to the branch, makes it the default branch and
// protects it as asked.
func (c *call) push(ctx context.Context, repo *gh.Repository, ps pushSettings) (string, error) {
	cred, err := c.token(ctx, permsPush)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(c.s.tmp, "rigger-github-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	sess, err := newSession(c.s.git, tmp, cred.Token, c.env.Workspace)
	if err != nil {
		return "", err
	}
	commit, pushed, err := pushDirectory(ctx, sess, tmp, ps.source, commitSpec{remote: c.host.remoteURL(c.repo.owner, c.repo.repo),
		branch: ps.branch, message: ps.message, authorName: ps.authorName, authorEmail: ps.authorEmail})
	if err != nil {
		return "", fail(fmt.Errorf("push to %s/%s: %w", c.repo.owner, c.repo.repo, err))
	}
	if pushed {
		c.logf("pushed commit %s to %s of %s/%s", commit, ps.branch, c.repo.owner, c.repo.repo)
	} else {
		c.logf("branch %s of %s/%s already holds these files (commit %s); nothing pushed", ps.branch, c.repo.owner, c.repo.repo, commit)
	}
	if repo.GetDefaultBranch() == ps.branch && !ps.protect {
		return commit, nil
	}
	client, acred, err := c.client(ctx, permsAdmin)
	if err != nil {
		return "", err
	}
	if repo.GetDefaultBranch() != ps.branch {
		if _, resp, err := client.Repositories.Edit(ctx, c.repo.owner, c.repo.repo, &gh.Repository{DefaultBranch: gh.String(ps.branch)}); err != nil {
			return "", apiError("set the default branch of "+c.repo.owner+"/"+c.repo.repo, err, resp, acred)
		}
		c.logf("default branch of %s/%s: %s", c.repo.owner, c.repo.repo, ps.branch)
	}
	if ps.protect {
		req := &gh.ProtectionRequest{
			EnforceAdmins: true,
			RequiredPullRequestReviews: &gh.PullRequestReviewsEnforcementRequest{
				RequireCodeOwnerReviews: ps.codeOwners, RequiredApprovingReviewCount: ps.reviews},
		}
		if _, resp, err := client.Repositories.UpdateBranchProtection(ctx, c.repo.owner, c.repo.repo, ps.branch, req); err != nil {
			return "", apiError("protect branch "+ps.branch+" of "+c.repo.owner+"/"+c.repo.repo, err, resp, acred)
		}
		c.logf("protected branch %s of %s/%s (%d approving reviews, code owners: %v)", ps.branch, c.repo.owner, c.repo.repo, ps.reviews, ps.codeOwners)
	}
	return commit, nil
}
