package netguard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestRefusedDestinations(t *testing.T) {
	// A real server on loopback: reachable only when explicitly allowed.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-localhost":
			http.Redirect(w, r, "http://localhost:"+r.URL.Query().Get("port")+"/ok", http.StatusFound)
		case "/to-private-allowed-host":
			http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			fmt.Fprint(w, "hello")
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]

	cases := []struct {
		name   string
		policy Policy
		url    string
		want   string // substring of the error; "" = must succeed
	}{
		{"loopback by default", Policy{AllowedHosts: []string{"*"}}, srv.URL + "/", "loopback"},
		{"loopback host not allowed", Policy{AllowedHosts: []string{"example.com"}}, srv.URL + "/", "not in the allowed hosts"},
		{"loopback explicitly allowed", Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: loopback}, srv.URL + "/", ""},
		{"metadata address", Policy{AllowedHosts: []string{"*"}}, "http://169.254.169.254/latest/meta-data/", "link-local"},
		{"metadata even with private allowed", Policy{AllowedHosts: []string{"*"}, AllowPrivate: true}, "http://169.254.169.254/", "link-local"},
		{"private address", Policy{AllowedHosts: []string{"*"}}, "http://10.1.2.3/", "private"},
		{"private 192.168", Policy{AllowedHosts: []string{"*"}}, "http://192.168.0.10/", "private"},
		{"ipv6 loopback", Policy{AllowedHosts: []string{"*"}}, "http://[::1]:" + port + "/", "loopback"},
		{"ipv4-mapped ipv6 loopback", Policy{AllowedHosts: []string{"*"}}, "http://[::ffff:127.0.0.1]:" + port + "/", "loopback"},
		{"unspecified", Policy{AllowedHosts: []string{"*"}}, "http://0.0.0.0:" + port + "/", "unspecified"},
		{"dns name resolving to loopback", Policy{AllowedHosts: []string{"localhost"}}, "http://localhost:" + port + "/", "loopback"},
		{"redirect to metadata", Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: loopback}, srv.URL + "/to-metadata", "169.254.169.254"},
		{"redirect to metadata with host wildcard", Policy{AllowedHosts: []string{"*"}, AllowedNetworks: loopback}, srv.URL + "/to-metadata", "link-local"},
		{"redirect to a host outside the list", Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: loopback}, srv.URL + "/to-localhost?port=" + port, "not in the allowed hosts"},
		{"redirect to private", Policy{AllowedHosts: []string{"*"}, AllowedNetworks: loopback}, srv.URL + "/to-private-allowed-host", "private"},
		{"redirect loop", Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: loopback}, srv.URL + "/loop", "redirects"},
		{"file scheme", Policy{AllowedHosts: []string{"*"}}, "file:///etc/passwd", "scheme"},
		{"credentials in url", Policy{AllowedHosts: []string{"*"}, AllowedNetworks: loopback}, "http://user:pw@127.0.0.1:" + port + "/", "credentials"},
		{"empty allow-list", Policy{}, "https://github.com/", "not in the allowed hosts"},
		{"refusal names the setting", Policy{AllowedHosts: []string{"example.com"}, Setting: "scaffolder.allowedHosts"}, "https://github.com/", `host "github.com" is not in the allowed hosts [example.com] (add it to scaffolder.allowedHosts in rigger.yaml)`},
		{"suffix pattern does not match apex", Policy{AllowedHosts: []string{"*.example.com"}}, "https://example.com/", "not in the allowed hosts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, err := Get(context.Background(), NewClient(c.policy), c.url, 1<<20)
			if c.want == "" {
				if err != nil || string(body) != "hello" {
					t.Fatalf("want success, got %q, %v", body, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want refusal mentioning %q, got success: %q", c.want, body)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
			if !errors.Is(err, errs.ErrForbidden) {
				t.Fatalf("error %q does not unwrap to ErrForbidden", err)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Fatalf("error %q leaks URL credentials", err)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 2048))
	}))
	defer srv.Close()
	c := NewClient(Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: loopback})
	if _, err := Get(context.Background(), c, srv.URL, 1024); err == nil || !strings.Contains(err.Error(), "larger than 1024") {
		t.Fatalf("want body-size error, got %v", err)
	}
	if b, err := Get(context.Background(), c, srv.URL, 4096); err != nil || len(b) != 2048 {
		t.Fatalf("want 2048 bytes, got %d, %v", len(b), err)
	}
}

func TestHostPatterns(t *testing.T) {
	p := Policy{AllowedHosts: []string{"*.example.com", "GitHub.com"}}
	for host, want := range map[string]bool{
		"api.example.com": true, "a.b.example.com": true, "example.com": false,
		"evilexample.com": false, "github.com": true, "GITHUB.COM": true, "github.com.evil.io": false,
	} {
		u := &url.URL{Scheme: "https", Host: host}
		if got := p.CheckURL(u) == nil; got != want {
			t.Errorf("host %s: allowed=%v, want %v", host, got, want)
		}
	}
}
