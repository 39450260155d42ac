package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/metrics"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// Scaffold implements the scaffolder's rendering activities and its built-in
// file and debug actions. Every file operation goes through the task's
// workspace root.
type Scaffold struct {
	// Policy decides, for catalog:fetch, which entities the run's user may
	// read, as the catalog API would (nil: permission.enabled is false).
	Policy *permission.Policy
	// Metrics records steps and run outcomes (nil: none).
	Metrics    *metrics.Metrics
	Renderer   *templates.Renderer
	Workspaces Workspaces
	Logger     *slog.Logger
	// HTTP fetches remote skeletons and files; it must be a netguard
	// client limited to scaffolder.allowedHosts. Nil refuses remote URLs.
	HTTP *http.Client
	// Git clones the repositories of git tree URLs and of templates read
	// from git locations; its policy is scaffolder.allowedHosts.
	Git GitSource
	// Secrets holds the tasks' secrets; nil refuses tasks that have some.
	Secrets SecretSource
	// Catalog backs catalog:fetch and catalog:register; nil disables them.
	Catalog *Catalog
	// Entities, when set, is what catalog:fetch reads instead of the
	// catalog store (rigger template test's fixture of entities).
	Entities EntityReader
	// SkeletonFake, when set, stands in for remote skeletons (rigger
	// template test's fetch fakes): a fetch:* of an http(s) url, or of a
	// relative one that leaves the template's folder (../, in its
	// repository), that it answers (ok) reads the local folder or file at
	// path instead; an error refuses the fetch with it. Never set by a
	// server or worker.
	SkeletonFake func(url string) (path string, ok bool, err error)
	// RegisteredDir keeps the catalog files catalog:register registers from
	// a task workspace (the catalog re-reads them on every refresh).
	RegisteredDir string
	// RefreshInterval is the refresh period of locations it registers.
	RefreshInterval time.Duration
	// Trust verifies runs for the Checked* activities; nil refuses them.
	Trust *RunTrust
	// Audit receives the runs' outcomes; nil records none.
	Audit audit.Recorder
	// Waits records rigger:wait-for's waits for the webhooks; nil refuses
	// waits on GitHub events (callbacks need none).
	Waits WaitTable

	// Live, when set, wins over HTTP and Git: a configuration reload
	// swaps it.
	Live *Swapped[ScaffoldFetch]
	// Disabled, when set, is the live scaffolder.disabledActions: every
	// step activity asks it before running, so a task compiled before a
	// reload switched its action off (and resuming from an approval or a
	// wait) fails at that step instead of running it. Nil checks nothing.
	Disabled ActionSwitch
}

// ActionSwitch says whether scaffolder.disabledActions switches an action
// off now (contract.Registry, whose set a configuration reload replaces).
// It answers for every name the configuration lists, registered here or
// not (an external action this process does not declare is off too).
type ActionSwitch interface {
	SwitchedOff(name string) bool
}

// EntityReader reads one entity by its canonical ref; a missing one is
// errs.ErrNotFound.
type EntityReader interface {
	EntityByRef(ctx context.Context, ref string) (*store.StoredEntity, error)
}

// maxLoggedFile bounds what debug:log shows of one file.
const maxLoggedFile = 64 << 10

func tctx(c contract.ScaffoldContext) templates.Context {
	var secrets map[string]string
	if len(c.Secrets) > 0 {
		secrets = make(map[string]string, len(c.Secrets))
		for _, name := range c.Secrets {
			secrets[name] = contract.SecretRef(c.SecretNonce, name)
		}
	}
	return templates.Context{TaskID: c.TaskID, Parameters: c.Parameters, Steps: c.Steps, User: templates.User{Ref: c.UserRef, Entity: c.UserEntity}, Secrets: secrets}
}

// invalid is a failure no retry can fix (a bad template or input).
func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
}

// executed logs one execution of an action (operators see it; tests count it
// to prove a finished step never runs again after a crash).
func (s *Scaffold) executed(ctx context.Context, action string, in contract.ActionInput) {
	attempt := int32(0)
	if activity.IsActivity(ctx) {
		attempt = activity.GetInfo(ctx).Attempt
	}
	s.Logger.InfoContext(ctx, "action executed", "action", action, "task_id", in.TaskID, "step_id", in.StepID, "attempt", attempt)
}

// Render implements contract.ScaffoldRender.
//
// Everything one step renders (if, each and the input of every item)
// shares one budget of the renderer's limits, and stops when actx ends.
func (s *Scaffold) Render(actx context.Context, in contract.RenderInput) (contract.RenderOutput, error) {
	ctx := tctx(in.Context)
	ctx.Budget = s.Renderer.NewBudget(actx)
	if in.If != nil {
		ok, err := s.Renderer.EvalCondition(in.If, ctx)
		if err != nil {
			return contract.RenderOutput{}, invalid(fmt.Errorf("step %s: if: %w", in.StepID, err))
		}
		if !ok {
			return contract.RenderOutput{Skip: true}, nil
		}
	}
	var eachItems []templates.Each
	if in.Each != nil {
		items, err := s.Renderer.EachItems(in.Each, ctx)
		if err != nil {
			return contract.RenderOutput{}, invalid(fmt.Errorf("step %s: each: %w", in.StepID, err))
		}
		eachItems = items
	}
	render := func(each *templates.Each) (contract.RenderedItem, error) {
		c := ctx
		c.Each = each
		v, err := s.Renderer.RenderValue(in.Input, c)
		if err != nil {
			return contract.RenderedItem{}, invalid(fmt.Errorf("step %s: input: %w", in.StepID, err))
		}
		m, _ := v.(map[string]any)
		if m == nil && v != nil {
			return contract.RenderedItem{}, invalid(fmt.Errorf("step %s: input must be an object", in.StepID))
		}
		item := contract.RenderedItem{Input: m}
		if each != nil {
			item.EachKey = each.Key
		}
		return item, nil
	}
	var out contract.RenderOutput
	if in.Each == nil {
		item, err := render(nil)
		if err != nil {
			return out, err
		}
		out.Items = []contract.RenderedItem{item}
		return out, nil
	}
	for i := range eachItems {
		item, err := render(&eachItems[i])
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// RenderTemplateOutput implements contract.ScaffoldRenderOutput.
func (s *Scaffold) RenderTemplateOutput(actx context.Context, in contract.RenderOutputInput) (map[string]any, error) {
	ctx := tctx(in.Context)
	ctx.Budget = s.Renderer.NewBudget(actx)
	out, err := s.Renderer.RenderOutput(in.Output, ctx)
	if err != nil {
		return nil, invalid(fmt.Errorf("output: %w", err))
	}
	// The output is shown to users: a secret stays hidden.
	masked, _ := maskSecretRefs(out).(map[string]any)
	return masked, nil
}

func str(in map[string]any, key string) (string, error) {
	v, ok := in[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("input %s must be a string", key)
	}
	return s, nil
}

// DebugLog implements debug:log: message, and listWorkspace (true or
// "with-filenames" lists files; "with-contents" also shows them, read through
// the workspace root).
func (s *Scaffold) DebugLog(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	msg, err := str(in.Input, "message")
	if err != nil {
		return out, invalid(err)
	}
	if msg != "" {
		out.Logs = append(out.Logs, msg)
	}
	mode := in.Input["listWorkspace"]
	if mode == nil || mode == false {
		return out, nil
	}
	root, err := s.Workspaces.Open(in.TaskID)
	if err != nil {
		return out, err
	}
	defer root.Close()
	var files []string
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("list workspace: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		if mode != "with-contents" {
			out.Logs = append(out.Logs, f)
			continue
		}
		fh, err := root.Open(f)
		if err != nil {
			return out, invalid(rootErr("listWorkspace", f, err))
		}
		data, err := io.ReadAll(io.LimitReader(fh, maxLoggedFile))
		fh.Close()
		if err != nil {
			return out, invalid(rootErr("listWorkspace", f, err))
		}
		out.Logs = append(out.Logs, f+":\n"+string(data))
	}
	return out, nil
}

// FsWrite implements fs:write: path, content.
func (s *Scaffold) FsWrite(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	p, err := str(in.Input, "path")
	if err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	content, err := str(in.Input, "content")
	if err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	return s.writeFile(in.TaskID, "path", p, []byte(content))
}

func stringList(in map[string]any, key string) ([]string, error) {
	raw, ok := in[key].([]any)
	if !ok {
		return nil, fmt.Errorf("input %s must be a list of paths", key)
	}
	out := make([]string, 0, len(raw))
	for i, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("input %s[%d] must be a string", key, i)
		}
		out = append(out, s)
	}
	return out, nil
}

// FsDelete implements fs:delete: files (paths or globs inside the workspace).
func (s *Scaffold) FsDelete(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	files, err := stringList(in.Input, "files")
	if err != nil {
		return out, invalid(err)
	}
	root, err := s.Workspaces.Open(in.TaskID)
	if err != nil {
		return out, err
	}
	defer root.Close()
	for i, f := range files {
		field := fmt.Sprintf("files[%d]", i)
		clean, err := workspacePath(field, f)
		if err != nil {
			return out, invalid(err)
		}
		if clean == "." {
			return out, invalid(&errPath{field, f, "refusing to delete the whole workspace"})
		}
		matches, err := fs.Glob(root.FS(), filepath.ToSlash(clean))
		if err != nil {
			return out, invalid(&errPath{field, f, "is not a valid pattern"})
		}
		for _, m := range matches {
			gone, _ := walkUsage(root, m)
			if err := root.RemoveAll(m); err != nil {
				s.Workspaces.forget(in.TaskID)
				return out, invalid(rootErr(field, m, err))
			}
			s.Workspaces.removed(in.TaskID, gone)
			out.Logs = append(out.Logs, "deleted "+m)
		}
	}
	return out, nil
}

// FsRename implements fs:rename: files [{from, to, overwrite}].
func (s *Scaffold) FsRename(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	raw, ok := in.Input["files"].([]any)
	if !ok {
		return out, invalid(errors.New("input files must be a list of {from, to}"))
	}
	root, err := s.Workspaces.Open(in.TaskID)
	if err != nil {
		return out, err
	}
	defer root.Close()
	for i, item := range raw {
		m, _ := item.(map[string]any)
		from, err1 := str(m, "from")
		to, err2 := str(m, "to")
		if m == nil || err1 != nil || err2 != nil {
			return out, invalid(fmt.Errorf("files[%d] must be {from, to} strings", i))
		}
		src, err := workspacePath(fmt.Sprintf("files[%d].from", i), from)
		if err != nil {
			return out, invalid(err)
		}
		dst, err := workspacePath(fmt.Sprintf("files[%d].to", i), to)
		if err != nil {
			return out, invalid(err)
		}
		var gone wsUsage // what an overwritten file held
		if info, err := root.Lstat(dst); err == nil {
			if m["overwrite"] != true {
				return out, invalid(&errPath{fmt.Sprintf("files[%d].to", i), to, "already exists (set overwrite: true)"})
			}
			if info.Mode().IsRegular() {
				gone = wsUsage{bytes: info.Size(), files: 1}
			}
		}
		if dir := filepath.Dir(dst); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return out, invalid(rootErr(fmt.Sprintf("files[%d].to", i), to, err))
			}
		}
		if err := root.Rename(src, dst); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return out, invalid(&errPath{fmt.Sprintf("files[%d].from", i), from, "does not exist"})
			}
			return out, invalid(rootErr(fmt.Sprintf("files[%d]", i), from+" -> "+to, err))
		}
		s.Workspaces.removed(in.TaskID, gone)
		out.Logs = append(out.Logs, "renamed "+src+" to "+dst)
	}
	return out, nil
}
