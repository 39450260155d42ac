package contract

import "time"

// GitHubActions are activities/github's actions, on the GitHub queue.
// All have a dry-run behaviour (no GitHub call, no push).
var GitHubActions = []IntegrationAction{
	{Name: "publish:github", Queue: QueueGitHub, Timeout: 10 * time.Minute, DryRunSafe: true},
	{Name: "publish:github:pull-request", Queue: QueueGitHub, Timeout: 10 * time.Minute, DryRunSafe: true},
	{Name: "github:repo:create", Queue: QueueGitHub, Timeout: 2 * time.Minute, DryRunSafe: true},
	{Name: "github:repo:push", Queue: QueueGitHub, Timeout: 10 * time.Minute, DryRunSafe: true},
	{Name: "github:issues:label", Queue: QueueGitHub, Timeout: time.Minute, DryRunSafe: true},
	{Name: "github:actions:dispatch", Queue: QueueGitHub, Timeout: time.Minute, DryRunSafe: true},
	{Name: "github:webhook", Queue: QueueGitHub, Timeout: time.Minute, DryRunSafe: true},
}
