package terraform

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// awsNeed is the AWS session a step declares with its aws input:
// {resource: an ARN, actions: ["s3:GetObject", …]}. The session allows
// those actions on that resource and nothing else.
type awsNeed struct {
	resource string
	actions  []string
}

var (
	arnRE       = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:\S+$`)
	awsActionRE = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`)
)

// awsInput reads the optional aws input.
func awsInput(input map[string]any) (*awsNeed, error) {
	raw, ok := input["aws"]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: input aws must be an object {resource, actions}, not %T", errs.ErrInvalid, raw)
	}
	n := &awsNeed{}
	if r, _ := m["resource"].(string); arnRE.MatchString(r) {
		n.resource = r
	} else {
		return nil, fmt.Errorf("%w: input aws.resource: want one ARN, e.g. arn:aws:s3:::bucket/teams/a/*", errs.ErrInvalid)
	}
	list, _ := m["actions"].([]any)
	for _, a := range list {
		s, _ := a.(string)
		if !awsActionRE.MatchString(s) || strings.HasPrefix(s, "*") {
			return nil, fmt.Errorf("%w: input aws.actions: %q is not an action like s3:GetObject", errs.ErrInvalid, a)
		}
		n.actions = append(n.actions, s)
	}
	if len(n.actions) == 0 {
		return nil, fmt.Errorf("%w: input aws.actions: name at least one action", errs.ErrInvalid)
	}
	slices.Sort(n.actions)
	n.actions = slices.Compact(n.actions)
	return n, nil
}

func (n *awsNeed) String() string {
	return fmt.Sprintf("an AWS session allowing only %s on %s", strings.Join(n.actions, ", "), n.resource)
}

// awsEnv asks the broker for the session the step declares (none: no
// AWS variables at all) and returns the variables handing it to
// terraform; held collects its secrets for scrubbing.
func (s *service) awsEnv(ctx context.Context, env step.Env, action string, n *awsNeed, held *held) (map[string]string, error) {
	if n == nil {
		return nil, nil
	}
	perms := make(map[string]string, len(n.actions))
	for _, a := range n.actions {
		perms[a] = "allow"
	}
	cred, err := s.broker.Get(ctx, credentials.Need{
		Integration: aws.Integration, Action: action, Target: n.resource, Permissions: perms,
		SessionPolicy: aws.SessionPolicy(n.resource, n.actions...), Run: env.Run,
	})
	switch {
	case errors.Is(err, errs.ErrForbidden), errors.Is(err, credentials.ErrNoIntegration), errors.Is(err, errs.ErrInvalid):
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	case err != nil:
		return nil, err
	}
	held.secrets = append(held.secrets, cred.Secrets()...)
	held.source = cred.Source
	out := map[string]string{}
	for _, kv := range s.aws.Env(cred) {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out, nil
}

// held is what an action run holds that must not leave it.
type held struct {
	secrets []credentials.Secret
	// source names the AWS session for the log.
	source string
	// notes are lines the step's log starts with (what the sandbox
	// could not confine).
	notes []string
}

type actionImpl func(ctx context.Context, in contract.ActionInput, h *held) (contract.ActionOutput, error)

// scrubbed runs f and removes the secrets it held (an AWS session's)
// from its logs and error.
func scrubbed(f actionImpl) activities.ActionFunc {
	return func(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
		var h held
		out, err := f(ctx, in, &h)
		if len(h.notes) > 0 {
			out.Logs = append(h.notes, out.Logs...)
		}
		if len(h.secrets) == 0 {
			return out, err
		}
		out.Logs = append([]string{"terraform ran with the AWS session " + h.source + " and no other cloud credentials"}, out.Logs...)
		for i, l := range out.Logs {
			out.Logs[i] = credentials.Scrub(l, h.secrets...)
		}
		if err == nil {
			return out, nil
		}
		msg := credentials.Scrub(err.Error(), h.secrets...)
		var ae *temporal.ApplicationError
		switch {
		case errors.As(err, &ae) && ae.NonRetryable():
			return out, temporal.NewNonRetryableApplicationError(msg, ae.Type(), nil)
		case errors.As(err, &ae):
			return out, temporal.NewApplicationError(msg, ae.Type())
		}
		return out, errors.New(msg)
	}
}
