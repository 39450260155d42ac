// Package errs defines the few error categories that domain errors unwrap to.
// The HTTP edge (api) maps each category to one status code in one place; no
// other package needs to know about HTTP. It imports nothing of ours.
package errs

import (
	"errors"
	"fmt"
)

// Categories. Wrap them with fmt.Errorf("...: %w", errs.ErrNotFound) or use the
// helpers below; test with errors.Is.
var (
	ErrInvalid         = errors.New("invalid input")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrUnavailable     = errors.New("unavailable")
)

// categorized keeps a user-facing message apart from the category so the
// message can be shown as is ("template foo not found") while errors.Is still
// sees the category.
type categorized struct {
	msg string
	cat error
}

func (e *categorized) Error() string { return e.msg }
func (e *categorized) Unwrap() error { return e.cat }

// Invalid returns an ErrInvalid with a formatted message.
func Invalid(format string, args ...any) error {
	return &categorized{msg: fmt.Sprintf(format, args...), cat: ErrInvalid}
}

// NotFound returns an ErrNotFound with a formatted message.
func NotFound(format string, args ...any) error {
	return &categorized{msg: fmt.Sprintf(format, args...), cat: ErrNotFound}
}

// Conflict returns an ErrConflict with a formatted message.
func Conflict(format string, args ...any) error {
	return &categorized{msg: fmt.Sprintf(format, args...), cat: ErrConflict}
}

// Forbidden returns an ErrForbidden with a formatted message.
func Forbidden(format string, args ...any) error {
	return &categorized{msg: fmt.Sprintf(format, args...), cat: ErrForbidden}
}

// Unauthenticated returns an ErrUnauthenticated with a formatted message.
func Unauthenticated(format string, args ...any) error {
	return &categorized{msg: fmt.Sprintf(format, args...), cat: ErrUnauthenticated}
}
