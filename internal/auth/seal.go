package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// Sealer encrypts and authenticates small values a browser or the CLI
// carries between two requests of a sign-in (the pending sign-in cookie,
// the CLI's grant): AES-256-GCM under a key derived from the session
// secret, the value's purpose bound as additional data (a value sealed for
// one purpose does not open for another) and an expiry inside. Stateless,
// so every replica sharing the secret opens what another sealed.
type Sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

// maxSealed bounds what Open reads (a cookie is at most a few KiB).
const maxSealed = 16 << 10

// NewSealer derives the sealing key from secret (at least 32 bytes).
func NewSealer(secret []byte) (*Sealer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("the session secret must be at least 32 bytes, got %d", len(secret))
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "rigger sign-in sealing v1", 32)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, now: time.Now}, nil
}

// newAEAD is AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealWith encrypts plain under aead with a random nonce (prepended) and
// ad as additional data, as base64.
func sealWith(aead cipher.AEAD, plain, ad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, ad))), nil
}

// openWith opens what sealWith sealed with the same ad.
func openWith(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(string(sealed))
	n := aead.NonceSize()
	if err != nil || len(raw) < n {
		return nil, errors.New("malformed sealed value")
	}
	return aead.Open(nil, raw[:n], raw[n:], ad)
}

type sealed struct {
	Exp   int64           `json:"exp"`
	Value json.RawMessage `json:"v"`
}

// Seal returns v, JSON-encoded, encrypted for purpose until ttl from now,
// as unpadded base64url (safe in cookies and URLs).
func (s *Sealer) Seal(purpose string, v any, ttl time.Duration) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sealed{Exp: s.now().Add(ttl).Unix(), Value: raw})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value sealed for purpose into v. A value that was
// altered, sealed for another purpose or by another secret, or expired is
// refused (errs.ErrUnauthenticated).
func (s *Sealer) Open(purpose, text string, v any) error {
	if len(text) > maxSealed {
		return errs.Unauthenticated("the sealed %s is %d bytes, more than %d", purpose, len(text), maxSealed)
	}
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return errs.Unauthenticated("the %s is not a value rigger sealed", purpose)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(purpose))
	if err != nil {
		return errs.Unauthenticated("the %s was altered, or sealed by another server secret", purpose)
	}
	var sv sealed
	if err := json.Unmarshal(plain, &sv); err != nil {
		return errs.Unauthenticated("the %s is malformed", purpose)
	}
	if s.now().Unix() > sv.Exp {
		return errs.Unauthenticated("the %s expired: start again", purpose)
	}
	return json.Unmarshal(sv.Value, v)
}
