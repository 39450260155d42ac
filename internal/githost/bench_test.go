package githost

import (
	"context"
	"testing"

	gh "github.com/google/go-github/v60/github"
)

// BenchmarkPullRequestUpdate is the API side of a repeated
// publish:github:pull-request: list the open pull request of the branch
// and update it, through go-github against the host.
func BenchmarkPullRequestUpdate(b *testing.B) {
	h, _ := newHost(b)
	if _, err := h.Seed("platform", "catalog", "start", map[string]string{"README.md": "x"}); err != nil {
		b.Fatal(err)
	}
	tok := mintPerms(b, h, h.Name()+"/platform/catalog", map[string]string{"contents": "write", "pull_requests": "write"})
	pushBranch(b, h, tok, "platform", "catalog", "main", "add-x", map[string]string{"x.yaml": "x"})
	c := client(b, h, tok)
	ctx := context.Background()
	if _, _, err := c.PullRequests.Create(ctx, "platform", "catalog", &gh.NewPullRequest{Title: gh.String("x"), Head: gh.String("add-x"), Base: gh.String("main")}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		open, _, err := c.PullRequests.List(ctx, "platform", "catalog", &gh.PullRequestListOptions{State: "open", Head: "platform:add-x", Base: "main"})
		if err != nil || len(open) != 1 {
			b.Fatal(err)
		}
		if _, _, err := c.PullRequests.Edit(ctx, "platform", "catalog", 1, &gh.PullRequest{Title: gh.String("x")}); err != nil {
			b.Fatal(err)
		}
	}
}
