package devserver

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRefusesOtherTemporalVersion: a data dir whose temporal.db was written
// by another embedded Temporal version, or whose version stamp is missing,
// is refused with a message naming both versions (or the missing stamp),
// and the database is left untouched; nothing is started.
func TestRefusesOtherTemporalVersion(t *testing.T) {
	cases := []struct {
		name    string
		version *string
		want    []string
	}{
		{"other version", ptr("1.0.0\n"), []string{"temporal.db was written by Temporal server 1.0.0 but this rigger embeds " + ServerVersion(), "no automatic migration"}},
		{"no version stamp", nil, []string{"temporal.version cannot be read", "refusing to open a database of unknown schema version"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "temporal.db")
			if err := os.WriteFile(db, []byte("not touched"), 0o600); err != nil {
				t.Fatal(err)
			}
			if c.version != nil {
				if err := os.WriteFile(filepath.Join(dir, "temporal.version"), []byte(*c.version), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Start(Options{DataDir: dir, FrontendAddress: freeAddr(t), Namespace: "default", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err == nil {
				s.Stop()
				t.Fatal("started on a database of another version")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if got, _ := os.ReadFile(db); string(got) != "not touched" {
				t.Errorf("the database was changed: %q", got)
			}
		})
	}
}

func ptr(s string) *string { return &s }
