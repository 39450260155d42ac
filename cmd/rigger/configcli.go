package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/liveconfig"
)

// configEffectiveCommand prints what GET /api/config/effective says of a
// running server: its generation, file hash, live settings and last
// refused reload, then the configuration (secrets redacted).
func (c *cli) configEffectiveCommand() *cobra.Command {
	var rf remoteFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "effective",
		Short: "Show a running server's configuration (secrets redacted), its generation and the last refused reload",
		Long: "Asks a running rigger server (admins only) for the configuration it runs: the generation\n" +
			"(1 at start, +1 per accepted reload), the SHA-256 of the file it was read from (compare it with\n" +
			"the file you deployed), the settings that reload live, and the last reload it refused and why.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			var e liveconfig.Effective
			if err := api.doContext(cmd.Context(), "GET", "/api/config/effective", nil, &e); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(e)
			}
			return printEffective(c.stdout, e)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	rf.register(cmd)
	return cmd
}

func printEffective(w io.Writer, e liveconfig.Effective) error {
	file := e.File
	if file == "" {
		file = "none"
	}
	fmt.Fprintf(w, "# generation %d, loaded %s (%s)\n# file: %s\n# sha256: %s\n# live: %s\n",
		e.Generation, e.LoadedAt.Format("2006-01-02T15:04:05Z07:00"), e.Trigger, file, e.SHA256, strings.Join(e.Live, ", "))
	for _, x := range e.Warnings {
		fmt.Fprintf(w, "# warning: %s\n", x)
	}
	if r := e.LastRefusal; r != nil {
		fmt.Fprintf(w, "# last refused reload: %s (%s, sha256 %s)\n", r.At.Format("2006-01-02T15:04:05Z07:00"), r.Trigger, r.SHA256)
		for _, x := range r.Errors {
			fmt.Fprintf(w, "#   %s\n", x)
		}
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(e.Config); err != nil {
		return err
	}
	return enc.Close()
}
