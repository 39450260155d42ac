package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

// RedactedText is what a set secret shows instead of its value.
const RedactedText = "[redacted]"

// Secret is a configuration value that must never be printed, logged or
// marshalled: every fmt verb, slog, JSON, YAML and text marshalling show
// RedactedText (an empty secret shows empty, so "not set" stays visible).
// Reveal returns the value, for the one place that uses it.
//
// One hole remains, in fmt itself: %p is a bad verb for a string, and fmt
// prints a bad verb's operand with its methods switched off, so %p on a
// Secret (or on a struct value holding one) shows the value. go vet reports
// %p with a non-pointer operand; keep vet clean.
type Secret string

// Reveal returns the secret value. Call it only where the value is used,
// never to print it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return RedactedText
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return "config.Secret(" + strconv.Quote(s.shown()) + ")" }

// Format implements fmt.Formatter, so that no verb (%s, %v, %+v, %#v, %q,
// %x, %d, ...) can reach the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(s.shown()))
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

// MarshalText implements encoding.TextMarshaler, which slog's text handler
// and many encoders use for nested values.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
