package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Redacted is what a set secret prints as.
const Redacted = "[redacted]"

// Secret is a configuration value that must never be printed or logged:
// every formatting and marshalling path shows "[redacted]". Reveal returns the
// value for the one place that uses it.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.shown()) }

// Format covers every verb, including %s, %v, %q, %x.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalText implements encoding.TextMarshaler (used by slog's JSON handler
// and others for nested values).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
