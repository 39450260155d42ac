package runsign

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Marker marks what a worker itself produced for a signed run: each
// rendered step item an action activity is asked to run, and each step's
// outcome (its output, or that it was skipped) a retry resumes from. A
// mark is an HMAC-SHA256 under a key every worker (and the API server)
// derives from a secret they share and an outsider with access to the
// Temporal namespace lacks, so an action scheduled by a workflow of
// someone else's, or a resume state someone else wrote, carries no valid
// mark. It is safe for concurrent use.
type Marker struct {
	key []byte
}

// markLabel separates the marking key from other uses of its secret.
const markLabel = "rigger scaffolder run marks v1"

// NewMarker derives a Marker's key from secret (scaffolder.secretKey, or
// the private run signing key's seed) with HKDF-SHA256.
func NewMarker(secret []byte) (*Marker, error) {
	if len(secret) < 16 {
		return nil, errors.New("a run marking secret needs at least 16 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, markLabel, 32)
	if err != nil {
		return nil, err
	}
	return &Marker{key: key}, nil
}

// Item is the place of one rendered item: the run that rendered it, the
// step, the item's index and each key, and the action it is for.
type Item struct {
	TaskID, RunID string
	Attempt       int
	StepID        string
	Index         int
	EachKey       string
	Action        string
}

// NewMarkerFromSigner derives a Marker from the private run signing key
// (for a cluster without scaffolder.secretKey whose workers all hold it).
func NewMarkerFromSigner(s *Signer) (*Marker, error) { return NewMarker(s.key.Seed()) }

// ErrBadMark is a mark that does not verify.
var ErrBadMark = errors.New("not rendered by a worker for this run")

// MarkItem marks input, rendered for it.
func (m *Marker) MarkItem(it Item, input any) (string, error) {
	h, err := InputHash(input)
	if err != nil {
		return "", fmt.Errorf("mark rendered input: %w", err)
	}
	return m.mac("item", it.TaskID, it.RunID, strconv.Itoa(it.Attempt), it.StepID, strconv.Itoa(it.Index), it.EachKey, it.Action, h), nil
}

// CheckItem verifies the mark of input rendered for it.
func (m *Marker) CheckItem(it Item, input any, mark string) error {
	want, err := m.MarkItem(it, input)
	if err != nil {
		return err
	}
	if !equal(want, mark) {
		return ErrBadMark
	}
	return nil
}

// MarkStep marks a step's outcome in a task: status (completed or
// skipped) and its output (nil and empty alike: the workflow keeps an
// empty output for a step that returned none). It names no run: a retry
// resumes from it.
func (m *Marker) MarkStep(taskID, stepID, status string, output map[string]any) (string, error) {
	if output == nil {
		output = map[string]any{}
	}
	h, err := InputHash(output)
	if err != nil {
		return "", fmt.Errorf("mark step output: %w", err)
	}
	return m.mac("step", taskID, stepID, status, h), nil
}

// CheckStep verifies a step outcome's mark.
func (m *Marker) CheckStep(taskID, stepID, status string, output map[string]any, mark string) error {
	want, err := m.MarkStep(taskID, stepID, status, output)
	if err != nil {
		return err
	}
	if !equal(want, mark) {
		return ErrBadMark
	}
	return nil
}

// mac is the HMAC of the length-prefixed fields (no two field lists
// encode alike).
func (m *Marker) mac(fields ...string) string {
	h := hmac.New(sha256.New, m.key)
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

func equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// Token is a MAC over purpose and fields, for a capability rigger hands
// out (a wait's callback URL): every worker and API server holding the
// marking secret can make and check it.
func (m *Marker) Token(purpose string, fields ...string) string {
	return m.mac(append([]string{"token", purpose}, fields...)...)
}

// CheckToken verifies a Token.
func (m *Marker) CheckToken(token, purpose string, fields ...string) error {
	if !equal(m.Token(purpose, fields...), token) {
		return ErrBadMark
	}
	return nil
}
