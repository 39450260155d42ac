package auth

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
)

func TestServiceTokens(t *testing.T) {
	st := NewServiceTokens([]ServiceToken{
		{Name: "ci", Token: "ci-token-0123456789-0123456789-0123", Scopes: []string{"scaffolder.run"}},
		{Name: "bot", Token: "bot-token-0123456789-0123456789-012"},
		{Name: "empty", Token: ""},
	})
	cases := []struct {
		header string
		want   string // identity ref, or "" for unauthenticated
	}{
		{"Bearer ci-token-0123456789-0123456789-0123", "service:ci"},
		{"bearer bot-token-0123456789-0123456789-012", "service:bot"},
		{"Bearer  ci-token-0123456789-0123456789-0123 ", "service:ci"},
		{"", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Basic ci-token-0123456789-0123456789-0123", ""},
		{"Bearer ci-token-0123456789-0123456789-012", ""},
		{"Bearer wrong", ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/x", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		id, err := st.Authenticate(r)
		if c.want == "" {
			if err == nil || !errors.Is(err, errs.ErrUnauthenticated) {
				t.Errorf("%q: want unauthenticated, got %+v, %v", c.header, id, err)
			}
			continue
		}
		if err != nil || id.Ref != c.want || !id.Service {
			t.Errorf("%q: got %+v, %v; want %s", c.header, id, err, c.want)
		}
	}
	if NewServiceTokens(nil).tokens != nil {
		t.Error("no tokens configured must mean nothing authenticates")
	}
}

// TestGuestOrTokens: rigger dev with service tokens: no Authorization header
// is the guest, a header must carry a valid token.
func TestGuestOrTokens(t *testing.T) {
	a := GuestOrTokens{Tokens: NewServiceTokens([]ServiceToken{{Name: "ci", Token: "ci-token-0123456789-0123456789-0123", Scopes: []string{"catalog.read"}}})}
	for _, c := range []struct{ header, want string }{
		{"", GuestRef},
		{"Bearer ci-token-0123456789-0123456789-0123", "service:ci"},
		{"Bearer wrong-token-0123456789-0123456789", ""},
		{"Basic x", ""},
	} {
		r := httptest.NewRequest("GET", "/api/x", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		id, err := a.Authenticate(r)
		if c.want == "" {
			if !errors.Is(err, errs.ErrUnauthenticated) {
				t.Errorf("%q: want unauthenticated, got %+v, %v", c.header, id, err)
			}
			continue
		}
		if err != nil || id.Ref != c.want {
			t.Errorf("%q: got %+v, %v; want %s", c.header, id, err, c.want)
		}
	}
}
