package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/github"
	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/config"
	creds "github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/githost"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/sandbox"
)

// DevGitHostName is the host name of rigger dev's own git host in
// repoUrls: localhost?owner=acme&repo=payments.
const DevGitHostName = "localhost"

// devGitHost starts nothing: it returns rigger dev's git host, kept under
// the data directory and served by the API at /git/, with a push-token key
// made for this process (tokens last minutes).
func devGitHost(cfg *config.Config) (*githost.Host, error) {
	// Reading is open: only where nobody else can connect.
	if host, _, err := net.SplitHostPort(cfg.Server.Listen); err != nil || !isLoopback(host) {
		return nil, fmt.Errorf("server.listen %s is not a loopback address, and the git host lets anyone who connects read its repositories", cfg.Server.Listen)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return githost.New(filepath.Join(cfg.Server.DataDir, "git"), DevGitHostName, loopbackAddress(cfg.Server.Listen), key)
}

// integrationActions builds the actions of each integration queue among
// queues, each with only its own integration's configuration and a
// broker that mints only that integration's credentials. A queue whose
// integration is not configured gets none (worker.New then refuses it,
// saying so). For dry runs (an API server's, rigger template dry-run's)
// they are built without secrets or broker: a dry run asks for no
// credential.
// userTokens (nil: none) give a GitHub step its user's own token when the
// template asked for it.
func integrationActions(cfg *config.Config, queues []string, policy *permission.Policy, gitHost *githost.Host, logger *slog.Logger, use actionsUse, rec audit.Recorder, userTokens creds.UserTokens) (map[string]map[string]activities.ActionFunc, error) {
	dryRunOnly := use != forWorkers
	out := map[string]map[string]activities.ActionFunc{}
	decider := brokerDecider(cfg, policy, logger)
	if slices.Contains(queues, contract.QueueGitHub) {
		gcfg, minters := githubConfig(cfg, gitHost, use)
		if len(gcfg.Hosts) > 0 {
			log := logger.With("component", "worker", "queue", contract.QueueGitHub)
			broker := creds.NewBroker(decider, log, minters...)
			broker.Audit = rec
			broker.UserTokens = userTokens
			if dryRunOnly {
				broker = nil
			}
			// A dry run runs no git: only workers probe the kernel for the
			// sandbox (a child process in new namespaces).
			var git *github.Git
			if !dryRunOnly {
				g, err := sandboxedGit(cfg, log)
				if err != nil {
					return nil, err
				}
				git = g
			}
			acts, err := github.Actions(broker, gcfg, github.Options{Logger: log, HTTPClient: &http.Client{}, Git: git})
			if err != nil {
				return nil, fmt.Errorf("integrations.github: %w", err)
			}
			out[contract.QueueGitHub] = acts
		}
	}
	if slices.Contains(queues, contract.QueueTerraform) {
		// Without terraform the queue gets no actions: rigger dev skips its
		// worker, rigger worker --queue rigger-terraform refuses to start.
		if acts, err := terraformActions(cfg, decider, logger, rec, dryRunOnly); err != nil {
			logger.Warn("no terraform actions: "+err.Error(), "queue", contract.QueueTerraform)
		} else {
			out[contract.QueueTerraform] = acts
		}
	}
	if slices.Contains(queues, contract.QueueAWS) && (awsConfigured(cfg) || dryRunOnly) {
		a := cfg.Integrations.AWS
		acfg := aws.Config{Region: a.Region, Endpoint: a.Endpoint, RoleARN: a.RoleARN, AccessKeyID: a.AccessKeyID,
			SecretAccessKey: creds.NewSecret(a.SecretAccessKey.Reveal()), SessionDuration: a.SessionDuration}
		if dryRunOnly {
			out[contract.QueueAWS] = aws.Actions(nil, aws.Config{Region: a.Region, Endpoint: a.Endpoint, RoleARN: a.RoleARN, SessionDuration: a.SessionDuration})
			return out, nil
		}
		minter, err := aws.NewSTSMinter(acfg)
		if err != nil {
			return nil, fmt.Errorf("integrations.aws: %w", err)
		}
		log := logger.With("component", "worker", "queue", contract.QueueAWS)
		broker := creds.NewBroker(decider, log, minter)
		broker.Audit = rec
		out[contract.QueueAWS] = aws.Actions(broker, acfg)
	}
	return out, nil
}

// awsConfigured says whether integrations.aws names a role to assume.
func awsConfigured(cfg *config.Config) bool { return cfg.Integrations.AWS.RoleARN != "" }

// githubConfig is the GitHub integration's slice of the configuration,
// plus rigger dev's git host, and the minters of its credentials.
func githubConfig(cfg *config.Config, gitHost *githost.Host, use actionsUse) (github.Config, []creds.Minter) {
	dryRunOnly := use != forWorkers
	var gcfg github.Config
	for _, g := range cfg.Integrations.GitHub {
		if len(g.Apps) == 0 && g.Token == "" {
			continue // it only verifies webhooks (webhookSecret)
		}
		h := github.Host{Host: g.Host, APIBaseURL: g.APIURL(), GitURL: g.GitBaseURL, Token: creds.NewSecret(g.Token.Reveal())}
		for _, a := range g.Apps {
			h.Apps = append(h.Apps, github.App{AppID: a.AppID, PrivateKey: creds.NewSecret(a.PrivateKey.Reveal())})
		}
		if dryRunOnly {
			// The host as the actions see it, without its secrets.
			h.Apps, h.Token = nil, creds.NewSecret("dry-run-only")
		}
		gcfg.Hosts = append(gcfg.Hosts, h)
	}
	if use == forLocalDryRuns {
		// rigger template dry-run says what would be pushed where, also
		// to rigger dev's git host at its default address.
		base := "http://" + loopbackAddress(cfg.Server.Listen)
		gcfg.Hosts = append(gcfg.Hosts, github.Host{Host: DevGitHostName, GitURL: base + githost.Prefix[:len(githost.Prefix)-1],
			APIBaseURL: base + githost.APIPrefix, Dev: true})
	}
	if dryRunOnly {
		return gcfg, nil
	}
	var minters []creds.Minter
	if len(gcfg.Hosts) > 0 {
		minters = append(minters, github.NewAppMinter(gcfg, nil, nil))
	}
	if gitHost != nil {
		gcfg.Hosts = append(gcfg.Hosts, github.Host{Host: gitHost.Name(), GitURL: gitHost.BaseURL(), APIBaseURL: gitHost.APIBaseURL(), Dev: true})
		minters = append(minters, gitHost)
	}
	return gcfg, minters
}

// brokerDecider is the policy the credential brokers ask: the permission
// policy, or, when an operator switched permissions off, everything.
func brokerDecider(cfg *config.Config, policy *permission.Policy, logger *slog.Logger) creds.Decider {
	if !cfg.Permission.Enabled {
		logger.Warn("permission.enabled is false: the credential broker mints for every action and target")
		return allowAll{}
	}
	return creds.PolicyDecider{Policy: policy}
}

type allowAll struct{}

func (allowAll) MayUse(context.Context, creds.Need) error { return nil }

// sandboxedGit is git run through the sandbox (scaffolder.sandbox).
func sandboxedGit(cfg *config.Config, logger *slog.Logger) (*github.Git, error) {
	g, err := github.NewGit()
	if err != nil {
		return nil, err
	}
	g.Sandbox = sandboxRunner(cfg, logger, "git", "GitHub")
	return g, nil
}

// sandboxRunner is the sandbox of one tool under scaffolder.sandbox; it
// probes the kernel once and logs what it found, and, when Landlock is
// missing, what that does to the integration's steps.
func sandboxRunner(cfg *config.Config, logger *slog.Logger, tool, integration string) *sandbox.Runner {
	helper := sandboxHelper(cfg)
	r := sandbox.New(sandbox.Options{Required: cfg.Scaffolder.Sandbox.Required, Helper: helper})
	report := r.Report() // probed once, and the runner decides with it
	logger.Info("sandbox for "+tool+": "+report.String(), "required", cfg.Scaffolder.Sandbox.Required, "helper", helper)
	if helper == "" {
		// Measured: about 35 ms of CPU per start of rigger (the init of
		// every package it links), against about 1 ms for rigger-sandbox.
		logger.Warn("no rigger-sandbox beside rigger: every " + tool + " process starts through rigger itself, which costs about 35 ms of CPU each time; install rigger-sandbox beside rigger (make build does) or set scaffolder.sandbox.helper")
	}
	if report.LandlockABI == 0 {
		if cfg.Scaffolder.Sandbox.Required {
			logger.Error("this kernel cannot confine " + tool + " (no Landlock): " + integration + " steps will fail until it can, or until scaffolder.sandbox.required is false")
		} else {
			logger.Warn(tool + " runs unconfined: this kernel has no Landlock and scaffolder.sandbox.required is false")
		}
	}
	return r
}

// sandboxHelper is scaffolder.sandbox.helper, else rigger-sandbox beside
// this binary when it is there ("" lets the sandbox re-execute rigger).
func sandboxHelper(cfg *config.Config) string {
	if h := cfg.Scaffolder.Sandbox.Helper; h != "" {
		return h
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	beside := filepath.Join(filepath.Dir(exe), "rigger-sandbox")
	if st, err := os.Stat(beside); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return beside
	}
	return ""
}

// actionsUse is what integration actions are built for.
type actionsUse int

const (
	// forWorkers: with secrets and a broker, to run steps.
	forWorkers actionsUse = iota
	// forServerDryRuns: an API server's dry runs, without secrets.
	forServerDryRuns
	// forLocalDryRuns: rigger template dry-run on this machine, which also
	// knows rigger dev's git host.
	forLocalDryRuns
)

// isLoopback says whether host (an IP or a name) is this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// terraformActions builds the Terraform queue's actions: the terraform
// binary and provider mirror of integrations.terraform, and, when
// integrations.aws names a role, a broker minting the AWS sessions steps
// declare (the only cloud credentials terraform gets).
func terraformActions(cfg *config.Config, decider creds.Decider, logger *slog.Logger, rec audit.Recorder, dryRunOnly bool) (map[string]activities.ActionFunc, error) {
	t := cfg.Integrations.Terraform
	tcfg := terraform.Config{Binary: t.Binary, PluginMirror: t.PluginMirror}
	log := logger.With("component", "worker", "queue", contract.QueueTerraform)
	a := cfg.Integrations.AWS
	acfg := aws.Config{Region: a.Region, Endpoint: a.Endpoint, RoleARN: a.RoleARN, AccessKeyID: a.AccessKeyID,
		SecretAccessKey: creds.NewSecret(a.SecretAccessKey.Reveal()), SessionDuration: a.SessionDuration}
	var (
		broker *creds.Broker
		runner *sandbox.Runner
	)
	if !dryRunOnly {
		// Only workers run terraform, so only they probe the kernel.
		runner = sandboxRunner(cfg, log, "terraform", "Terraform")
		var minters []creds.Minter
		if awsConfigured(cfg) {
			m, err := aws.NewSTSMinter(acfg)
			if err != nil {
				return nil, fmt.Errorf("integrations.aws: %w", err)
			}
			minters = append(minters, m)
		}
		broker = creds.NewBroker(decider, log, minters...)
		broker.Audit = rec
	} else {
		acfg.AccessKeyID, acfg.SecretAccessKey = "", creds.Secret{}
	}
	return terraform.Actions(broker, tcfg, terraform.Options{Logger: log, AWS: acfg, Sandbox: runner})
}
