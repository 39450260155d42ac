package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store"
)

// BreakGlassRef is who a break-glass token is issued to.
const BreakGlassRef = "user:default/break-glass"

// adminCommand groups operator commands that work on rigger's database
// directly, without a running server.
func (c *cli) adminCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operator commands that open rigger's database directly"}
	var dataDir, database string
	var ttl time.Duration
	var revoke string
	bg := &cobra.Command{
		Use:   "break-glass (--data-dir DIR | --database URL) [--ttl 1h | --revoke ID]",
		Short: "Issue a one-hour admin token from the operator's shell (audited as critical)",
		Long: `rigger admin break-glass opens rigger's database directly (--data-dir for SQLite, --database
for PostgreSQL, else the database of rigger.yaml), unseals the token signing keys with
scaffolder.secretKey (the key file of the data directory for a rigger dev one), and prints an
access token for ` + BreakGlassRef + ` with the admin scope, valid for --ttl (at most 1h), which
every replica of the server accepts. It first stores a critical auth.break-glass audit event;
no event, no token. Use it when sign-in is misconfigured and nobody can get in.

--revoke ID ends a break-glass token before it expires (ID is the token id it printed; every
replica refuses the token within 2 seconds), audited as token.revoke; a running server's
rigger token revoke --access-token ID does the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir != "" && database != "" {
				return exitError{code: 2, msg: "give --data-dir or --database, not both"}
			}
			cfg, err := c.loadConfig(cmd, func(cfg *config.Config, set func(string) bool) error {
				if set("data-dir") {
					cfg.Server.DataDir = dataDir
					cfg.Database.Driver, cfg.Database.Path = "sqlite", ""
				}
				if set("database") {
					cfg.Database.Driver, cfg.Database.URL = "postgres", config.Secret(database)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if revoke != "" {
				return c.revokeBreakGlass(cmd.Context(), cfg, revoke)
			}
			return c.breakGlass(cmd.Context(), cfg, ttl)
		},
	}
	bg.Flags().StringVar(&dataDir, "data-dir", "", "rigger's data directory, holding rigger.db and rigger-audit.db (SQLite)")
	bg.Flags().StringVar(&database, "database", "", "PostgreSQL URL of rigger's database (prefer env RIGGER_DATABASE)")
	bg.Flags().DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token (at most 1h)")
	bg.Flags().StringVar(&revoke, "revoke", "", "revoke the break-glass token with this id instead of issuing one")
	cmd.AddCommand(bg)
	return cmd
}

func (c *cli) breakGlass(ctx context.Context, cfg *config.Config, ttl time.Duration) error {
	if ttl <= 0 || ttl > auth.MaxTokenTTL {
		return exitError{code: 2, msg: fmt.Sprintf("--ttl %s is outside (0, 1h]", ttl)}
	}
	iss, st, logger, err := c.breakGlassIssuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	id := auth.Identity{Ref: BreakGlassRef, Ent: []string{BreakGlassRef}, Scopes: []string{"admin"}, Via: auth.ViaBreakGlass}
	tok, exp, err := iss.IssueTTL(ctx, id, ttl)
	if err != nil {
		return err
	}
	verified, err := iss.Verify(ctx, tok)
	if err != nil {
		return fmt.Errorf("the issued token does not verify: %w", err)
	}

	details := map[string]string{"severity": "critical", "tokenId": verified.TokenID, "expiresAt": exp.UTC().Format(time.RFC3339)}
	ev := audit.Event{ID: verified.TokenID, Actor: BreakGlassRef, ActorKind: audit.ActorUser, Action: "auth.break-glass", Target: "admin",
		Decision: audit.Allow, Reason: "break-glass admin token issued from the operator's shell", Details: operatorDetails(details)}
	if err := c.auditBreakGlass(ctx, cfg, st, logger, ev); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, tok)
	fmt.Fprintf(c.stderr, "Break-glass admin token for %s, valid until %s (audited as auth.break-glass, id %s).\nUse it as RIGGER_TOKEN or Authorization: Bearer; revoke it when done: rigger admin break-glass --revoke %s\n",
		BreakGlassRef, exp.UTC().Format(time.RFC3339), ev.ID, ev.ID)
	return nil
}

// revokeBreakGlass ends the break-glass token with this id on every
// replica (within the revocation window), audited.
func (c *cli) revokeBreakGlass(ctx context.Context, cfg *config.Config, id string) error {
	iss, st, logger, err := c.breakGlassIssuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := iss.RevokeToken(ctx, id); err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	ev := audit.Event{ID: fmt.Sprintf("revoke-%s-%d", id, time.Now().UnixNano()), Actor: BreakGlassRef, ActorKind: audit.ActorUser, Action: "token.revoke", Target: "access-token:" + id,
		Decision: audit.Allow, Reason: "break-glass token revoked from the operator's shell", Details: operatorDetails(map[string]string{"tokenId": id})}
	if err := c.auditBreakGlass(ctx, cfg, st, logger, ev); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "revoked access token %s: every server refuses it within %s\n", id, auth.DefaultRevocationWindow)
	return nil
}

// operatorDetails adds who ran the command, and where, to details.
func operatorDetails(details map[string]string) map[string]string {
	if u, err := user.Current(); err == nil {
		details["osUser"] = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		details["host"] = h
	}
	return details
}

// auditBreakGlass stores ev (audit on even where it is off) and checks
// it is in the chain.
func (c *cli) auditBreakGlass(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger, ev audit.Event) error {
	acfg := *cfg
	acfg.Audit.Enabled = true // a break-glass is audited even where audit is off
	audits, err := openAudit(&acfg, st, c.stderr, logger)
	if err != nil {
		return err
	}
	audits.log.Record(ctx, ev)
	if err := audits.Close(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return breakGlassAudited(ctx, st, ev.Action, ev.ID)
}

// breakGlassIssuer opens the database and the token issuer of the
// servers, as break-glass needs them.
func (c *cli) breakGlassIssuer(ctx context.Context, cfg *config.Config) (*auth.Issuer, store.Store, *slog.Logger, error) {
	if cfg.Server.BaseURL == "" {
		return nil, nil, nil, errors.New("break-glass needs server.baseUrl (the issuer the servers accept): set it in the configuration file (--config)")
	}
	key, err := secretKey(cfg, false)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("scaffolder.secretKey: %w", err)
	}
	if key == nil {
		// A rigger dev data directory: its key file, never a new one.
		path := filepath.Join(cfg.Server.DataDir, "secret.key")
		if _, statErr := os.Stat(path); statErr != nil {
			return nil, nil, nil, errors.New("break-glass needs scaffolder.secretKey (the servers' key that seals the signing keys), or a data directory holding secret.key")
		}
		if key, err = secretbox.LoadOrCreateKeyFile(path); err != nil {
			return nil, nil, nil, err
		}
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("rigger database: %w", err)
	}
	logger := newLogger(c.stderr, cfg.Server.LogLevel, cfg.Server.LogFormat).With("command", "break-glass")
	iss, err := auth.NewIssuer(ctx, auth.IssuerOptions{Store: st, DataKey: key, URL: cfg.Server.BaseURL, RotateEvery: cfg.Auth.Tokens.KeyRotation, Logger: logger})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return iss, st, logger, nil
}

// breakGlassAudited checks the event is in the stored chain: no event, no
// token.
func breakGlassAudited(ctx context.Context, st store.AuditLog, action, id string) error {
	recs, err := st.AuditRecords(ctx, store.AuditQuery{Action: action, Desc: true, Limit: 20})
	if err != nil {
		return fmt.Errorf("check the break-glass audit event: %w", err)
	}
	for _, r := range recs {
		if r.ID == id {
			return nil
		}
	}
	return errors.New("the break-glass audit event was not stored (see the log above): no token issued")
}
