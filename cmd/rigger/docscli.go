package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/docs"
)

func (c *cli) docsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "docs", Short: "Build TechDocs-compatible documentation sites, with no code execution"}
	cmd.AddCommand(c.docsBuildCommand(), c.docsPublishCommand())
	return cmd
}

// docsBuildCommand builds a docs site into a folder: the same build the
// platform runs, for CI pipelines that build docs outside Rigger.
func (c *cli) docsBuildCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build DIR --out OUT",
		Short: "Build the docs of DIR (mkdocs.yml + Markdown) into OUT (exit 1 on error)",
		Long: `rigger docs build reads DIR/mkdocs.yml as data (site_name, site_description, nav,
docs_dir, repo_url, edit_uri; every other key is ignored with a warning, nothing is
executed, imported or fetched), renders the Markdown of docs_dir to sanitized HTML and
writes the site, techdocs_metadata.json and search/search_index.json under OUT.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return exitError{code: 2, msg: "--out is required"}
			}
			site, err := docs.Build(cmd.Context(), args[0], docs.Options{
				Progress: func(s string) { fmt.Fprintln(c.stdout, s) },
			})
			if err != nil {
				return exitError{code: 1, msg: "docs build: " + err.Error()}
			}
			for _, l := range site.Log {
				fmt.Fprintln(c.stdout, "warning: "+l)
			}
			if err := writeSite(out, site.Files); err != nil {
				return exitError{code: 1, msg: "docs build: " + err.Error()}
			}
			fmt.Fprintf(c.stdout, "built %d pages, %d files into %s (%d warnings)\n", len(site.Metadata.Pages), len(site.Files), out, len(site.Log))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write the site into (created if missing)")
	return cmd
}

// writeSite writes files under out through an os.Root, so no path can
// land outside it.
func writeSite(out string, files map[string][]byte) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	defer root.Close()
	for name, data := range files {
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("refusing to write %q outside %s", name, out)
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
		}
		if err := root.WriteFile(filepath.FromSlash(name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
