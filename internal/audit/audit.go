// Package audit records security-relevant acts — who did (or was refused)
// what to which target — as events written as JSON lines (stdout or a file)
// and appended to the database in a hash chain: each stored event holds the
// SHA-256 of the previous event's hash and its own canonical JSON, so an
// edited, deleted or reordered row breaks the chain, and Verify names the
// first broken event. The chain head is written to the JSON-lines log
// periodically, so a truncated tail (or a rewritten chain) is found by
// comparing the log with the database.
//
// Events never carry secrets: callers put refs, ids and reasons in them,
// never tokens or parameter values.
//
// It must not import api, worker, workflows or activities.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// Decision says whether the act was allowed or refused.
type Decision string

const (
	Allow Decision = "allow"
	Deny  Decision = "deny"
)

// Actor kinds.
const (
	ActorUser      = "user"
	ActorService   = "service"
	ActorAnonymous = "anonymous"
)

// Event is one security-relevant act.
type Event struct {
	// ID is unique; Record sets a new one when empty.
	ID string `json:"id"`
	// Time is when it happened; Record sets now when zero.
	Time time.Time `json:"time"`
	// Actor is the entity ref of who acted ("" for an anonymous caller).
	Actor string `json:"actor"`
	// ActorKind is user, service, anonymous or system (alerts).
	ActorKind string `json:"actorKind"`
	// Ownership are the actor's ownership refs when it acted (itself and
	// its groups), for rules that look at groups; omitted when unknown.
	Ownership []string `json:"ownership,omitempty"`
	// Action is what was done, e.g. scaffolder.task.create.
	Action string `json:"action"`
	// Target is what it was done to, e.g. task:<id> or location:<id>.
	Target   string   `json:"target"`
	Decision Decision `json:"decision"`
	// Reason says why a request was refused (or anything else notable).
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	SourceIP  string `json:"sourceIp,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	// Details add context; never secrets.
	Details map[string]string `json:"details,omitempty"`
}

// Canonical is the JSON the chain hashes: the event with its time in UTC,
// fields in declaration order and detail keys sorted (encoding/json's
// order), so the same event always gives the same bytes.
func (e Event) Canonical() ([]byte, error) {
	e.Time = e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode audit event %s: %w", e.ID, err)
	}
	return b, nil
}

// record is e as a store row.
func (e Event) record() (store.AuditRecord, error) {
	body, err := e.Canonical()
	if err != nil {
		return store.AuditRecord{}, err
	}
	return store.AuditRecord{ID: e.ID, At: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target,
		Decision: string(e.Decision), Body: body}, nil
}

// Recorder records audit events. Record does not fail the caller's
// request: a failure to store an event is logged by the recorder.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Nop records nothing (audit disabled, or tests that do not look).
type Nop struct{}

// Record implements Recorder.
func (Nop) Record(context.Context, Event) {}

// RedactURL drops what may hold a credential from a URL — its user
// information and query — for an event's details; anything that
// does not parse as a URL with a host is returned as is (a file path).
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	u.User, u.RawQuery, u.ForceQuery = nil, "", false
	return u.String()
}
