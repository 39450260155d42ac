package github

import (
	"context"
	"fmt"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
)

var permsIssues = map[string]string{"issues": "write", "pull_requests": "write"}

// issuesLabel is github:issues:label: add labels to an issue or pull
// request. Adding a label twice keeps one, so a retry is harmless.
func (s *service) issuesLabel(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionIssuesLabel, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	number, ok, err := c.integer("number")
	if err == nil && (!ok || number <= 0) {
		err = fmt.Errorf("%w: number (the issue or pull request) is required", errs.ErrInvalid)
	}
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	labels, err := c.strings("labels")
	if err == nil && len(labels) == 0 {
		err = fmt.Errorf("%w: labels must name at least one label", errs.ErrInvalid)
	}
	if err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if c.env.DryRun {
		c.logf("dry run: would add labels %v to #%d of %s/%s", labels, number, c.repo.owner, c.repo.repo)
		return c.output(map[string]any{}), nil
	}
	client, cred, err := c.client(ctx, permsIssues)
	if err != nil {
		return c.output(nil), err
	}
	if _, resp, err := client.Issues.AddLabelsToIssue(ctx, c.repo.owner, c.repo.repo, number, labels); err != nil {
		return c.output(nil), apiError(fmt.Sprintf("label #%d of %s/%s", number, c.repo.owner, c.repo.repo), err, resp, cred)
	}
	c.logf("added labels %v to #%d of %s/%s", labels, number, c.repo.owner, c.repo.repo)
	return c.output(map[string]any{}), nil
}
