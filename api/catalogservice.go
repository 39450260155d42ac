package api

import "github.com/riggerdev/rigger/internal/catalogsvc"

// newCatalog builds the catalog's service layer from the server's deps.
func newCatalog(d Deps) *catalogsvc.Service {
	return catalogsvc.New(catalogsvc.Deps{
		Logger: d.Logger, Store: d.Catalog.Store, Temporal: d.Temporal, Policy: d.Policy,
		RefreshInterval: d.Catalog.RefreshInterval, AllowFileLocations: d.Catalog.AllowFileLocations, Limits: d.Catalog.Limits, Model: d.Catalog.Model, Docs: d.Catalog.Docs, DocsExternal: d.Catalog.DocsExternal,
	})
}
