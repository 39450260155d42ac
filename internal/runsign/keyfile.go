package runsign

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKeyFile reads a private run signing key from path, creating
// it (0600, in a 0700 folder) with a new random key when it does not exist.
// rigger dev keeps its key in its data dir this way.
func LoadOrCreateKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		priv, _, err := ParseKey(string(data))
		if err == nil && priv == nil {
			err = errors.New("it holds a public key; the API server needs the private key")
		}
		if err != nil {
			return nil, errors.New(path + ": " + err.Error())
		}
		return priv, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		return LoadOrCreateKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(seed) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), f.Close()
}
