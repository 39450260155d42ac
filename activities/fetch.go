package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// Skeleton limits: a template's skeleton is data, bounded like any input.
const (
	maxSkeletonFiles = 2000
	maxSkeletonBytes = 32 << 20
	maxSkeletonFile  = 4 << 20
)

// skeletonDir resolves a relative fetch url against the base URL of a
// template read from a file location (e.g. file:///srv/templates/go/template.yaml)
// and opens the directory as an os.Root confined to the template's own
// directory: a skeleton reference cannot climb out of the folder the
// template lives in (a template from a git location may use its whole
// repository; see openSkeleton).
func skeletonDir(baseURL, ref string) (*os.Root, string, error) {
	base, err := url.Parse(baseURL)
	if err != nil || base.Scheme != "file" {
		return nil, "", fmt.Errorf("url %q: the template has no local base location to resolve it against", ref)
	}
	templateDir := filepath.Dir(base.Path)
	rel := path.Clean(ref)
	if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, "", fmt.Errorf("url %q leaves the template's directory", ref)
	}
	root, err := os.OpenRoot(templateDir)
	if err != nil {
		return nil, "", fmt.Errorf("open template directory: %w", err)
	}
	if _, err := root.Stat(rel); err != nil {
		root.Close()
		return nil, "", rootErr("url", ref, err)
	}
	return root, rel, nil
}

type skeletonFile struct {
	rel  string // path relative to the skeleton dir, slash-separated
	data []byte
	mode fs.FileMode
}

// readSkeleton collects the regular files under dir; links and other special
// files are refused (a skeleton is copied into a workspace, and a link there
// could point anywhere).
func readSkeleton(root *os.Root, dir string) ([]skeletonFile, error) {
	var out []skeletonFile
	total := 0
	err := fs.WalkDir(root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("skeleton entry %s is a symlink or special file; skeletons may only contain regular files", p)
		}
		if len(out) >= maxSkeletonFiles {
			return fmt.Errorf("skeleton has more than %d files", maxSkeletonFiles)
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(f, maxSkeletonFile+1))
		f.Close()
		if err != nil {
			return err
		}
		if len(data) > maxSkeletonFile {
			return fmt.Errorf("skeleton file %s is larger than %d bytes", p, maxSkeletonFile)
		}
		if total += len(data); total > maxSkeletonBytes {
			return fmt.Errorf("skeleton is larger than %d bytes", maxSkeletonBytes)
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		mode := fs.FileMode(0o644)
		if info != nil && info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		out = append(out, skeletonFile{rel: filepath.ToSlash(rel), data: data, mode: mode})
		return nil
	})
	return out, err
}

func globList(in map[string]any, key string) ([]string, error) {
	if in[key] == nil {
		return nil, nil
	}
	return stringList(in, key)
}

// cookiecutterGlob marks a copyWithoutRender pattern that came from
// cookiecutter.json's _copy_without_render: it matches as cookiecutter's own
// (Python fnmatch, where * also crosses /), against the path with and
// without the skeleton's top folder.
const cookiecutterGlob = "\x00cookiecutter:"

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if cc, ok := strings.CutPrefix(pat, cookiecutterGlob); ok {
			_, inner, nested := strings.Cut(p, "/")
			if fnmatch(cc, p) || nested && fnmatch(cc, inner) {
				return true
			}
			continue
		}
		pat = strings.TrimPrefix(path.Clean("/"+pat), "/")
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
		// A directory pattern covers what is below it.
		if strings.HasPrefix(p, strings.TrimSuffix(pat, "/**")+"/") && (strings.HasSuffix(pat, "/**") || !strings.ContainsAny(pat, "*?[")) {
			return true
		}
		if strings.HasPrefix(pat, "**/") {
			if ok, _ := path.Match(strings.TrimPrefix(pat, "**/"), path.Base(p)); ok {
				return true
			}
		}
	}
	return false
}

// fnmatch reports whether name matches pattern as Python's fnmatch does:
// * is any run of characters (/ included), ? one character, [seq] and
// [!seq] a character class; everything else is literal.
func fnmatch(pattern, name string) bool {
	var b strings.Builder
	b.WriteString("^(?s:")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end <= 0 { // no closing ] (or "[]"): a literal [
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			} else if strings.HasPrefix(class, "^") {
				class = `\` + class
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(")$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(name)
}

// writeInto writes files below targetPath in the task workspace; with
// keepExisting, files already there are left as they are (fetch:template
// without replace, as in Backstage).
func (s *Scaffold) writeInto(taskID, targetPath string, files []skeletonFile, keepExisting bool) ([]string, error) {
	target := "."
	if targetPath != "" {
		t, err := workspacePath("targetPath", targetPath)
		if err != nil {
			return nil, err
		}
		target = t
	}
	root, err := s.Workspaces.Open(taskID)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Where each file goes; with keepExisting, those already there are kept.
	dsts := make([]string, len(files))
	kept := make([]bool, len(files))
	writes := make([]fileWrite, 0, len(files))
	for i, f := range files {
		dst, err := workspacePath("file", path.Join(target, f.rel))
		if err != nil {
			return nil, err
		}
		dsts[i] = dst
		if keepExisting {
			if _, err := root.Lstat(dst); err == nil {
				kept[i] = true
				continue
			}
		}
		writes = append(writes, fileWrite{dst, int64(len(f.data))})
	}
	if err := s.Workspaces.reserve(taskID, root, writes); err != nil {
		return nil, err
	}
	var logs []string
	made := map[string]bool{}
	for i, f := range files {
		dst := dsts[i]
		if kept[i] {
			logs = append(logs, "kept existing "+dst+" (set replace: true to overwrite)")
			continue
		}
		if dir := filepath.Dir(dst); dir != "." && !made[dir] {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				s.Workspaces.forget(taskID)
				return logs, rootErr("targetPath", dst, err)
			}
			made[dir] = true
		}
		if err := root.WriteFile(dst, f.data, f.mode); err != nil {
			s.Workspaces.forget(taskID)
			return logs, rootErr("targetPath", dst, err)
		}
		logs = append(logs, "wrote "+dst)
	}
	return logs, nil
}

// FetchPlain implements fetch:plain: copies a skeleton directory (relative to
// the template) into targetPath, without rendering.
func (s *Scaffold) FetchPlain(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	return s.fetch(ctx, in, false)
}

// FetchTemplate implements fetch:template: like fetch:plain, but renders file
// names and contents with ${{ values.x }} (except copyWithoutTemplating /
// copyWithoutRender globs; with templateFileExtension only files with that
// extension are rendered, and lose it).
func (s *Scaffold) FetchTemplate(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	return s.fetch(ctx, in, true)
}

// FetchCookiecutter implements fetch:cookiecutter without Docker or Python:
// the skeleton is rendered in-process as fetch:template with
// cookiecutterCompat ({{ cookiecutter.x }}, the jsonify filter), with the
// defaults of its cookiecutter.json under the given values. Jinja and
// Nunjucks agree on what such skeletons use; cookiecutter hooks are not run
// (the step's log says so) and neither file is copied.
func (s *Scaffold) FetchCookiecutter(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	input := maps.Clone(in.Input)
	input["cookiecutterCompat"] = true
	in.Input = input
	return s.fetch(ctx, in, true)
}

func (s *Scaffold) fetch(ctx context.Context, in contract.ActionInput, render bool) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	ref, err := str(in.Input, "url")
	if err != nil {
		return out, invalid(err)
	}
	target, err := str(in.Input, "targetPath")
	if err != nil {
		return out, invalid(err)
	}
	files, err := s.skeleton(ctx, in, ref)
	if err != nil {
		return out, err
	}
	// One render budget for the whole action: file names, contents and
	// cookiecutter defaults share its time, output and iterations.
	budget := s.Renderer.NewBudget(ctx)
	if render && in.Input["cookiecutterCompat"] == true {
		var notes []string
		in.Input = maps.Clone(in.Input) // gets the defaults under values
		if files, notes, err = s.cookiecutterDefaults(budget, in.Input, files); err != nil {
			return out, invalid(err)
		}
		out.Logs = append(out.Logs, notes...)
	}
	if render {
		if files, err = s.renderSkeleton(budget, in.Input, files); err != nil {
			return out, invalid(err)
		}
	}
	// A quick step that ran out of its time is run again as an activity:
	// this attempt must not write beside it.
	if err := ctx.Err(); err != nil {
		return out, err
	}
	logs, err := s.writeInto(in.TaskID, target, files, render && in.Input["replace"] != true)
	out.Logs = append(out.Logs, logs...)
	if err != nil {
		return out, invalid(err)
	}
	return out, nil
}

// skeleton reads the files a fetch url names (see openSkeleton): a
// directory, or a remote .tar.gz archive fetched through the guarded client.
func (s *Scaffold) skeleton(ctx context.Context, in contract.ActionInput, ref string) ([]skeletonFile, error) {
	src, err := s.openSkeleton(ctx, in.TemplateBaseURL, ref)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if u := src.remote; u != nil {
		if !isArchive(u.Path) {
			return nil, invalid(fmt.Errorf("url %q: a remote skeleton must be a .tar.gz or .tgz archive, or a git tree URL such as https://github.com/org/repo/tree/main/dir", ref))
		}
		data, err := s.download(ctx, u, in.Input, maxSkeletonBytes)
		if err != nil {
			return nil, err
		}
		files, err := untar(data)
		if err != nil {
			return nil, invalid(fmt.Errorf("url %q: %w", ref, err))
		}
		return files, nil
	}
	files, err := readSkeleton(src.root, src.rel)
	if err != nil {
		return nil, invalid(fmt.Errorf("url %q: %w", ref, err))
	}
	return files, nil
}

// FetchPlainFile implements fetch:plain:file: one file (next to the
// template, or an http(s) URL through the guarded client) written to
// targetPath.
func (s *Scaffold) FetchPlainFile(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	ref, err := str(in.Input, "url")
	if err != nil || ref == "" {
		return contract.ActionOutput{}, invalid(errors.New("input url is required"))
	}
	target, err := str(in.Input, "targetPath")
	if err != nil || target == "" {
		return contract.ActionOutput{}, invalid(errors.New("input targetPath is required"))
	}
	var data []byte
	src, err := s.openSkeleton(ctx, in.TemplateBaseURL, ref)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	defer src.close()
	if src.remote != nil {
		if data, err = s.download(ctx, src.remote, in.Input, maxSkeletonFile); err != nil {
			return contract.ActionOutput{}, err
		}
	} else {
		files, err := readSkeleton(src.root, src.rel)
		if err != nil {
			return contract.ActionOutput{}, invalid(fmt.Errorf("url %q: %w", ref, err))
		}
		if len(files) != 1 || files[0].rel != "." {
			return contract.ActionOutput{}, invalid(fmt.Errorf("url %q is a directory; fetch:plain:file copies one file (use fetch:plain)", ref))
		}
		data = files[0].data
	}
	return s.writeFile(in.TaskID, "targetPath", target, data)
}

// renderSkeleton renders the files' names and contents, all charged to
// budget (the action's).
func (s *Scaffold) renderSkeleton(budget *templates.Budget, input map[string]any, files []skeletonFile) ([]skeletonFile, error) {
	values, _ := input["values"].(map[string]any)
	noTpl, err := globList(input, "copyWithoutTemplating")
	if err != nil {
		return nil, err
	}
	noRender, err := globList(input, "copyWithoutRender")
	if err != nil {
		return nil, err
	}
	noTpl = append(noTpl, noRender...)
	ext := ""
	switch v := input["templateFileExtension"].(type) {
	case bool:
		if v {
			ext = ".njk"
		}
	case string:
		ext = v
		if ext != "" && !strings.HasPrefix(ext, ".") {
			ext = "." + ext
		}
	case nil:
	default:
		return nil, fmt.Errorf("input templateFileExtension must be true or a file extension such as \".njk\", not %v", v)
	}
	ctx := templates.Context{Values: values, Budget: budget}
	opt := templates.TextOptions{
		Cookiecutter: input["cookiecutterCompat"] == true,
		TrimBlocks:   input["trimBlocks"] == true,
		LstripBlocks: input["lstripBlocks"] == true,
	}
	if ext != "" && (len(noTpl) > 0 || opt.Cookiecutter) {
		// As Backstage: which files render would be ambiguous.
		return nil, errors.New("input templateFileExtension cannot be combined with copyWithoutRender, copyWithoutTemplating or cookiecutterCompat")
	}
	out := make([]skeletonFile, 0, len(files))
	for _, f := range files {
		name, err := s.Renderer.RenderText(f.rel, ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("file name %s: %w", f.rel, err)
		}
		renderContent := !matchAny(noTpl, f.rel)
		if ext != "" {
			renderContent = renderContent && strings.HasSuffix(name, ext)
			name = strings.TrimSuffix(name, ext)
		}
		if renderContent {
			text, err := s.Renderer.RenderText(string(f.data), ctx, opt)
			if err != nil {
				return nil, fmt.Errorf("file %s: %w", f.rel, err)
			}
			f.data = []byte(text)
		}
		f.rel = name
		out = append(out, f)
	}
	return out, nil
}

// cookiecutterDefaults takes a cookiecutter skeleton's cookiecutter.json out
// of its files and puts its defaults under the values the step did not set,
// as cookiecutter does: in the file's order, a list's default being its
// first choice and a string default being a template over the values
// before it ("{{ cookiecutter.name | lower }}"). Its _copy_without_render
// globs join copyWithoutRender. A hooks/ folder is dropped with a note:
// hooks are not run. The defaults are rendered on budget (the action's).
func (s *Scaffold) cookiecutterDefaults(budget *templates.Budget, input map[string]any, files []skeletonFile) ([]skeletonFile, []string, error) {
	values, _ := input["values"].(map[string]any)
	values = maps.Clone(values)
	if values == nil {
		values = map[string]any{}
	}
	var notes []string
	kept := files[:0:0]
	for _, f := range files {
		switch {
		case f.rel == "cookiecutter.json":
			keys, defaults, err := orderedObject(f.data)
			if err != nil {
				return nil, nil, fmt.Errorf("cookiecutter.json: %v", err)
			}
			for _, k := range keys {
				v := defaults[k]
				if k == "_copy_without_render" {
					globs, err := stringList(defaults, k)
					if err != nil {
						return nil, nil, fmt.Errorf("cookiecutter.json: %v", err)
					}
					prev, _ := input["copyWithoutRender"].([]any)
					merged := slices.Clone(prev)
					for _, g := range globs {
						merged = append(merged, cookiecutterGlob+g)
					}
					input["copyWithoutRender"] = merged
					continue
				}
				if _, set := values[k]; set || strings.HasPrefix(k, "_") {
					continue
				}
				if choices, ok := v.([]any); ok && len(choices) > 0 {
					v = choices[0]
				}
				if str, ok := v.(string); ok && strings.Contains(str, "{") {
					out, err := s.Renderer.RenderText(str, templates.Context{Values: values, Budget: budget}, templates.TextOptions{Cookiecutter: true})
					if err != nil {
						return nil, nil, fmt.Errorf("cookiecutter.json: default of %s (pass %s in values instead): %w", k, k, err)
					}
					v = out
				}
				values[k] = v
			}
		case f.rel == "hooks" || strings.HasPrefix(f.rel, "hooks/"):
			notes = append(notes, "cookiecutter hook "+f.rel+" is not run (rigger renders cookiecutter skeletons in-process)")
		default:
			kept = append(kept, f)
		}
	}
	input["values"] = values
	return kept, notes, nil
}

// orderedObject decodes a JSON object, keeping its keys' order.
func orderedObject(data []byte) ([]string, map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	return keys, m, nil
}
