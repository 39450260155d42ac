package credentials

import (
	"context"
	"fmt"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
)

// ActionExecute is the permission the broker decides.
const ActionExecute = permission.ActionExecute

// PolicyDecider decides a need with the Cedar policy: may the run's user
// (its ownership refs, or a service's scopes, as the API server signed
// them) execute the need's action on its integration and target. A nil
// Policy refuses.
type PolicyDecider struct {
	Policy *permission.Policy
}

// MayUse implements Decider.
func (d PolicyDecider) MayUse(_ context.Context, need Need) error {
	if d.Policy == nil {
		return fmt.Errorf("%w: no permission policy on this worker", errs.ErrForbidden)
	}
	p := permission.Principal{Ref: need.Run.UserRef, Ent: need.Run.Ent, Service: need.Run.Service, Scopes: need.Run.Scopes, Channel: need.Run.Channel}
	dec := d.Policy.Authorize(p, ActionExecute, permission.ActionTargetResource(need.Action, need.Integration, need.Target))
	if dec.Allowed {
		return nil
	}
	return fmt.Errorf("%w: %s", errs.ErrForbidden, dec.Reason)
}
