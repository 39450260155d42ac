package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// TestSealer: a sealed value opens only for its purpose, under the same
// secret, unaltered and before it expires.
func TestSealer(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	s, err := NewSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	type v struct{ A string }
	text, err := s.Seal("sign-in", v{"x"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got v
	if err := s.Open("sign-in", text, &got); err != nil || got.A != "x" {
		t.Fatalf("open: %+v %v", got, err)
	}
	other, _ := NewSealer([]byte(strings.Repeat("t", 32)))
	flipped := []byte(text)
	flipped[len(flipped)/2] ^= 1
	if flipped[len(flipped)/2] == '-' || flipped[len(flipped)/2] == '_' {
		flipped[len(flipped)/2] = 'A'
	}
	for name, open := range map[string]func() error{
		"other purpose": func() error { return s.Open("cli-grant", text, &got) },
		"other secret":  func() error { return other.Open("sign-in", text, &got) },
		"altered":       func() error { return s.Open("sign-in", string(flipped), &got) },
		"not base64":    func() error { return s.Open("sign-in", "!!!", &got) },
		"too short":     func() error { return s.Open("sign-in", "AAAA", &got) },
		"huge":          func() error { return s.Open("sign-in", strings.Repeat("A", maxSealed+1), &got) },
	} {
		if err := open(); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("%s: opened (%v)", name, err)
		}
	}
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := s.Open("sign-in", text, &got); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired value opened: %v", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Error("a short secret was accepted")
	}
}
