// Package secretbox keeps the secrets given with scaffolder tasks: sealed
// with AES-256-GCM (the task id is bound as additional data, so a sealed
// blob cannot be replayed for another task) and stored outside workflow
// history until the task no longer needs them.
//
// It must not import api, worker, workflows or activities.
package secretbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/keyfile"
	"github.com/riggerdev/rigger/internal/store"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// Limits on what a task may carry.
const (
	MaxSecrets    = 64
	MaxSecretSize = 64 << 10
)

// Keeper seals task secrets and keeps them in a store.
type Keeper struct {
	aead  cipher.AEAD
	store store.TaskSecrets
	ttl   time.Duration
	now   func() time.Time
}

// ParseKey decodes a base64 key of KeySize bytes.
func ParseKey(b64 string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errors.New("scaffolder.secretKey is not valid base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("scaffolder.secretKey must decode to %d bytes, not %d (generate one with: head -c 32 /dev/urandom | base64)", KeySize, len(key))
	}
	return key, nil
}

// LoadOrCreateKeyFile reads the base64 key in path, creating it (mode
// 0600) with a random key when it does not exist. rigger dev uses it.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	text, err := keyfile.LoadOrCreate(path, KeySize)
	if err != nil {
		return nil, err
	}
	return ParseKey(text)
}

// New returns a Keeper; ttl bounds how long unclaimed secrets live.
func New(key []byte, st store.TaskSecrets, ttl time.Duration) (*Keeper, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes", KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &Keeper{aead: aead, store: st, ttl: ttl, now: time.Now}, nil
}

// Check refuses secrets that are too many or too large, naming the first.
func Check(secrets map[string]string) error {
	if len(secrets) > MaxSecrets {
		return fmt.Errorf("secrets: at most %d are allowed, got %d", MaxSecrets, len(secrets))
	}
	for k, v := range secrets {
		if k == "" || strings.ContainsRune(k, 0) || len(k) > 256 {
			return fmt.Errorf("secrets: invalid name %q", k)
		}
		if len(v) > MaxSecretSize {
			return fmt.Errorf("secrets.%s: larger than %d bytes", k, MaxSecretSize)
		}
	}
	return nil
}

// NewNonce returns a random nonce for a task's secret references.
func NewNonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Put seals and stores a task's secrets.
func (k *Keeper) Put(ctx context.Context, taskID string, secrets map[string]string) error {
	if err := Check(secrets); err != nil {
		return err
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return err
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := k.aead.Seal(nonce, nonce, plain, []byte(taskID))
	return k.store.PutTaskSecrets(ctx, taskID, sealed, k.now().Add(k.ttl))
}

// Get returns a task's secrets.
func (k *Keeper) Get(ctx context.Context, taskID string) (map[string]string, error) {
	sealed, err := k.store.GetTaskSecrets(ctx, taskID)
	if err != nil {
		return nil, err
	}
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("stored secrets are corrupt")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(taskID))
	if err != nil {
		return nil, errors.New("stored secrets cannot be decrypted: was scaffolder.secretKey changed?")
	}
	var out map[string]string
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, errors.New("stored secrets are corrupt")
	}
	return out, nil
}

// Extend keeps a task's secrets for another TTL from now (a run that waits
// for an approval or an event longer than the TTL).
func (k *Keeper) Extend(ctx context.Context, taskID string) error {
	return k.store.ExtendTaskSecrets(ctx, taskID, k.now().Add(k.ttl))
}

// Forget deletes a task's secrets.
func (k *Keeper) Forget(ctx context.Context, taskID string) error {
	return k.store.DeleteTaskSecrets(ctx, taskID)
}
