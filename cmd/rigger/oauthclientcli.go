package main

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/api"
)

// oauthClientCommand is rigger token oauth-client: list and delete the
// OAuth clients of rigger's authorization server for MCP clients, over a
// running rigger's /api/auth/oauth/clients (admins).
func (c *cli) oauthClientCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "oauth-client", Short: "List and delete the OAuth clients MCP clients registered (admins)"}
	var listFlags, deleteFlags remoteFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List OAuth clients: those of rigger.yaml mcp.clients, then the registered ones",
		Long: `Lists the OAuth clients of a running rigger (--server, env RIGGER_SERVER) as the caller of
--token / RIGGER_TOKEN, who must hold the admin scope or be in permission.admins. A registered
client that never redeemed an authorization code expires a day after it registered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, err := c.client(&listFlags)
			if err != nil {
				return err
			}
			var out struct {
				Items []api.OAuthClientInfo `json:"items"`
			}
			if err := rc.doContext(cmd.Context(), "GET", "/api/auth/oauth/clients", nil, &out); err != nil {
				return err
			}
			stamp := func(t *time.Time, none string) string {
				if t == nil {
					return none
				}
				return t.Format(time.RFC3339)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT ID\tNAME\tREDIRECT URIS\tREGISTERED\tFROM\tLAST USED")
			for _, x := range out.Items {
				reg, from := stamp(x.Created, "-"), x.From
				if x.Configured {
					reg, from = "configured", "rigger.yaml"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Name, strings.Join(x.RedirectURIs, " "), reg, from, stamp(x.LastUsed, "never"))
			}
			return tw.Flush()
		},
	}
	listFlags.register(list)
	del := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a registered OAuth client, ending its grants",
		Long: `Deletes an OAuth client an MCP client registered: its refresh tokens stop at once and its
access tokens within seconds, and its authorization codes go. Clients of rigger.yaml mcp.clients
are removed there instead. Needs the admin scope or permission.admins.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := c.client(&deleteFlags)
			if err != nil {
				return err
			}
			var out struct {
				ClientID      string `json:"clientId"`
				Name          string `json:"name"`
				GrantsRevoked int    `json:"grantsRevoked"`
			}
			if err := rc.doContext(cmd.Context(), "DELETE", "/api/auth/oauth/clients/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted OAuth client %s (%s); revoked %d grants\n", out.ClientID, out.Name, out.GrantsRevoked)
			return nil
		},
	}
	deleteFlags.register(del)
	cmd.AddCommand(list, del)
	return cmd
}
