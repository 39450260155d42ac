package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// pagedTemplate: page 2 is shown when needsDatabase is set; page 3 when
// page 2's engine (a value of an earlier page) is postgres; page 4 never.
const pagedTemplate = `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template",
"metadata":{"name":"paged","namespace":"default"},
"spec":{"type":"service","parameters":[
 {"title":"Service","required":["name"],"properties":{"name":{"type":"string"},"needsDatabase":{"type":"boolean"}}},
 {"title":"Database","if":"${{ parameters.needsDatabase }}","required":["engine"],"properties":{"engine":{"type":"string","enum":["postgres","mysql"]}}},
 {"title":"Postgres","if":"${{ parameters.engine == 'postgres' }}","required":["pgVersion"],"properties":{"pgVersion":{"type":"integer","minimum":14}}},
 {"title":"Never","if":false,"required":["ghost"],"properties":{"ghost":{"type":"integer"}}}
],
"steps":[{"id":"fails","action":"debug:log","input":{"message":"hi"}}]}}`

// TestConditionalPagesAgree: task creation, dry runs and Compile (what
// rigger template dry-run uses) accept and refuse the same values, with
// the same message, and run with the same parameters. Embedded Temporal,
// real SQLite catalog; the stand-in workflow fails at once (its step is
// "fails"), so each task ends without a cancel.
func TestConditionalPagesAgree(t *testing.T) {
	ctx := t.Context()
	var dryParams map[string]any
	s := pagedService(t, func(_ context.Context, p templates.Plan, _ map[string]string, _ []contract.DryRunFile, _ permission.Subject) (*workflows.DryRunResult, error) {
		dryParams = p.Parameters
		return &workflows.DryRunResult{}, nil
	})
	tpl, err := templates.Parse("paged", []byte(pagedTemplate))
	if err != nil {
		t.Fatal(err)
	}
	who := auth.Identity{Ref: "user:default/alice"}
	tests := []struct {
		name   string
		values map[string]any
		params map[string]any // nil: refused with err
		err    string
	}{
		{"all hidden, their values dropped", map[string]any{"name": "a", "engine": "oracle", "pgVersion": 1, "ghost": "x"},
			map[string]any{"name": "a"}, ""},
		{"shown page's required field", map[string]any{"name": "a", "needsDatabase": true},
			nil, `parameters.engine: required (page 2 "Database")`},
		{"condition over an earlier page's value", map[string]any{"name": "a", "needsDatabase": true, "engine": "postgres"},
			nil, `parameters.pgVersion: required (page 3 "Postgres")`},
		{"shown pages validated", map[string]any{"name": "a", "needsDatabase": true, "engine": "postgres", "pgVersion": 9},
			nil, `parameters.pgVersion: minimum: got 9, want 14 (page 3 "Postgres")`},
		{"other branch", map[string]any{"name": "a", "needsDatabase": true, "engine": "mysql", "pgVersion": 9},
			map[string]any{"name": "a", "needsDatabase": true, "engine": "mysql"}, ""},
		{"everything shown", map[string]any{"name": "a", "needsDatabase": true, "engine": "postgres", "pgVersion": 16},
			map[string]any{"name": "a", "needsDatabase": true, "engine": "postgres", "pgVersion": 16}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, compileErr := templates.Compile(tpl, tt.values, contract.NewRegistry(nil), templates.CompileOptions{})
			dryParams = nil
			_, dryErr := s.DryRun(ctx, who, DryRunRequest{Template: []byte(pagedTemplate), Values: tt.values})
			id, _, createErr := s.Create(ctx, who, CreateRequest{TemplateRef: "template:default/paged", Values: tt.values})
			if tt.params == nil {
				for what, err := range map[string]error{"compile": compileErr, "dry run": dryErr, "create": createErr} {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Errorf("%s: %v, want an error with %q", what, err, tt.err)
					}
				}
				if !errors.Is(dryErr, errs.ErrInvalid) || !errors.Is(createErr, errs.ErrInvalid) {
					t.Errorf("dry run %v, create %v: want invalid (400)", dryErr, createErr)
				}
				return
			}
			if compileErr != nil || dryErr != nil || createErr != nil {
				t.Fatalf("compile %v, dry run %v, create %v", compileErr, dryErr, createErr)
			}
			task := waitStatus(t, s, who, id, StatusFailed)
			in, err := s.input(ctx, task)
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]map[string]any{"compile": plan.Parameters, "dry run": dryParams, "create": in.Plan.Parameters} {
				if !sameJSON(t, got, tt.params) {
					t.Errorf("%s ran with %v, want %v", what, got, tt.params)
				}
			}
		})
	}
}

// sameJSON compares values as JSON (numbers may be int64 or float64).
func sameJSON(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return a != nil && string(ja) == string(jb)
}

// pagedService is the service over embedded Temporal (the stand-in
// workflow) and a SQLite catalog holding pagedTemplate.
func pagedService(t *testing.T, dryRun DryRunFunc) *Service {
	t.Helper()
	e := store.Entity{Ref: "template:default/paged", Body: json.RawMessage(pagedTemplate), Hash: "1"}
	return serviceOver(t, &testAuthorizer{scope: ListScope{All: true}}, dryRun, e)
}
