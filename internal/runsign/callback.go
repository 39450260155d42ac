package runsign

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Callback is what a wait's callback token grants: one call into one wait
// of one task, until Expires.
type Callback struct {
	TaskID    string `json:"t"`
	RequestID string `json:"r"`
	Expires   int64  `json:"e"` // unix seconds
}

const callbackPurpose = "rigger.wait-callback.v1"

// maxCallbackToken bounds what DecodeCallback reads.
const maxCallbackToken = 1024

var urlSafe = strings.NewReplacer("+", "-", "/", "_")

// EncodeCallback returns c's URL-safe token.
func (m *Marker) EncodeCallback(c Callback) string {
	body, _ := json.Marshal(c)
	b64 := base64.RawURLEncoding.EncodeToString(body)
	return b64 + "." + urlSafe.Replace(m.Token(callbackPurpose, b64))
}

// Errors of DecodeCallback.
var (
	ErrBadCallback     = errors.New("not a callback token of this Rigger")
	ErrExpiredCallback = errors.New("the callback token expired")
)

// DecodeCallback verifies a token EncodeCallback made and that it has not
// expired at now.
func (m *Marker) DecodeCallback(token string, now time.Time) (Callback, error) {
	var c Callback
	if len(token) > maxCallbackToken {
		return c, ErrBadCallback
	}
	b64, mac, ok := strings.Cut(token, ".")
	if !ok || !equal(urlSafe.Replace(m.Token(callbackPurpose, b64)), mac) {
		return c, ErrBadCallback
	}
	body, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || json.Unmarshal(body, &c) != nil || c.TaskID == "" || c.RequestID == "" {
		return c, ErrBadCallback
	}
	if now.Unix() >= c.Expires {
		return c, ErrExpiredCallback
	}
	return c, nil
}
