package main

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/auth"
)

// tokenCommand groups the service token commands: they call a running
// rigger's /api/auth/tokens, which only admins may use.
func (c *cli) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke service tokens; revoke sessions and access tokens (admins)"}
	var createFlags, listFlags, revokeFlags remoteFlags
	var scopes, templates, actions []string
	var expires time.Duration
	create := &cobra.Command{
		Use:   "create NAME --scope S [--scope S...] [--template REF] [--action ID] [--expires 720h]",
		Short: "Create a service token and print it once",
		Long: `Creates a service token on a running rigger (--server, env RIGGER_SERVER) as the caller of
--token / RIGGER_TOKEN, who must hold the admin scope or be in permission.admins. The token is
printed once: rigger stores only its hash and cannot show it again.

Scopes: catalog.read, catalog.write, scaffolder.read, scaffolder.run, scaffolder.admin,
audit.read, *. --template and --action restrict the token to those template refs and action ids.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client(&createFlags)
			if err != nil {
				return err
			}
			body := map[string]any{"name": args[0], "scopes": scopes, "templates": templates, "actions": actions, "expiresIn": expires.String()}
			var out struct {
				Token string `json:"token"`
				auth.TokenInfo
			}
			if err := api.doContext(cmd.Context(), "POST", "/api/auth/tokens", body, &out); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, out.Token)
			fmt.Fprintf(c.stderr, "Created token %s (id %s, scopes %s, expires %s).\nCopy it now: it will not be shown again.\n",
				out.Name, out.ID, strings.Join(out.Scopes, ","), out.Expires.Format(time.RFC3339))
			return nil
		},
	}
	create.Flags().StringArrayVar(&scopes, "scope", nil, "a scope the token holds (repeatable; at least one)")
	create.Flags().StringArrayVar(&templates, "template", nil, "restrict the token to this template ref (repeatable)")
	create.Flags().StringArrayVar(&actions, "action", nil, "restrict the token to this action id (repeatable)")
	create.Flags().DurationVar(&expires, "expires", auth.DefaultServiceTokenTTL, "lifetime of the token (at most 8784h)")
	createFlags.register(create)

	list := &cobra.Command{
		Use:   "list",
		Short: "List service tokens (never their values)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client(&listFlags)
			if err != nil {
				return err
			}
			var out struct {
				Items []auth.TokenInfo `json:"items"`
			}
			if err := api.doContext(cmd.Context(), "GET", "/api/auth/tokens", nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tEXPIRES\tLAST USED\tSTATUS")
			for _, t := range out.Items {
				used, status := "never", "active"
				if t.LastUsed != nil {
					used = t.LastUsed.Format(time.RFC3339)
				}
				switch {
				case t.Revoked != nil:
					status = "revoked"
				case !t.Expires.IsZero() && time.Now().After(t.Expires):
					status = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.Expires.Format(time.RFC3339), used, status)
			}
			return tw.Flush()
		},
	}
	listFlags.register(list)

	var revokeUser, revokeAccess string
	revoke := &cobra.Command{
		Use:   "revoke (ID|NAME | --user REF | --access-token ID)",
		Short: "Revoke a service token, every session of a user, or one access token",
		Long: `rigger token revoke ID|NAME revokes a service token; it stops working at once.
--user REF ends every session of a user and every access token issued to them so far (the user
may sign in again); --access-token ID ends one access token by its id (jti), e.g. the id
rigger admin break-glass printed. Revoked access tokens are refused by the server that revoked
them at once and by every other replica within 2 seconds. Needs token.revoke (admins).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			given := 0
			for _, v := range []string{revokeUser, revokeAccess, strings.Join(args, "")} {
				if v != "" {
					given++
				}
			}
			if given != 1 {
				return exitError{code: 2, msg: "give one of: a service token ID|NAME, --user REF, --access-token ID"}
			}
			api, err := c.client(&revokeFlags)
			if err != nil {
				return err
			}
			switch {
			case revokeUser != "":
				var out struct {
					Sessions int `json:"sessions"`
				}
				if err := api.doContext(cmd.Context(), "POST", "/api/auth/revocations", map[string]string{"user": revokeUser}, &out); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "revoked %d sessions of %s and every access token issued to them\n", out.Sessions, revokeUser)
			case revokeAccess != "":
				if err := api.doContext(cmd.Context(), "POST", "/api/auth/revocations", map[string]string{"tokenId": revokeAccess}, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "revoked access token %s\n", revokeAccess)
			default:
				var out auth.TokenInfo
				if err := api.doContext(cmd.Context(), "DELETE", "/api/auth/tokens/"+url.PathEscape(args[0]), nil, &out); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "revoked token %s (id %s)\n", out.Name, out.ID)
			}
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeUser, "user", "", "end every session and access token of this user ref")
	revoke.Flags().StringVar(&revokeAccess, "access-token", "", "end the access token with this id (jti)")
	revokeFlags.register(revoke)
	cmd.AddCommand(create, list, revoke, c.oauthClientCommand())
	return cmd
}
