package runsign

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func testKey(t testing.TB, b byte) ed25519.PrivateKey {
	t.Helper()
	priv, _, err := ParseKey(base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32))))
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// TestSignVerify: what one key signs verifies with its public key, and
// only unchanged and only with that key.
func TestSignVerify(t *testing.T) {
	s := NewSigner(testKey(t, 'a'))
	want := Claims{TaskID: "t1", TemplateRef: "template:default/x", UserRef: "user:default/alice", Service: true,
		Scopes: []string{"scaffolder.run"}, InputHash: "abc", BaseURL: "file:///srv/t/template.yaml", Attempt: 2}
	claims, sig, err := s.Sign(want)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(s.PublicKey())
	for range 2 { // the second answer comes from the cache
		got, err := v.Verify(claims, sig)
		if err != nil {
			t.Fatal(err)
		}
		if got.TaskID != want.TaskID || got.UserRef != want.UserRef || got.InputHash != want.InputHash ||
			got.BaseURL != want.BaseURL || !got.Service || len(got.Scopes) != 1 || got.Attempt != 2 {
			t.Fatalf("verified claims %+v, want %+v", got, want)
		}
	}

	altered := []byte(strings.Replace(string(claims), "alice", "admin", 1))
	if _, err := v.Verify(altered, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered claims: %v, want ErrBadSignature", err)
	}
	badSig := append([]byte(nil), sig...)
	badSig[0] ^= 1
	if _, err := v.Verify(claims, badSig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered signature: %v, want ErrBadSignature", err)
	}
	if _, err := v.Verify(claims, sig[:10]); !errors.Is(err, ErrBadSignature) {
		t.Errorf("short signature: %v, want ErrBadSignature", err)
	}
	other := NewVerifier(NewSigner(testKey(t, 'b')).PublicKey())
	if _, err := other.Verify(claims, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: %v, want ErrBadSignature", err)
	}
	if _, err := v.Verify(nil, nil); !errors.Is(err, ErrUnsigned) || err.Error() != "run not signed by the API server" {
		t.Errorf("unsigned: %v, want ErrUnsigned", err)
	}
}

// TestInputHash: a value hashes like itself after a JSON round trip, and
// any change changes the hash.
func TestInputHash(t *testing.T) {
	type in struct {
		ID     string         `json:"id"`
		Params map[string]any `json:"params"`
		N      int64          `json:"n"`
	}
	a := in{ID: "x", Params: map[string]any{"b": 1, "a": []any{int64(2), "s"}}, N: 7}
	b := in{ID: "x", Params: map[string]any{"a": []any{float64(2), "s"}, "b": float64(1)}, N: 7}
	ha, err := InputHash(a)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := InputHash(b)
	if ha != hb {
		t.Errorf("the same input after a JSON round trip hashes differently: %s %s", ha, hb)
	}
	b.Params["b"] = float64(2)
	if hc, _ := InputHash(b); hc == ha {
		t.Error("a changed input hashes alike")
	}
}

// TestParseKey: private seeds and public keys are read; anything else is
// a clear error that does not echo the value.
func TestParseKey(t *testing.T) {
	priv := testKey(t, 'a')
	pubStr := PublicString(priv.Public().(ed25519.PublicKey))
	p2, pub, err := ParseKey(pubStr)
	if err != nil || p2 != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("public form: %v %v", err, p2)
	}
	for _, bad := range []string{"", "c2hvcnQ=", "not base64!", PublicPrefix + "c2hvcnQ=", base64.StdEncoding.EncodeToString(make([]byte, 64))} {
		if _, _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error echoes the key: %v", err)
		}
	}
}

// BenchmarkSignVerify measures what signing costs per task: one signature
// on the API server and one uncached verification on a worker.
func BenchmarkSignVerify(b *testing.B) {
	s := NewSigner(testKey(b, 'a'))
	c := Claims{TaskID: "0d6f4b5e-7a1c-4c55-9d2e-000000000000", TemplateRef: "template:default/x", UserRef: "user:default/alice", InputHash: strings.Repeat("ab", 32), Attempt: 1}
	for b.Loop() {
		claims, sig, err := s.Sign(c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewVerifier(s.PublicKey()).Verify(claims, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSignPurpose: a purpose signature verifies for its purpose and
// payload only, and never as a run grant (nor a grant as one).
func TestSignPurpose(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSigner(priv)
	v := NewVerifier(s.PublicKey())
	payload := []byte(`{"taskId":"t1","userRef":"user:default/alice","inputHash":"x"}`)
	sig := s.SignPurpose("decision", payload)
	if err := v.VerifyPurpose("decision", payload, sig); err != nil {
		t.Fatalf("own purpose: %v", err)
	}
	if err := v.VerifyPurpose("other", payload, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another purpose: %v", err)
	}
	if err := v.VerifyPurpose("decision", append([]byte(nil), payload[:len(payload)-1]...), sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another payload: %v", err)
	}
	if err := v.VerifyPurpose("decision", payload, nil); !errors.Is(err, ErrUnsigned) {
		t.Errorf("no signature: %v", err)
	}
	if _, err := v.Verify(payload, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a decision signature passed as a run grant: %v", err)
	}
	claims, gsig, err := s.Sign(Claims{TaskID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyPurpose("decision", claims, gsig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a run grant passed as a decision: %v", err)
	}
}

// TestClaimsChannel: the channel a run started through is signed with its
// grant; a grant signed before the claims had one (no "channel" key)
// still verifies, with no channel (an "api" run).
func TestClaimsChannel(t *testing.T) {
	s := NewSigner(testKey(t, 'a'))
	v := NewVerifier(s.PublicKey())
	claims, sig, err := s.Sign(Claims{TaskID: "t1", UserRef: "user:default/alice", InputHash: "h", Attempt: 1, Channel: "mcp"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify(claims, sig); err != nil || got.Channel != "mcp" {
		t.Fatalf("signed channel: %+v %v", got, err)
	}
	if _, err := v.Verify([]byte(strings.Replace(string(claims), `"channel":"mcp"`, `"channel":"api"`, 1)), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a changed channel verified: %v", err)
	}
	old := []byte(`{"taskId":"t0","templateRef":"template:default/x","userRef":"user:default/alice","inputHash":"h","attempt":1}`)
	got, err := v.Verify(old, ed25519.Sign(testKey(t, 'a'), old))
	if err != nil || got.TaskID != "t0" || got.Channel != "" {
		t.Fatalf("a grant signed without a channel: %+v %v", got, err)
	}
}
