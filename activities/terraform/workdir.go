package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/sandbox"
)

// The plan file, inside the step's directory. The dot directory keeps it
// out of what later steps fetch or publish.
const (
	planDir  = ".rigger"
	planFile = planDir + "/tfplan"
)

// workdir is one action's terraform: its directory in the workspace, a
// private temp directory (HOME, TMPDIR, the CLI config, the copy of an
// applied plan) and the tfexec handle with the scrubbed environment.
type workdir struct {
	// rel is the directory as the step named it (slash-separated, clean).
	rel string
	// abs is its absolute path, where terraform runs.
	abs string
	// root is the directory, for the plan file.
	root *os.Root
	// private is the temp directory only this action uses.
	private string
	tf      *tfexec.Terraform
	// release puts tf back for the next action (nil: it is not kept).
	release func()
	// warning says what the sandbox could not confine ("" when nothing).
	warning string
}

// open resolves the step's dir inside workspace, writes the CLI config
// and builds the tfexec handle with the scrubbed environment plus extra
// (the step's AWS session, which needs the network), through the
// sandbox when there is one.
func (s *service) open(workspace, dir string, extra map[string]string, withAWS bool) (*workdir, error) {
	rel, err := checkDir(workspace, dir)
	if err != nil {
		return nil, err
	}
	ws, err := os.OpenRoot(workspace)
	if err != nil {
		return nil, fmt.Errorf("open the workspace: %w", err)
	}
	defer ws.Close()
	root, err := ws.OpenRoot(rel)
	if err != nil {
		return nil, fmt.Errorf("%w: dir %q: %v", errs.ErrInvalid, dir, relErr(err, workspace))
	}
	w := &workdir{rel: rel, abs: filepath.Join(workspace, filepath.FromSlash(rel)), root: root}
	if w.private, err = os.MkdirTemp(s.tmp, "rigger-terraform-"); err != nil {
		root.Close()
		return nil, err
	}
	env, err := s.environment(w)
	maps.Copy(env, extra)
	if err != nil {
		w.close()
		return nil, err
	}
	if s.onEnv != nil {
		s.onEnv(maps.Clone(env))
	}
	exe, tfDir := s.bin, w.abs
	if s.sbx != nil {
		sh, err := s.sbx.Shim(s.spec(workspace, w, withAWS), filepath.Join(w.private, "sandbox.json"))
		if err != nil {
			w.close()
			return nil, fmt.Errorf("sandbox for terraform: %w", err)
		}
		exe, w.warning = sh.Exe, sh.Warning
		env[sh.EnvKey] = sh.EnvValue
		// The helper starts in / and changes to the spec's Dir (w.abs)
		// before it execs terraform: the handle serves any directory.
		tfDir = ""
	}
	if err := w.handle(s, exe, tfDir, env); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// handle gives w a tfexec handle for exe in dir ("": any, see handles)
// with env: an idle one that already knows the binary's version when
// there is one, else a new one; close keeps it for the next action.
func (w *workdir) handle(s *service, exe, dir string, env map[string]string) error {
	bin, ok := identify(s.bin)
	key := handleKey{exe: exe, dir: dir, bin: bin}
	if ok {
		w.tf = s.handles.take(key)
	}
	if w.tf == nil {
		wd := dir
		if wd == "" {
			wd = "/"
		}
		tf, err := tfexec.NewTerraform(wd, exe)
		if err != nil {
			return err
		}
		w.tf = tf
	}
	if err := w.tf.SetEnv(env); err != nil {
		w.tf = nil
		return err
	}
	if ok {
		w.release = func() { s.handles.put(key, w.tf) }
	}
	return nil
}

// spec is the sandbox of w's terraform processes: it writes the task's
// workspace and the private HOME and TMPDIR (its provider sockets); it
// reads the private directory (the CLI config, the plan copy), the
// binary and a filesystem mirror; it has the network only when the step
// needs it: an AWS session, a network mirror, or registry downloads.
func (s *service) spec(workspace string, w *workdir, withAWS bool) sandbox.Spec {
	mirror := s.cfg.PluginMirror
	network := withAWS || strings.Contains(mirror, "://") || (mirror == "" && s.cfg.AllowDownloads)
	ro := []string{w.private}
	if mirror != "" && !strings.Contains(mirror, "://") {
		ro = append(ro, mirror)
	}
	return sandbox.Spec{
		Path:     s.bin,
		Args:     []string{filepath.Base(s.bin)},
		Dir:      w.abs,
		ReadOnly: ro,
		Writable: []string{workspace, filepath.Join(w.private, "home"), filepath.Join(w.private, "tmp")},
		Network:  network,
	}
}

func (w *workdir) close() {
	if w.release != nil {
		w.release()
	}
	w.root.Close()
	_ = os.RemoveAll(w.private)
}

// environment is everything terraform's process sees, apart from the
// variables tfexec adds itself (TF_IN_AUTOMATION, its user agent, the
// TF_LOG family cleared): nothing comes from the worker's environment.
func (s *service) environment(w *workdir) (map[string]string, error) {
	home := filepath.Join(w.private, "home")
	tmp := filepath.Join(w.private, "tmp")
	empty := filepath.Join(w.private, "no-providers")
	for _, d := range []string{home, tmp, empty} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	rc := filepath.Join(w.private, "terraform.rc")
	if err := os.WriteFile(rc, []byte(s.cfg.CLIConfig(empty)), 0o600); err != nil {
		return nil, err
	}
	return map[string]string{
		"PATH":               s.path,
		"HOME":               home,
		"TMPDIR":             tmp,
		"CHECKPOINT_DISABLE": "1",
		"TF_CLI_CONFIG_FILE": rc,
		"TF_DATA_DIR":        filepath.Join(w.abs, ".terraform"),
	}, nil
}

// checkDir checks that dir names a directory of the workspace reached
// without "..", an absolute path or a symbolic link, and returns it
// cleaned and slash-separated.
func checkDir(workspace, dir string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: dir %q: %s", errs.ErrInvalid, dir, why)
	}
	if dir == "" {
		return "", bad("want a directory of the workspace, relative to it (\".\" for the workspace itself)")
	}
	slash := filepath.ToSlash(dir)
	if filepath.IsAbs(dir) || strings.HasPrefix(slash, "/") {
		return "", bad("an absolute path; want one relative to the workspace")
	}
	for _, part := range strings.Split(slash, "/") {
		if part == ".." {
			return "", bad("leaves the workspace through \"..\"")
		}
	}
	rel := path.Clean(slash)
	ws, err := os.OpenRoot(workspace)
	if err != nil {
		return "", fmt.Errorf("open the workspace: %w", err)
	}
	defer ws.Close()
	if rel == "." {
		return rel, nil
	}
	// Every component must be a real directory: a link, even one that
	// stays inside, would let the directory change under the step.
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := ws.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", bad("no such directory in the workspace")
		case err != nil:
			return "", bad(relErr(err, workspace))
		case fi.Mode()&fs.ModeSymlink != 0:
			return "", bad(p + " is a symbolic link")
		case !fi.IsDir():
			return "", bad(p + " is not a directory")
		}
	}
	return rel, nil
}

// relErr drops the workspace's absolute path from an os error.
func relErr(err error, workspace string) string {
	return strings.ReplaceAll(err.Error(), workspace+string(filepath.Separator), "")
}

// preparePlan makes .rigger (a real directory) and removes any old plan
// file, so terraform writes a new file and never through a link.
func (w *workdir) preparePlan() error {
	if err := w.root.Mkdir(planDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("make %s/%s: %w", w.rel, planDir, err)
	}
	fi, err := w.root.Lstat(planDir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s/%s is not a directory", errs.ErrInvalid, w.rel, planDir)
	}
	if err := w.root.Remove(planFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the old plan: %w", err)
	}
	return nil
}

// readPlan returns the plan file's bytes and their SHA-256 (hex).
func (w *workdir) readPlan() ([]byte, string, error) {
	fi, err := w.root.Lstat(planFile)
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s/%s is not a regular file", w.rel, planFile)
	}
	data, err := w.root.ReadFile(planFile)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// show reads the plan file as JSON and as text, with two terraform
// processes at once: both only read the same private file (and the
// version terraform-exec checks first is known by then, from init).
func (w *workdir) show(ctx context.Context, file string) (*tfjson.Plan, string, error) {
	var (
		text    string
		textErr error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		text, textErr = w.tf.ShowPlanFileRaw(ctx, file)
	}()
	p, err := w.tf.ShowPlanFile(ctx, file)
	<-done
	if err := errors.Join(err, textErr); err != nil {
		return nil, "", err
	}
	return p, text, nil
}

// initialize runs terraform init: the backend the directory declares
// (the local one in the directory when it declares none), no upgrades.
func (w *workdir) initialize(ctx context.Context) error {
	if err := w.tf.Init(ctx, tfexec.Upgrade(false)); err != nil {
		return fmt.Errorf("terraform init in %s: %w", w.rel, err)
	}
	return nil
}
