package api

import (
	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/mcpserver"
)

// newCatalog builds the catalog's service layer from the server's deps.
func newCatalog(d Deps) *catalogsvc.Service {
	return catalogsvc.New(catalogsvc.Deps{
		Logger: d.Logger, Store: d.Catalog.Store, Temporal: d.Temporal, Policy: d.Policy,
		RefreshInterval: d.Catalog.RefreshInterval, AllowFileLocations: d.Catalog.AllowFileLocations, Limits: d.Catalog.Limits, Model: d.Catalog.Model, Docs: d.Catalog.Docs, DocsExternal: d.Catalog.DocsExternal,
	})
}

// mcpReceipts keeps the agents' dry-run receipts in the catalog's database
// (nil when its store cannot: template_run is then refused).
func mcpReceipts(d Deps) mcpserver.Receipts {
	r, _ := d.Catalog.Store.(mcpserver.Receipts)
	return r
}
