package api

import (
	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/tasks"
)

// newTasks builds the scaffolder's service layer from the server's deps.
// With a permission policy, the policy decides about templates and tasks.
func newTasks(d Deps) *tasks.Service {
	authz := d.Scaffolder.Authorizer
	if authz == nil && d.Policy != nil && d.Catalog.Store != nil {
		authz = tasks.PolicyAuthorizer{Policy: d.Policy, Catalog: d.Catalog.Store}
	}
	return tasks.New(tasks.Deps{
		Logger: d.Logger, Temporal: d.Temporal, Namespace: d.Namespace, Converter: payloadcodec.DataConverter(d.Codec.Codec),
		Entities: d.Catalog.Store, RenderEntity: catalogsvc.Render,
		Actions: d.Scaffolder.Actions, Secrets: d.Scaffolder.Secrets, DryRun: d.Scaffolder.DryRun,
		Signer: d.Scaffolder.Signer, Marker: d.Scaffolder.Marker,
		WorkspaceDir: d.Scaffolder.WorkspaceDir, WorkspaceTTL: d.Scaffolder.WorkspaceTTL,
		Authorizer: authz,
		Waits:      waitRouter(d),
		UserTokens: userTokenGranter(d),
	})
}

// userTokenGranter is the sign-in's user token keeper, when there is one.
func userTokenGranter(d Deps) tasks.UserTokenGranter {
	if d.SignIn.UserTokens == nil {
		return nil
	}
	return d.SignIn.UserTokens
}

// waitRouter is the store's wait table, when there is a store.
func waitRouter(d Deps) tasks.WaitRouter {
	if d.Catalog.Store == nil {
		return nil
	}
	return d.Catalog.Store
}
