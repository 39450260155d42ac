// Package keyfile keeps a random key in a file for rigger dev: read it when
// it exists, create it (0600, in a 0700 folder) when it does not. It only
// stores bytes as base64; what a key means is its user's business. It must
// not import anything of rigger's.
package keyfile

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreate returns the text of the key file at path. When the file does
// not exist it writes size random bytes there as base64 and returns that
// text. Two processes creating it at once end up reading the same key.
func LoadOrCreate(path string, size int) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return string(data), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		return LoadOrCreate(path, size)
	}
	if err != nil {
		return "", err
	}
	text := base64.StdEncoding.EncodeToString(key) + "\n"
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return "", err
	}
	return text, f.Close()
}
