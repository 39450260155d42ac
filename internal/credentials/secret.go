package credentials

import (
	"fmt"
	"log/slog"
	"strings"
)

// Secret is a credential's secret part. It never shows itself: String,
// GoString, every fmt verb, slog and JSON all give Redacted; only Reveal
// gives the value, at the one place it is handed to a client or a
// subprocess.
type Secret struct{ v string }

// Redacted is what a Secret prints as.
const Redacted = "[redacted]"

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the value.
func (s Secret) Reveal() string { return s.v }

// Empty says whether there is no value.
func (s Secret) Empty() bool { return s.v == "" }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter, so no verb (%x, %q, %v) shows the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML, map keys, XML).
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Scrub replaces every value of secrets found in s by Redacted. Use it on
// text a tool wrote (git's stderr, an API error) before it reaches a log,
// an error or a step output. Values shorter than 6 bytes are left alone:
// they would match ordinary text and no real credential is that short.
func Scrub(s string, secrets ...Secret) string {
	for _, sec := range secrets {
		if len(sec.v) >= 6 {
			s = strings.ReplaceAll(s, sec.v, Redacted)
		}
	}
	return s
}

// ScrubError is Scrub for an error's message; nil stays nil. The result
// keeps no reference to err (its chain could hold the value).
func ScrubError(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	return scrubbed{msg: Scrub(err.Error(), secrets...)}
}

type scrubbed struct{ msg string }

func (e scrubbed) Error() string { return e.msg }
