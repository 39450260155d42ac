package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The action inventory: the API and the CLI say which templates use which
// actions, and a start-up whose scaffolder.disabledActions breaks a stored
// template warns (default) or, with disabledActionsPolicy: refuse-if-used,
// refuses to start, naming the template.
func TestActionInventory(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(dir, "skeleton", "README.md"), []byte("${{ values.name }}\n"), 0o644)
	ps := freePorts(t)
	// scaffolder settings go in the block templateConfig writes.
	config := func(scaffolder string) string {
		cfg := templateConfig(t, dir, testTemplate, "")
		data, _ := os.ReadFile(cfg)
		text := strings.Replace(string(data), "scaffolder:\n", "scaffolder:\n"+scaffolder, 1)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	p := startDevOn(t, dir, config(""), ps)
	waitTotal(t, p.api, "kind=template", 1)

	var inv struct {
		Actions []struct {
			ID, Status, Queue string
			Templates         []string
		}
		Templates []struct {
			Ref     string
			Actions []string
		}
	}
	if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/inventory", nil, &inv); code != http.StatusOK {
		t.Fatalf("GET inventory: %d", code)
	}
	found := false
	for _, a := range inv.Actions {
		if a.ID == "fs:write" {
			found = true
			if a.Status != "available" || a.Queue != "rigger-default" || len(a.Templates) != 1 || a.Templates[0] != "template:default/hello-files" {
				t.Errorf("fs:write in the inventory: %+v", a)
			}
		}
	}
	if !found || len(inv.Templates) != 1 || strings.Join(inv.Templates[0].Actions, ",") != "debug:log,debug:wait,fetch:template,fs:write" {
		t.Errorf("inventory: %+v", inv)
	}
	cli := start(t, dir, cleanEnv("RIGGER_SERVER="+p.api), "template", "inventory", "--disable", "fs:write,fs:delete")
	if code := cli.wait(t, 60*time.Second); code != 1 || !strings.Contains(cli.stdout.String(), "fs:write: used by 1 template(s): template:default/hello-files") ||
		!strings.Contains(cli.stdout.String(), "fs:delete: no template uses it") {
		t.Errorf("template inventory --disable: exit %d\n%s\n%s", code, cli.stdout.String(), cli.stderr.String())
	}
	cli = start(t, dir, cleanEnv("RIGGER_SERVER="+p.api), "template", "inventory")
	if code := cli.wait(t, 60*time.Second); code != 0 || !strings.Contains(cli.stdout.String(), "fs:write") || !strings.Contains(cli.stdout.String(), "template:default/hello-files") {
		t.Errorf("template inventory: exit %d\n%s\n%s", code, cli.stdout.String(), cli.stderr.String())
	}
	stop := func(p *proc) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.wait(t, 60*time.Second)
	}
	stop(p)

	// refuse-if-used: the stored template uses fs:write, so start-up stops.
	refused := start(t, dir, cleanEnv(), "dev", "--config", config("  disabledActions: [fs:write]\n  disabledActionsPolicy: refuse-if-used\n"),
		"--data-dir", filepath.Join(dir, "data"), "--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
	if code := refused.wait(t, 90*time.Second); code == 0 || !strings.Contains(refused.stderr.String(), "scaffolder.disabledActions: fs:write is used by template:default/hello-files") {
		t.Fatalf("refuse-if-used: exit %d\n%s", code, tail(refused.stderr.String(), 4096))
	}
	// warn (the default): it starts and says which template breaks.
	p = startDevOn(t, dir, config("  disabledActions: [fs:write]\n"), ps)
	if !strings.Contains(p.stdout.String(), "warning: scaffolder.disabledActions: fs:write is used by template:default/hello-files") {
		t.Errorf("no warning at start:\n%s", p.stdout.String())
	}
	stop(p)
}
