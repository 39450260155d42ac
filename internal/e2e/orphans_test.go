package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const twoComponents = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: stays}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: vanishes}
spec: {type: service, lifecycle: production, owner: team-a}
`

// TestOrphanStrategyKeep: catalog.orphanStrategy: keep in rigger.yaml
// reaches the refresh activity: an entity that disappears from its
// location's file stays in the catalog, marked backstage.io/orphan, instead
// of being deleted (the default).
func TestOrphanStrategyKeep(t *testing.T) {
	needBinary(t)
	file := filepath.Join(t.TempDir(), "catalog-info.yaml")
	if err := os.WriteFile(file, []byte(twoComponents), 0o600); err != nil {
		t.Fatal(err)
	}
	p, _ := startDevWithConfig(t, fmt.Sprintf("catalog:\n  orphanStrategy: keep\n  locations:\n    - {type: file, target: %s}\n", file))
	waitTotal(t, p.api, "kind=component", 2)
	if err := os.WriteFile(file, []byte(strings.Split(twoComponents, "---\n")[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := doJSON(t, "POST", p.api+"/api/catalog/refresh", map[string]any{"entityRef": "component:default/stays"}, nil); code != http.StatusOK {
		t.Fatalf("refresh: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var e struct {
			Metadata struct{ Annotations map[string]string }
		}
		code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/vanishes", nil, &e)
		if code == http.StatusNotFound {
			t.Fatal("the entity that left its file was deleted; orphanStrategy keep must keep it as an orphan")
		}
		if code == http.StatusOK && e.Metadata.Annotations["backstage.io/orphan"] == "true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the entity was never marked as an orphan: %d %+v", code, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/stays", nil, nil); code != http.StatusOK {
		t.Errorf("the entity still in the file: %d", code)
	}
}
