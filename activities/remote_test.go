package activities

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/netguard"
)

type tarEntry struct {
	name, body, link string
	typ              byte
}

func tarball(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// skeletonServer serves archives and files on 127.0.0.1, and redirects.
func skeletonServer(t *testing.T, t2 *testing.T) *httptest.Server {
	good := tarball(t, tarEntry{name: "repo-main/README.md", body: "# ${{ values.name }}\n"}, tarEntry{name: "repo-main/src/app.txt", body: "app"})
	withLink := tarball(t, tarEntry{name: "a.txt", body: "x"}, tarEntry{name: "passwd", typ: tar.TypeSymlink, link: "/etc/passwd"})
	withHardlink := tarball(t, tarEntry{name: "h", typ: tar.TypeLink, link: "/etc/shadow"})
	climbing := tarball(t, tarEntry{name: "../../.ssh/authorized_keys", body: "ssh-rsa evil"})
	mux := http.NewServeMux()
	serve := func(p string, data []byte) {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" && r.Header.Get("Authorization") != "Bearer s3cret" {
				http.Error(w, "bad token", http.StatusUnauthorized)
				return
			}
			w.Write(data)
		})
	}
	serve("/good.tar.gz", good)
	serve("/link.tgz", withLink)
	serve("/hardlink.tgz", withHardlink)
	serve("/climb.tar.gz", climbing)
	serve("/file.txt", []byte("plain file"))
	srv := httptest.NewServer(mux)
	mux.HandleFunc("/to-metadata.tgz", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data.tgz", http.StatusFound)
	})
	mux.HandleFunc("/to-localhost.tgz", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/good.tar.gz", http.StatusFound)
	})
	t.Cleanup(srv.Close)
	return srv
}

// TestRemoteFetchSSRF: fetch:plain, fetch:template and fetch:plain:file go
// through the guarded client; loopback, metadata, private addresses, names
// resolving to loopback and redirects to forbidden places are refused, and
// nothing is written.
func TestRemoteFetchSSRF(t *testing.T) {
	srv := skeletonServer(t, t)
	port := strings.TrimPrefix(srv.URL, "http://127.0.0.1")
	ctx := context.Background()
	// The default policy: hosts allowed by name, no special networks.
	s, _ := newScaffold(t)
	s.HTTP = netguard.NewClient(netguard.Policy{AllowedHosts: []string{"127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3"}})
	cases := []struct{ name, action, url, want string }{
		{"loopback", "fetch:plain", srv.URL + "/good.tar.gz", "loopback"},
		{"metadata", "fetch:plain", "http://169.254.169.254/latest/meta-data.tgz", "link-local"},
		{"private", "fetch:template", "http://10.1.2.3" + port + "/x.tgz", "private"},
		{"name resolving to loopback", "fetch:plain", "http://localhost" + port + "/good.tar.gz", "loopback"},
		{"file from loopback", "fetch:plain:file", srv.URL + "/file.txt", "loopback"},
		{"host not allowed", "fetch:plain:file", "https://example.com/file.txt", "not in the allowed hosts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Actions()[c.action](ctx, contract.ActionInput{TaskID: "ssrf", StepID: "s", Input: map[string]any{"url": c.url, "targetPath": "out"}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "ssrf", "out")); err == nil {
				t.Fatal("something was written")
			}
		})
	}

	// A server explicitly allowed (127.0.0.1/32, host 127.0.0.1 only): its
	// content is fetched, but its redirects to other hosts or to the
	// metadata address are still refused, and archives with links or
	// climbing names are refused.
	ok, _ := newScaffold(t)
	ok.HTTP = netguard.NewClient(netguard.Policy{AllowedHosts: []string{"127.0.0.1", "169.254.169.254"}, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	refused := []struct{ name, path, want string }{
		{"redirect to a host not allowed", "/to-localhost.tgz", "not in the allowed hosts"},
		{"redirect to metadata", "/to-metadata.tgz", "link-local"},
		{"archive with a symlink", "/link.tgz", "link or special file"},
		{"archive with a hard link", "/hardlink.tgz", "link or special file"},
		{"archive climbing out", "/climb.tar.gz", "leaves the archive"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, err := ok.Actions()["fetch:plain"](ctx, contract.ActionInput{TaskID: "allowed", StepID: "s", Input: map[string]any{"url": srv.URL + c.path, "targetPath": c.name}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if _, err := os.Stat(filepath.Join(ok.Workspaces.Dir, "allowed", c.name)); err == nil {
				t.Fatal("something was written")
			}
		})
	}
	out, err := ok.Actions()["fetch:template"](ctx, contract.ActionInput{TaskID: "allowed", StepID: "s",
		Input: map[string]any{"url": srv.URL + "/good.tar.gz", "targetPath": "svc", "values": map[string]any{"name": "svc"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(ok.Workspaces.Dir, "allowed", "svc", "README.md")); string(got) != "# svc\n" {
		t.Fatalf("README.md = %q (logs %v)", got, out.Logs)
	}
	if _, err := ok.Actions()["fetch:plain:file"](ctx, contract.ActionInput{TaskID: "allowed", StepID: "s",
		Input: map[string]any{"url": srv.URL + "/file.txt", "targetPath": "docs/file.txt", "token": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(ok.Workspaces.Dir, "allowed", "docs", "file.txt")); string(got) != "plain file" {
		t.Fatalf("file.txt = %q", got)
	}
	// Without an allow-list no remote URL is fetched at all.
	none, _ := newScaffold(t)
	if _, err := none.Actions()["fetch:plain"](ctx, contract.ActionInput{TaskID: "n", Input: map[string]any{"url": srv.URL + "/good.tar.gz"}}); err == nil || !strings.Contains(err.Error(), "allowedHosts is empty") {
		t.Fatalf("no allow-list: %v", err)
	}
}

// TestSecretsResolvedAndRedacted: a secret reference in rendered input is
// replaced by the value only inside the action, and the value is removed
// from the action's logs, output and errors.
func TestSecretsResolvedAndRedacted(t *testing.T) {
	s, _ := newScaffold(t)
	s.Secrets = sealedSecrets(t, "sec", map[string]string{"token": "hunter2-very-secret"})
	ctx := context.Background()
	in := contract.ActionInput{TaskID: "sec", StepID: "s", Secrets: true, SecretNonce: "n1",
		Input: map[string]any{"message": "token is " + contract.SecretRef("n1", "token"), "path": "f", "content": contract.SecretRef("n1", "token")}}
	out, err := s.Actions()["debug:log"](ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.Logs, "\n") != "token is ***" {
		t.Fatalf("logs = %q", out.Logs)
	}
	if _, err := s.Actions()["fs:write"](ctx, in); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "sec", "f")); string(got) != "hunter2-very-secret" {
		t.Fatalf("the action did not get the value: %q", got)
	}
	bad := in
	bad.Input = map[string]any{"path": "../" + contract.SecretRef("n1", "token"), "content": "x"}
	_, err = s.Actions()["fs:write"](ctx, bad)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "***") {
		t.Fatalf("error must name the path with the secret redacted: %v", err)
	}
	missing := in
	missing.Input = map[string]any{"message": contract.SecretRef("n1", "other")}
	if _, err := s.Actions()["debug:log"](ctx, missing); err == nil || !strings.Contains(err.Error(), "secrets.other was not given") {
		t.Fatalf("unknown secret: %v", err)
	}
	mangled := in
	mangled.Input = map[string]any{"message": strings.ToUpper(contract.SecretRef("n1", "token"))}
	if _, err := s.Actions()["debug:log"](ctx, mangled); err == nil || !strings.Contains(err.Error(), "changed by a filter") {
		t.Fatalf("a filtered secret: %v", err)
	}
	// A reference that is not this task's (forged in a parameter, or
	// carried in from a catalog entity) is never resolved.
	forged := in
	forged.Input = map[string]any{"message": contract.SecretRef("guess", "token")}
	if out, err := s.Actions()["debug:log"](ctx, forged); err == nil || !strings.Contains(err.Error(), "not this task's") || strings.Contains(fmt.Sprint(out), "hunter2") {
		t.Fatalf("forged reference: %v %v", out, err)
	}
	noStore, _ := newScaffold(t)
	if _, err := noStore.Actions()["debug:log"](ctx, in); err == nil || !strings.Contains(err.Error(), "no secret store") {
		t.Fatalf("no store: %v", err)
	}
}
