package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/riggerdev/rigger/worker/templatetest"
)

// templateTestCommand runs templates' test cases offline: the real
// workflow and pure actions in process, fakes for every action with
// outside effects (worker/templatetest).
func (c *cli) templateTestCommand() *cobra.Command {
	var junit string
	var update, watch, initCases bool
	cmd := &cobra.Command{
		Use:   "test [DIR|FILE...]",
		Short: "Run templates' test cases offline (template.test.yaml, tests/*.yaml; exit 1 on a failure)",
		Long: `Run the test cases beside templates (template.test.yaml, or tests/*.yaml next to a
template.yaml) without a server or a Temporal service: the real scaffolder workflow
and the real workspace actions run in process; actions with outside effects
(publish:*, github:*, aws:*, terraform:*, catalog:register) are recording fakes
that check their input against the action's schema and return what the case
declares. With no argument, the current folder is searched.

--init writes a starter template.test.yaml beside each template given (a
template.yaml, or a folder holding one): values made from the parameters'
defaults, examples and enums, fake values for the secrets it reads, its
remote skeletons recorded (fetch: URL: record; map a URL to a local folder
to render it), the actions rigger lacks faked, and the step statuses that
run showed. It never overwrites a test file.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			cfg, err := c.loadConfigExplicit(cmd)
			if err != nil {
				return err
			}
			actions, err := actionRegistry(cfg, cfg.Scaffolder.DisabledActions)
			if err != nil {
				return err
			}
			sc, err := scaffoldActivities(cfg, newLogger(c.stderr, "warn", "text"), nil, nil)
			if err != nil {
				return err
			}
			// The SDK names in-process activity workers by a checksum of
			// this executable, hashing the whole binary (~1s) on the first
			// faked step; this command runs no real worker, so a fixed
			// name does.
			sdkworker.SetBinaryChecksum("rigger-template-test")
			r := &templatetest.Runner{Scaffold: sc, Actions: actions, Update: update}
			ctx := cmd.Context()
			if initCases {
				if update || watch || junit != "" {
					return exitError{code: 2, msg: "--init writes test files: it takes no --update, --watch or --junit"}
				}
				return c.initTemplateTests(ctx, r, args)
			}
			// wrote: the files and folders the last run wrote, which a
			// watch does not take for edits.
			var wrote []string
			once := func() (failed bool, err error) {
				wrote = nil
				if junit != "" {
					wrote = append(wrote, junit)
				}
				rep, err := r.Run(ctx, args)
				if err != nil {
					return true, exitError{code: 2, msg: err.Error()}
				}
				for _, res := range rep.Results {
					if res.Wrote != "" {
						wrote = append(wrote, res.Wrote)
					}
				}
				if err := rep.WriteText(c.stdout); err != nil {
					return true, err
				}
				if junit != "" {
					if err := writeJUnit(junit, rep); err != nil {
						return true, err
					}
				}
				return rep.Failed() > 0, nil
			}
			if !watch {
				failed, err := once()
				if err != nil {
					return err
				}
				if failed {
					return exitError{code: 1}
				}
				return nil
			}
			return c.watchTests(ctx, args, once, func() []string { return wrote })
		},
	}
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file")
	cmd.Flags().BoolVar(&update, "update", false, "rewrite each case's snapshot folder from this run's files instead of comparing them")
	cmd.Flags().BoolVar(&watch, "watch", false, "run again whenever a file under the arguments changes (Ctrl-C stops)")
	cmd.Flags().BoolVar(&initCases, "init", false, "write a starter template.test.yaml beside each template given instead of running tests")
	return cmd
}

// initTemplateTests writes the starter test file of each template of args
// (a template file, or a folder holding template.yaml) beside it; one
// that exists already is left alone, and one whose starter run fails is
// reported. Exit 1 when any template got no test file.
func (c *cli) initTemplateTests(ctx context.Context, r *templatetest.Runner, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	failed := false
	for _, arg := range args {
		tpl := arg
		if info, err := os.Stat(arg); err != nil {
			return exitError{code: 2, msg: err.Error()}
		} else if info.IsDir() {
			tpl = filepath.Join(arg, "template.yaml")
		}
		out := filepath.Join(filepath.Dir(tpl), "template.test.yaml")
		if _, err := os.Stat(out); err == nil {
			fmt.Fprintf(c.stderr, "%s exists: edit it, or remove it to write a starter again\n", out)
			failed = true
			continue
		}
		data, err := r.Init(ctx, tpl, out)
		if err != nil {
			fmt.Fprintf(c.stderr, "no starter test written: %v\n", err)
			failed = true
			continue
		}
		// O_EXCL: a file written meanwhile is not replaced.
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "wrote %s (run: rigger template test %s)\n", out, filepath.Dir(tpl))
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}

// writeJUnit writes rep as JUnit XML to path.
func writeJUnit(path string, rep *templatetest.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// watchTests runs once, then again whenever the files under args change
// (their paths, sizes and modification times, polled), until ctx ends. A
// file edited while a run goes on is seen when it ends, and runs the tests
// again at once; what the run itself wrote (wrote: its snapshot folders and
// report, files or folders) is not an edit.
func (c *cli) watchTests(ctx context.Context, args []string, once func() (bool, error), wrote func() []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		before := treeStamp(args)
		if _, err := once(); err != nil {
			if _, bad := err.(exitError); bad {
				fmt.Fprintln(c.stderr, "error", err)
			} else {
				return err
			}
		}
		last := treeStamp(args)
		if edited := before.changed(last, wrote()); len(edited) > 0 {
			fmt.Fprintf(c.stdout, "\n%s changed during the run; running again\n", shortPath(edited[0]))
			continue
		}
		fmt.Fprintln(c.stdout, "watching for changes (Ctrl-C stops)")
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
			if len(last.changed(treeStamp(args), nil)) > 0 {
				break
			}
		}
		fmt.Fprintln(c.stdout, "\nchanged; running again")
	}
}

// resolved is path with its symbolic links resolved, as far as it
// exists: a removed file's folder is resolved, and its name kept.
func resolved(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(dir, filepath.Base(path))
	}
	return path
}

// shortPath is path relative to the working folder when it is under it.
func shortPath(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return rel
		}
	}
	return path
}

// stamp is the size and modification time of each file under a watch's
// arguments, by absolute path.
type stamp map[string]fileStamp

type fileStamp struct {
	size int64
	mod  time.Time
}

// treeStamp stamps the files under paths (a file argument: its folder).
func treeStamp(paths []string) stamp {
	st := stamp{}
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			p = filepath.Dir(p) // a template or test file: its folder
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		// A trailing separator makes the walk follow a folder given as a
		// symbolic link, as the test run's own discovery does.
		_ = filepath.WalkDir(p+string(filepath.Separator), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil {
				st[path] = fileStamp{info.Size(), info.ModTime()}
			}
			return nil
		})
	}
	return st
}

// changed lists, sorted, the files added, removed or changed from s to
// now, leaving out those at or under a path of ignore.
func (s stamp) changed(now stamp, ignore []string) []string {
	var out []string
	// Compared with links resolved on both sides: a snapshot folder
	// reached through a link in the tree is walked under its target.
	var skip []string
	for _, p := range ignore {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		skip = append(skip, p, resolved(p))
	}
	ignored := func(path string) bool {
		for _, q := range []string{path, resolved(path)} {
			for _, p := range skip {
				if q == p || strings.HasPrefix(q, p+string(filepath.Separator)) {
					return true
				}
			}
		}
		return false
	}
	for path, a := range s {
		if b, ok := now[path]; (!ok || a.size != b.size || !a.mod.Equal(b.mod)) && !ignored(path) {
			out = append(out, path)
		}
	}
	for path := range now {
		if _, ok := s[path]; !ok && !ignored(path) {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}
