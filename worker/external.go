package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// schemaChecker implements contract.ScaffoldCheckSchema, the local
// activity that checks an external action's input before the plugin is
// called and its output after. It runs on the workflow's own worker: the
// verdict is recorded in history, and a matching output gets this
// worker's mark, which later steps' rendering requires.
type schemaChecker struct{ sc *activities.Scaffold }

// errSchemaRefused is the type of a check refused for its run.
const errSchemaRefused = activities.RunRefusedType

func (c schemaChecker) Check(_ context.Context, in contract.SchemaCheck) (contract.SchemaVerdict, error) {
	refuse := func(msg string) (contract.SchemaVerdict, error) {
		return contract.SchemaVerdict{}, temporal.NewNonRetryableApplicationError(msg, errSchemaRefused, nil)
	}
	trust := c.sc.Trust // read per call: set after registration
	if trust == nil || trust.Verifier == nil || trust.Marker == nil {
		return refuse("this worker cannot verify scaffolder runs: set scaffolder.runSigningKey and scaffolder.secretKey")
	}
	if in.Run == nil {
		return refuse("the run is not signed")
	}
	claims, err := trust.Verifier.Verify(in.Run.Claims, in.Run.Signature)
	if err != nil {
		return refuse(err.Error())
	}
	if in.InputHash == "" || in.InputHash != claims.InputHash {
		return refuse("run signature does not match its plan: the input was changed after the API server signed it")
	}
	if in.Where != contract.CheckInput && in.Where != contract.CheckOutput {
		return refuse(fmt.Sprintf("unknown schema check %q", in.Where))
	}
	// Before the plugin is called: a reload may have switched the action
	// off since the task was compiled.
	if in.Where == contract.CheckInput {
		if err := c.sc.StillEnabled(in.Action, in.StepID, claims.TaskID); err != nil {
			return contract.SchemaVerdict{}, err
		}
	}
	problems, err := templates.ValidateValue(in.Schema, "actions/"+in.Action+"/"+in.Where, in.Value, in.Where)
	if err != nil {
		return contract.SchemaVerdict{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the %s schema of %s does not compile: %v", in.Where, in.Action, err), "InvalidSchema", nil)
	}
	var v contract.SchemaVerdict
	for _, p := range problems {
		v.Problems = append(v.Problems, p.Path+": "+p.Message)
	}
	// A plugin is never handed a task secret (it would get a reference it
	// cannot resolve), nor may it hand one back: a later built-in step
	// would resolve a reference it forged (review).
	if path, ok := secretRefIn(in.Value, "$"); ok {
		what := "the input passes a task secret to a plugin, which never receives secrets"
		if in.Where == contract.CheckOutput {
			what = "the plugin's output holds a secret reference or a NUL character"
		}
		v.Problems = append(v.Problems, path+": "+what)
	}
	if len(v.Problems) == 0 && in.Where == contract.CheckOutput {
		if v.Mark, err = trust.Marker.MarkStep(claims.TaskID, in.StepID, activities.StepCompleted, in.Value); err != nil {
			return contract.SchemaVerdict{}, errors.Join(errors.New("mark the step's output"), err)
		}
	}
	return v, nil
}

// secretRefIn finds a string (a value or a key) holding a secret reference
// or a NUL character in v, and says where.
func secretRefIn(v any, at string) (string, bool) {
	switch t := v.(type) {
	case string:
		return at, strings.ContainsRune(t, 0) || strings.Contains(t, contract.SecretRefPrefix)
	case map[string]any:
		for k, e := range t {
			if strings.ContainsRune(k, 0) {
				return at + "." + strings.ReplaceAll(k, "\x00", "\\0"), true
			}
			if p, ok := secretRefIn(e, at+"."+k); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range t {
			if p, ok := secretRefIn(e, fmt.Sprintf("%s[%d]", at, i)); ok {
				return p, true
			}
		}
	}
	return "", false
}
