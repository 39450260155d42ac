// Package runsign signs what the API server decided about a scaffolder run
// (who runs which template, with which permissions, over which input) so
// that workers can tell a run the API server started from one anybody with
// access to the Temporal namespace started with a forged input.
//
// The API server holds an Ed25519 private key (scaffolder.runSigningKey) and
// signs a run's Claims; workers hold the public key (or the same private
// key) and verify. A worker given only the public key cannot sign.
//
// It must not import api, worker, workflows or activities.
package runsign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Claims are what the API server decided about one run of one task.
type Claims struct {
	TaskID      string `json:"taskId"`
	TemplateRef string `json:"templateRef"`
	// UserRef is the user the run acts for; Service and Scopes are what
	// that user may do (a service token's scopes; a user who is not a
	// service is limited by the permission policy only).
	UserRef string   `json:"userRef"`
	Service bool     `json:"service,omitempty"`
	Scopes  []string `json:"scopes,omitempty"`
	// Ent are the user's ownership refs when the run started (its own
	// ref and its groups): the credential broker decides with them.
	Ent []string `json:"ent,omitempty"`
	// Channel is the interface the run was started through: "mcp" for an
	// agent's run (the plan's channel), so the workers' policy decisions
	// see the same context.channel as the API's. Missing (grants signed
	// before it existed, and every other run) means "api".
	Channel string `json:"channel,omitempty"`
	// InputHash is InputHash of the run's whole input but its grant: the
	// compiled plan, secret names, dry-run flag and resumed state.
	InputHash string `json:"inputHash"`
	// BaseURL is where the template was read from.
	BaseURL string `json:"baseUrl,omitempty"`
	DryRun  bool   `json:"dryRun,omitempty"`
	// Attempt counts runs of the task: 1, then one more per retry.
	Attempt int `json:"attempt"`
}

// Errors a verification returns.
var (
	// ErrUnsigned is a run without a signature.
	ErrUnsigned = errors.New("run not signed by the API server")
	// ErrBadSignature is a signature that does not verify with the key.
	ErrBadSignature = errors.New("run not signed by the API server: its signature does not verify with scaffolder.runSigningKey")
)

// Signer signs Claims. It is safe for concurrent use.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner returns a Signer for key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key} }

// Sign returns the claims as signed bytes and their signature.
func (s *Signer) Sign(c Claims) (claims, sig []byte, err error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, nil, fmt.Errorf("sign run: %w", err)
	}
	return b, ed25519.Sign(s.key, b), nil
}

// SignPurpose signs payload for purpose (a decision on an approval step,
// say). The signed message is purpose, a zero byte and payload: it can
// never pass for a run grant (JSON), nor one purpose's for another's.
func (s *Signer) SignPurpose(purpose string, payload []byte) []byte {
	return ed25519.Sign(s.key, purposeMessage(purpose, payload))
}

func purposeMessage(purpose string, payload []byte) []byte {
	m := make([]byte, 0, len(purpose)+1+len(payload))
	return append(append(append(m, purpose...), 0), payload...)
}

// PublicKey is the key workers verify with.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Verifier checks signed claims. Verified claims are remembered (by the
// hash of claims and signature), so a run's many activities pay for one
// Ed25519 verification. It is safe for concurrent use.
type Verifier struct {
	key ed25519.PublicKey

	mu    sync.Mutex
	known map[[sha256.Size]byte]Claims
}

// maxKnown bounds the verified-claims cache; it starts over when full.
const maxKnown = 4096

// NewVerifier returns a Verifier for key.
func NewVerifier(key ed25519.PublicKey) *Verifier {
	return &Verifier{key: key, known: map[[sha256.Size]byte]Claims{}}
}

// Verify checks sig over claims and returns the claims. The error is
// ErrUnsigned or ErrBadSignature.
func (v *Verifier) Verify(claims, sig []byte) (Claims, error) {
	if len(claims) == 0 || len(sig) == 0 {
		return Claims{}, ErrUnsigned
	}
	h := sha256.New()
	h.Write(sig)
	h.Write(claims)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	v.mu.Lock()
	c, ok := v.known[k]
	v.mu.Unlock()
	if ok {
		return c, nil
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(v.key, claims, sig) {
		return Claims{}, ErrBadSignature
	}
	if err := json.Unmarshal(claims, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: unreadable claims: %v", ErrBadSignature, err)
	}
	v.mu.Lock()
	if len(v.known) >= maxKnown {
		clear(v.known)
	}
	v.known[k] = c
	v.mu.Unlock()
	return c, nil
}

// VerifyPurpose checks sig over payload for purpose (Signer.SignPurpose);
// the error is ErrUnsigned or ErrBadSignature.
func (v *Verifier) VerifyPurpose(purpose string, payload, sig []byte) error {
	if len(payload) == 0 || len(sig) == 0 {
		return ErrUnsigned
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(v.key, purposeMessage(purpose, payload), sig) {
		return ErrBadSignature
	}
	return nil
}

// InputHash is the hex SHA-256 of v's canonical JSON: v marshalled, read
// back as plain JSON values and marshalled again (object keys sorted,
// numbers as float64), so a value and the same value after a trip through
// JSON (Temporal's payloads) hash alike.
func InputHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return "", err
	}
	if b, err = json.Marshal(plain); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum), nil
}

// PublicPrefix starts the public form of a key (for workers).
const PublicPrefix = "ed25519-public:"

// ParseKey reads scaffolder.runSigningKey: the base64 of a 32-byte Ed25519
// seed (the private key; `head -c 32 /dev/urandom | base64`), or
// PublicPrefix and the base64 of a 32-byte public key (a worker that only
// verifies). priv is nil for a public key.
func ParseKey(s string) (priv ed25519.PrivateKey, pub ed25519.PublicKey, err error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, PublicPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("a public run signing key must be %s and the base64 of %d bytes", PublicPrefix, ed25519.PublicKeySize)
		}
		return nil, ed25519.PublicKey(b), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("a run signing key must be the base64 of %d random bytes (head -c 32 /dev/urandom | base64), or %s<base64 public key>", ed25519.SeedSize, PublicPrefix)
	}
	priv = ed25519.NewKeyFromSeed(b)
	return priv, priv.Public().(ed25519.PublicKey), nil
}

// PublicString is the public form of key, for workers' configuration.
func PublicString(key ed25519.PublicKey) string {
	return PublicPrefix + base64.StdEncoding.EncodeToString(key)
}
