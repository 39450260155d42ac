package permission

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadErrorsNameFileAndLine: a policy that does not parse or does not
// fit the model is refused, naming the file, the line and what is wrong.
func TestLoadErrorsNameFileAndLine(t *testing.T) {
	ok := "permit (principal, action == Rigger::Action::\"catalog.entity.read\", resource);\n"
	cases := []struct {
		name, text string
		want       []string
	}{
		{"syntax", ok + "\npermit (principal, action, resource) when { resource.kind == };\n", []string{"p.cedar:3:", "invalid primary"}},
		{"unknown action", ok + "permit (principal, action == Rigger::Action::\"catalog.entity.reed\", resource);\n",
			[]string{"p.cedar:2:1", `unknown action "catalog.entity.reed"`}},
		{"unknown action in a condition", "// x\n\n@id(\"p1\")\npermit (principal, action, resource) when { action == Rigger::Action::\"nope\" };\n",
			[]string{"p.cedar:3:1", "policy p1", `unknown action "nope"`}},
		{"unknown entity type", ok + "permit (principal is Rigger::Usr, action, resource);\n", []string{"p.cedar:2:1", "unknown entity type Rigger::Usr"}},
		{"unknown attribute", ok + "permit (principal, action, resource is Rigger::Entity) when { resource.ownr == \"x\" };\n",
			[]string{"p.cedar:2:1", "resource.ownr: no such attribute on Rigger::Entity"}},
		{"attribute of another principal type", "permit (principal is Rigger::User, action, resource) when { principal.scopes.contains(\"x\") };\n",
			[]string{"p.cedar:1:1", "principal.scopes: no such attribute on Rigger::User"}},
		{"in on a string", "permit (principal, action, resource) when { resource.owner in principal.ent };\n",
			[]string{"p.cedar:1:1", "principal.ent.contains(resource.owner)"}},
		{"context", "permit (principal, action, resource) when { context.ip == \"x\" };\n", []string{"p.cedar:1:1", "context.ip"}},
		{"action scope of another type", "permit (principal, action == Rigger::User::\"x\", resource);\n", []string{"p.cedar:1:1", "not a Rigger::Action"}},
		{"duplicate id", "@id(\"a\")\npermit (principal, action, resource);\n@id(\"a\")\nforbid (principal, action, resource);\n",
			[]string{"p.cedar:3:1", `policy id "a" is used twice`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			good := filepath.Join(dir, "good.cedar")
			bad := filepath.Join(dir, "p.cedar")
			if err := os.WriteFile(good, []byte(ok), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bad, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load([]string{good, bad})
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	t.Run("not a policy file quotes none of it", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "shadow")
		if err := os.WriteFile(bad, []byte("\n// x\nroot:$6$saltsalt$hash:19000:0:99999:7:::\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load([]string{bad})
		if err == nil || !strings.Contains(err.Error(), "shadow: not a Cedar policy file") || strings.Contains(err.Error(), "root") {
			t.Errorf("error %v: want one naming the file as no policy file, quoting nothing of it", err)
		}
	})
	if _, err := Load([]string{filepath.Join(t.TempDir(), "missing.cedar")}); err == nil || !strings.Contains(err.Error(), "missing.cedar") {
		t.Errorf("missing file: %v", err)
	}
}

// TestDefaultPolicy: the built-in default is valid, translates whole into
// store filters (no warnings) and is the file shipped in examples/policies.
func TestDefaultPolicy(t *testing.T) {
	p, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Warnings(); len(w) > 0 {
		t.Errorf("default policy has untranslatable conditions: %q", w)
	}
	example, err := os.ReadFile("../../examples/policies/default.cedar")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(example, defaultPolicy) {
		t.Error("examples/policies/default.cedar differs from internal/permission/default.cedar: keep them the same")
	}
}

// TestAuthorizeReasons: a denial says which policy forbade, and where, or
// that no policy permits; admins are allowed everything.
func TestAuthorizeReasons(t *testing.T) {
	p, err := Parse("p.cedar", []byte(`permit (principal is Rigger::User, action, resource is Rigger::Entity);
@id("no-secrets")
forbid (principal, action == Rigger::Action::"catalog.entity.read", resource)
when { resource.annotations has "secret" };
`))
	if err != nil {
		t.Fatal(err)
	}
	alice := Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	secret, err := EntityResource([]byte(`{"kind":"Component","metadata":{"name":"x","annotations":{"secret":"1"}},"spec":{"owner":"team-a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Authorize(alice, EntityRead, secret)
	if d.Allowed || d.Reason != `policy no-secrets (p.cedar:2:1) forbids catalog.entity.read on Rigger::Entity::"component:default/x" for Rigger::User::"user:default/alice"` {
		t.Errorf("forbidden: %+v", d)
	}
	if d := p.Authorize(alice, EntityRefresh, secret); !d.Allowed || !strings.Contains(d.Reason, "p.cedar:1:1") {
		t.Errorf("permitted: %+v", d)
	}
	plain, err := EntityResource([]byte(`{"kind":"Component","metadata":{"name":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	guest := Principal{Ref: "user:default/guest", Guest: true}
	if d := p.Authorize(guest, EntityRead, plain); d.Allowed || d.Reason != `no policy permits catalog.entity.read on Rigger::Entity::"component:default/x" for Rigger::Guest::"guest"` {
		t.Errorf("guest: %+v", d)
	}
	admin := p.WithAdmins([]string{"group:default/Team-A"})
	if d := admin.Authorize(alice, EntityRead, secret); !d.Allowed || !strings.Contains(d.Reason, "admin") {
		t.Errorf("admin: %+v", d)
	}
	if d := p.Authorize(alice, EntityRead, secret); d.Allowed {
		t.Error("WithAdmins changed the original policy")
	}
}

// TestUpperCaseTargetWarns: a rule comparing resource.target with text in
// upper case never matches a GitHub target (lower case): loading says so,
// for like and ==; an ARN (case-sensitive) and lower case pass quietly.
func TestUpperCaseTargetWarns(t *testing.T) {
	p, err := Parse("t.cedar", []byte(`
forbid (principal, action, resource is Rigger::ScaffolderAction) when { resource.target like "github.com/Acme/secret*" };
forbid (principal, action, resource is Rigger::ScaffolderAction) when { "github.com/acme/X" == resource.target };
forbid (principal, action, resource is Rigger::ScaffolderAction) when { resource.target like "arn:aws:s3:::bucket/Teams/*" };
forbid (principal, action, resource is Rigger::ScaffolderAction) when { resource.target like "github.com/acme/*" };
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings() {
		if strings.Contains(w, "upper case") {
			got = append(got, w)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], `"github.com/Acme/secret*"`) || !strings.Contains(got[0], "t.cedar:2") || !strings.Contains(got[1], `github.com/acme/X`) {
		t.Fatalf("warnings: %q", got)
	}
}

// TestReplaceSwapsRulesForEveryHolder: a reload swaps the rules in place,
// so every component holding the *Policy decides with the new ones, and
// the admins come with the replacement.
func TestReplaceSwapsRulesForEveryHolder(t *testing.T) {
	deny, err := Parse("deny.cedar", []byte(`forbid (principal, action, resource);`))
	if err != nil {
		t.Fatal(err)
	}
	held := deny.WithAdmins(nil)
	allow, err := Parse("allow.cedar", []byte(`permit (principal is Rigger::User, action == Rigger::Action::"config.read", resource);`))
	if err != nil {
		t.Fatal(err)
	}
	alice := Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice"}}
	if held.Authorize(alice, ConfigRead, SystemResource("config")).Allowed {
		t.Fatal("allowed before the replacement")
	}
	held.Replace(allow.WithAdmins([]string{"user:default/bob"}))
	if d := held.Authorize(alice, ConfigRead, SystemResource("config")); !d.Allowed || !strings.Contains(d.Reason, "allow.cedar") {
		t.Fatalf("after Replace: %+v", d)
	}
	bob := Principal{Ref: "user:default/bob", Ent: []string{"user:default/bob"}}
	if d := held.Authorize(bob, TokenRevoke, SystemResource("tokens")); !d.Allowed {
		t.Fatalf("admins of the replacement: %+v", d)
	}
	if deny.Authorize(alice, ConfigRead, SystemResource("config")).Allowed {
		t.Fatal("Replace changed the policy WithAdmins was called on")
	}
}
