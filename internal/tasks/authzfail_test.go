package tasks

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
)

// dbAddress is where the unreachable database of these tests listens: no
// caller is shown it.
const dbAddress = "10.9.8.7:5432"

// connLost is the error a store gives when its database connection breaks
// in use (store.DBConn's), naming the database's address.
func connLost() error {
	return &store.ConnError{Err: &net.OpError{Op: "read", Net: "tcp",
		Addr: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(dbAddress)), Err: errors.New("connection reset by peer")}}
}

// unreachableCatalog is a fake TemplateCatalog whose database is
// unreachable (a connection breaking cannot be had on demand offline).
type unreachableCatalog struct{}

func (unreachableCatalog) EntityByRef(context.Context, string) (*store.StoredEntity, error) {
	return nil, connLost()
}

func (unreachableCatalog) Query(context.Context, store.Query) (store.Page, error) {
	return store.Page{}, connLost()
}

// checkUndecided: err is the database's failure as it was (503 for the
// API), not a refusal or a not found whose message shows the address.
func checkUndecided(t *testing.T, what string, err error) {
	t.Helper()
	var conn *store.ConnError
	if !errors.As(err, &conn) || errors.Is(err, errs.ErrForbidden) || errors.Is(err, errs.ErrNotFound) {
		t.Errorf("%s with the Authorizer's database unreachable: %v; want the connection's error, not a refusal", what, err)
	}
}

// TestAuthorizerFailureIsNotARefusal (review 34 L2): an Authorizer that
// cannot decide (its database is unreachable) makes no operation forbidden
// or not found with the database's address as a reason: the failure
// passes on as it is (the API answers 503 without it). A refusal is still
// forbidden with its reason.
func TestAuthorizerFailureIsNotARefusal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	ctx := t.Context()
	authz := &testAuthorizer{scope: ListScope{All: true}}
	dryRuns := 0
	s := testService(t, authz, countDryRuns(&dryRuns))
	alice := auth.Identity{Ref: "user:default/alice"}
	running, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, alice, running, StatusProcessing)
	t.Cleanup(func() {
		authz.fail = nil
		_ = s.Cancel(context.WithoutCancel(ctx), alice, running)
	})

	authz.fail = connLost()
	dryTemplate := []byte(templateEntity("dry", "log").Body)
	for name, op := range map[string]func() error{
		"list":   func() error { _, err := s.List(ctx, alice, ListOptions{Limit: 10}); return err },
		"get":    func() error { _, err := s.Get(ctx, alice, running); return err },
		"cancel": func() error { return s.Cancel(ctx, alice, running) },
		"create": func() error {
			_, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
			return err
		},
		"schema":   func() error { _, err := s.Template(ctx, alice, "template:default/t"); return err },
		"dry run":  func() error { _, err := s.DryRun(ctx, alice, DryRunRequest{Template: dryTemplate}); return err },
		"versions": func() error { _, err := s.TemplateVersion(ctx, alice, "template:default/t"); return err },
	} {
		checkUndecided(t, name, op())
	}
	if dryRuns != 0 {
		t.Errorf("a dry run ran without a decision")
	}
	// The actions of a plan: the templates are allowed, the actions'
	// check fails.
	authz.fail = nil
	s.authz = actionsFail{authz}
	checkUndecided(t, "create (actions)", func() error {
		_, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
		return err
	}())

	// The policy's own catalog read (a template's annotations, the
	// templates a caller owns) fails the same way.
	policy, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	s.authz = PolicyAuthorizer{Policy: policy, Catalog: unreachableCatalog{}}
	owner := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/platform"}}
	_, err = s.List(ctx, owner, ListOptions{Limit: 10})
	checkUndecided(t, "list by the policy", err)
	err = s.mayUseTemplateEntity(ctx, alice, ActionTemplateExecute, "template:default/t", &templates.Template{}, nil)
	checkUndecided(t, "run by the policy", err)

	// A refusal is still one, with its reason.
	s.authz = authz
	authz.deny = map[string]bool{ActionTaskCancel: true}
	if err := s.Cancel(ctx, alice, running); !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "the test policy refuses") {
		t.Errorf("a refused cancel: %v, want forbidden with the reason", err)
	}
}

// actionsFail is an Authorizer whose action checks cannot decide.
type actionsFail struct{ *testAuthorizer }

func (actionsFail) Action(context.Context, auth.Identity, string) error { return connLost() }
