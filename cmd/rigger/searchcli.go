package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) searchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "search", Short: "Maintain the search index"}
	cmd.AddCommand(c.searchReindexCommand())
	return cmd
}

// searchReindexCommand rebuilds the search index in the database, in one
// transaction (searches meanwhile see the old index; writes wait).
func (c *cli) searchReindexCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search index from the stored catalog (docs pages are kept and re-indexed)",
		Long: `rigger search reindex rebuilds the search index in rigger's database (--data-dir or
database in rigger.yaml): every entity's document from its stored body, and the vocabulary that
typo-tolerant matching uses, from every indexed entity and docs page. Docs pages keep the text
their last docs build stored. It runs in one transaction: searches meanwhile see the previous
index, catalog writes wait for it. The index is otherwise kept up to date by every write; this
is for repairs, and after the index's rules change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.configWithDataDir(cmd, dataDir)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg, false)
			if err != nil {
				return fmt.Errorf("search store: %w", err)
			}
			defer st.Close()
			start := time.Now()
			last := time.Time{}
			err = st.ReindexSearch(cmd.Context(), func(done, total int) {
				if done == total || time.Since(last) >= time.Second {
					last = time.Now()
					fmt.Fprintf(c.stdout, "indexed %d of %d entities\n", done, total)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "search index rebuilt in %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "rigger's data directory, holding rigger.db and rigger-audit.db (default ./.rigger; ignored with database.driver postgres)")
	return cmd
}
