package github

import (
	"context"
	"fmt"
	"net/url"

	gh "github.com/google/go-github/v60/github"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
)

var permsHooks = map[string]string{"repository_hooks": "write"}

// webhook is github:webhook: a repository webhook, one per URL. When a
// hook with the URL exists (a retry, or a template run twice) it is
// updated instead of adding another.
func (s *service) webhook(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionWebhook, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	hookURL, e1 := c.str("webhookUrl", "")
	secret, e2 := c.str("webhookSecret", "")
	events, e3 := c.strings("events")
	active, e4 := c.boolean("active", true)
	contentType, e5 := c.str("contentType", "form")
	insecure, e6 := c.boolean("insecureSsl", false)
	if err := firstErr(e1, e2, e3, e4, e5, e6); err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if u, err := url.Parse(hookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return contract.ActionOutput{}, fail(fmt.Errorf("%w: webhookUrl must be an http(s) URL", errs.ErrInvalid))
	}
	if contentType != "form" && contentType != "json" {
		return contract.ActionOutput{}, fail(fmt.Errorf("%w: contentType %q is not form or json", errs.ErrInvalid, contentType))
	}
	if len(events) == 0 {
		events = []string{"push"}
	}
	if c.env.DryRun {
		c.logf("dry run: would add or update the webhook of %s/%s for %s (events %v)", c.repo.owner, c.repo.repo, hookURL, events)
		return c.output(map[string]any{}), nil
	}
	client, cred, err := c.client(ctx, permsHooks)
	if err != nil {
		return c.output(nil), err
	}
	ssl := "0"
	if insecure {
		ssl = "1"
	}
	cfg := &gh.HookConfig{URL: gh.String(hookURL), ContentType: gh.String(contentType), InsecureSSL: gh.String(ssl)}
	if secret != "" {
		cfg.Secret = gh.String(secret)
	}
	want := &gh.Hook{Config: cfg, Events: events, Active: gh.Bool(active)}
	hooks, resp, err := client.Repositories.ListHooks(ctx, c.repo.owner, c.repo.repo, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return c.output(nil), apiError("list the webhooks of "+c.repo.owner+"/"+c.repo.repo, err, resp, cred)
	}
	for _, h := range hooks {
		if h.GetConfig().GetURL() == hookURL {
			if _, resp, err := client.Repositories.EditHook(ctx, c.repo.owner, c.repo.repo, h.GetID(), want); err != nil {
				return c.output(nil), apiError("update the webhook", err, resp, cred)
			}
			c.logf("updated webhook %d of %s/%s (events %v)", h.GetID(), c.repo.owner, c.repo.repo, events)
			return c.output(map[string]any{"webhookId": h.GetID()}), nil
		}
	}
	want.Name = gh.String("web")
	h, resp, err := client.Repositories.CreateHook(ctx, c.repo.owner, c.repo.repo, want)
	if err != nil {
		return c.output(nil), apiError("create the webhook", err, resp, cred)
	}
	c.logf("created webhook %d of %s/%s (events %v)", h.GetID(), c.repo.owner, c.repo.repo, events)
	return c.output(map[string]any{"webhookId": h.GetID()}), nil
}
