package auth

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// TestProxied: a request through an authenticating proxy is the catalog
// user its verified assertion resolves to (resolved once, then cached);
// a forged assertion is a 401, not a fallback; a bearer token or a request
// without the assertion goes to the next authenticator.
func TestProxied(t *testing.T) {
	key, other := mustECKey(t), mustECKey(t)
	srv, _ := albKeyServer(t, map[string]*ecdsa.PublicKey{testKid: &key.PublicKey})
	alb, err := NewALB(ALBConfig{Region: "eu-west-1", Signer: testALBARN, KeyURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resolves := 0
	p := &Proxied{Provider: alb, Header: ALBHeader,
		Resolve: func(_ context.Context, pid ProviderIdentity) (User, error) {
			resolves++
			if pid.Email != "alice@example.com" {
				return User{}, errs.Unauthenticated("no User entity has spec.profile.email = %s", pid.Email)
			}
			return User{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}, nil
		},
		Next: NewServiceTokens([]ServiceToken{{Name: "ci", Token: "ci-token-0123456789-0123456789-0123"}})}
	exp := time.Now().Add(2 * time.Minute)
	valid := albToken(t, key, albHeader(exp), albClaims(exp))
	for i := 0; i < 3; i++ {
		r := httptest.NewRequest("GET", "/api/catalog/entities", nil)
		r.Header.Set(ALBHeader, valid)
		id, err := p.Authenticate(r)
		if err != nil || id.Ref != "user:default/alice" || len(id.Ent) != 2 || id.Via != "proxy:awsAlb" {
			t.Fatalf("proxied request: %+v, %v", id, err)
		}
	}
	if resolves != 1 {
		t.Errorf("the user was resolved %d times for three requests, want once (cached)", resolves)
	}
	forged := httptest.NewRequest("GET", "/api/catalog/entities", nil)
	forged.Header.Set(ALBHeader, albToken(t, other, albHeader(exp), albClaims(exp)))
	if _, err := p.Authenticate(forged); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("a forged assertion: %v, want 401", err)
	}
	bearer := httptest.NewRequest("GET", "/api/catalog/entities", nil)
	bearer.Header.Set(ALBHeader, valid)
	bearer.Header.Set("Authorization", "Bearer ci-token-0123456789-0123456789-0123")
	if id, err := p.Authenticate(bearer); err != nil || id.Ref != "service:ci" {
		t.Errorf("a bearer token must win over the assertion: %+v, %v", id, err)
	}
	none := httptest.NewRequest("GET", "/api/catalog/entities", nil)
	if _, err := p.Authenticate(none); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("no assertion, no token: %v", err)
	}
}
