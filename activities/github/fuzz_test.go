package github

import (
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseRepoURL(f *testing.F) {
	for _, s := range []string{"github.com?owner=acme&repo=payments", "github.com?owner=..&repo=x", "h/p?owner=a&repo=b", "?owner=a&repo=b", "github.com?owner=a%2Fb&repo=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRepoURL(s)
		if err != nil {
			return
		}
		for _, part := range []string{r.owner, r.repo} {
			if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "/\\?#% ") {
				t.Fatalf("%q gave the unsafe name %q", s, part)
			}
		}
		if strings.ContainsAny(r.host, "/?#") {
			t.Fatalf("%q gave host %q", s, r.host)
		}
	})
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"", ".", "a/b", "../x", "/etc", "a/../../b", "./a", "a/..", "..\\x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := localPath("p", s)
		if err != nil {
			return
		}
		if p != "." && !filepath.IsLocal(p) {
			t.Fatalf("%q accepted as %q, which leaves the directory", s, p)
		}
	})
}
