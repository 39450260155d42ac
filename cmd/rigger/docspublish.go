package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/docs"
	"github.com/riggerdev/rigger/internal/techdocs"
)

// docsPublishCommand builds a docs site in CI and publishes it: the way
// Backstage recommends an external builder, with the server rendering the
// sent source again with the same code (it stores no HTML it did not
// sanitize itself).
func (c *cli) docsPublishCommand() *cobra.Command {
	var entity string
	var r remoteFlags
	cmd := &cobra.Command{
		Use:   "publish [DIR] --entity KIND:NAMESPACE/NAME",
		Short: "Build the docs of DIR (default .) and publish them as an entity's docs",
		Long: `rigger docs publish builds DIR's docs as rigger docs build does (exit 1 on an error,
before anything is sent), then sends mkdocs.yml and the docs folder to the server,
which builds them again and publishes the site as the entity's docs. The caller
needs catalog.write (a service token in CI) and must be allowed to refresh the
entity. With docs.builder: external, this is how docs reach Rigger.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			ref, err := catalog.ParseRef(entity, "component", catalog.DefaultNamespace)
			if entity == "" || err != nil {
				return exitError{code: 2, msg: "--entity KIND:NAMESPACE/NAME is required (e.g. component:default/checkout)"}
			}
			site, err := docs.Build(cmd.Context(), dir, docs.Options{Progress: func(s string) { fmt.Fprintln(c.stdout, s) }})
			if err != nil {
				return exitError{code: 1, msg: "docs publish: the docs do not build: " + err.Error()}
			}
			for _, l := range site.Log {
				fmt.Fprintln(c.stdout, "warning: "+l)
			}
			files, err := docsSourceFiles(dir)
			if err != nil {
				return exitError{code: 1, msg: "docs publish: " + err.Error()}
			}
			api, err := c.client(&r)
			if err != nil {
				return err
			}
			api.loginHint = true
			fmt.Fprintf(c.stdout, "sending %d files to %s…\n", len(files), api.base)
			var out struct {
				Pages []string `json:"pages"`
				Files int      `json:"files"`
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			p := "/api/techdocs/publish/" + ref.Namespace + "/" + ref.Kind + "/" + ref.Name
			if err := api.doContext(ctx, "PUT", p, map[string]any{"files": files}, &out); err != nil {
				return exitError{code: 1, msg: "docs publish: " + err.Error()}
			}
			fmt.Fprintf(c.stdout, "published %d pages of %s: %s/docs/%s/%s/%s\n", len(out.Pages), ref.String(), api.base, ref.Namespace, ref.Kind, ref.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&entity, "entity", "", "the entity whose docs these are, e.g. component:default/checkout")
	r.register(cmd)
	return cmd
}

// docsSourceFiles is what a docs build reads: mkdocs.yml and the regular
// files under its docs_dir (links and special files are left out, as the
// build leaves them).
func docsSourceFiles(dir string) (techdocs.Source, error) {
	src := techdocs.Source{}
	conf := ""
	for _, name := range []string{"mkdocs.yml", "mkdocs.yaml"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			src[name], conf = data, name
			break
		}
	}
	docsDir := "docs"
	if conf != "" {
		var cfg struct {
			DocsDir string `yaml:"docs_dir"`
		}
		// The build has read this file safely already.
		if err := yaml.Unmarshal(src[conf], &cfg); err == nil && cfg.DocsDir != "" {
			docsDir = path.Clean(filepath.ToSlash(cfg.DocsDir))
		}
	}
	total := 0
	root := filepath.Join(dir, filepath.FromSlash(docsDir))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return fs.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if total += len(data); total > techdocs.MaxSourceBytes || len(src) >= techdocs.MaxSourceFiles {
			return fmt.Errorf("the docs source is larger than the server accepts (%d files, %d MiB)", techdocs.MaxSourceFiles, techdocs.MaxSourceBytes>>20)
		}
		src[filepath.ToSlash(rel)] = data
		return nil
	})
	return src, err
}
