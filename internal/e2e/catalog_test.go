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

// startDevWithConfig starts rigger dev with a rigger.yaml.
func startDevWithConfig(t testing.TB, cfgYAML string) (*proc, string) {
	t.Helper()
	return startDevBinWithConfig(t, riggerBin, cfgYAML)
}

// startDevBinWithConfig is startDevWithConfig with another rigger binary.
func startDevBinWithConfig(t testing.TB, bin, cfgYAML string) (*proc, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := freePorts(t)
	p := startBin(t, bin, dir, cleanEnv(), "dev", "--config", cfg,
		"--data-dir", filepath.Join(dir, "data"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api),
		"--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend),
		"--temporal-ui-listen", "")
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	return p, dir
}

// templateConfig writes templates (YAML, one or more documents) to
// dir/template.yaml and a rigger.yaml loading them (and no examples) with
// extra YAML after; it returns the config's path.
func templateConfig(t testing.TB, dir, templates, extra string) string {
	t.Helper()
	tpl := filepath.Join(dir, "template.yaml")
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(tpl, []byte(templates), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("scaffolder:\n  templates: [%s]\ncatalog: {examples: []}\n%s", tpl, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startDevOn starts rigger dev with the config file cfg, its data under
// dir, on the ports ps (without the Temporal UI), and waits until it is
// ready; a test that killed it calls it again to restart the same
// platform.
func startDevOn(t testing.TB, dir, cfg string, ps ports) *proc {
	t.Helper()
	p := start(t, dir, cleanEnv(), "dev", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	return p
}

// waitTotal polls by-query until filter matches want entities.
func waitTotal(t testing.TB, api, filter string, want int) {
	t.Helper()
	waitTotalWithin(t, api, filter, want, 30*time.Second)
}

const corpusDir = "../../../shared/corpus"

// startCorpusDev starts rigger dev with two real catalogs from the corpus as
// static locations — acme (11 groups, 17 users, reached through nested
// Location files) and the showcase's all.yaml — and waits until both are read.
func startCorpusDev(t *testing.T) (*proc, string) {
	t.Helper()
	corpus, err := filepath.Abs(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	p, dir := startDevWithConfig(t, fmt.Sprintf(`catalog:
  refreshInterval: 1h
  locations:
    - type: file
      target: %s/backstage/packages/catalog-model/examples/acme/*.yaml
    - type: file
      target: %s/backstage-showcase/catalog-entities/all.yaml
`, corpus, corpus))
	waitLocationsRefreshed(t, p.api)
	waitTotal(t, p.api, "kind=user", 17)
	waitTotal(t, p.api, "kind=group", 11)
	return p, dir
}

// waitLocationsRefreshed waits until every location has been read once.
func waitLocationsRefreshed(t testing.TB, api string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var locs []struct {
			Data struct{ ID string } `json:"data"`
		}
		doJSON(t, "GET", api+"/api/catalog/locations", nil, &locs)
		pending := 0
		for _, l := range locs {
			var st struct {
				LastRefresh *time.Time `json:"lastRefresh"`
			}
			doJSON(t, "GET", api+"/api/catalog/locations/"+l.Data.ID+"/status", nil, &st)
			if st.LastRefresh == nil {
				pending++
			}
		}
		if len(locs) > 0 && pending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("locations not all refreshed within 30s")
}

type apiError struct {
	Error struct{ Name, Message string } `json:"error"`
}

func TestCatalogIngestionAndAPI(t *testing.T) {
	needBinary(t)
	p, dir := startCorpusDev(t)
	corpus, err := filepath.Abs(corpusDir)
	if err != nil {
		t.Fatal(err)
	}

	var team map[string]any
	if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/group/default/team-a", nil, &team); code != http.StatusOK {
		t.Fatalf("by-name: %d", code)
	}
	rels := fmt.Sprint(team["relations"])
	for _, want := range []string{"childOf group:default/backstage", "hasMember user:default/breanna.davison"} {
		parts := strings.SplitN(want, " ", 2)
		if !strings.Contains(rels, "targetRef:"+parts[1]) || !strings.Contains(rels, "type:"+parts[0]) {
			t.Errorf("team-a relations %s lack %s", rels, want)
		}
	}
	md := team["metadata"].(map[string]any)
	if md["uid"] == "" || md["etag"] == "" {
		t.Errorf("metadata lacks uid/etag: %v", md)
	}

	t.Run("QueryPagingAcrossPages", func(t *testing.T) {
		var all []string
		next := p.api + "/api/catalog/entities/by-query?filter=kind=user&limit=5&orderField=metadata.name,asc&fields=metadata.name"
		pages := 0
		for next != "" {
			var page struct {
				Items []struct {
					Metadata struct{ Name string } `json:"metadata"`
				} `json:"items"`
				TotalItems int `json:"totalItems"`
				PageInfo   struct {
					NextCursor string `json:"nextCursor"`
				} `json:"pageInfo"`
			}
			if code := doJSON(t, "GET", next, nil, &page); code != http.StatusOK || page.TotalItems != 17 {
				t.Fatalf("page %d: %d total %d", pages, code, page.TotalItems)
			}
			for _, it := range page.Items {
				all = append(all, it.Metadata.Name)
			}
			next = ""
			if page.PageInfo.NextCursor != "" {
				next = p.api + "/api/catalog/entities/by-query?limit=5&cursor=" + page.PageInfo.NextCursor
			}
			if pages++; pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		if len(all) != 17 || pages != 4 {
			t.Fatalf("%d users over %d pages: %v", len(all), pages, all)
		}
		for i := 1; i < len(all); i++ {
			if all[i-1] > all[i] {
				t.Fatalf("not in name order: %v", all)
			}
		}
	})

	t.Run("ByRefs", func(t *testing.T) {
		var res struct {
			Items []map[string]any `json:"items"`
		}
		code := doJSON(t, "POST", p.api+"/api/catalog/entities/by-refs",
			map[string]any{"entityRefs": []string{"group:default/team-a", "component:default/missing"}, "fields": []string{"kind"}}, &res)
		if code != http.StatusOK || len(res.Items) != 2 || res.Items[0]["kind"] != "Group" || res.Items[1] != nil {
			t.Fatalf("by-refs: %d %v", code, res.Items)
		}
	})

	t.Run("ValidateEntity", func(t *testing.T) {
		var e apiError
		code := doJSON(t, "POST", p.api+"/api/catalog/validate-entity", map[string]any{"location": "url:x",
			"entity": map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{"name": "x"}, "spec": map[string]any{"type": "service"}}}, &e)
		if code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "spec.owner: required field is missing") {
			t.Fatalf("validate-entity: %d %+v", code, e)
		}
	})

	t.Run("HostileLocationsChangeNothing", func(t *testing.T) {
		var before struct {
			TotalItems int `json:"totalItems"`
		}
		doJSON(t, "GET", p.api+"/api/catalog/entities/by-query?limit=0", nil, &before)
		bomb := filepath.Join(dir, "bomb.yaml")
		os.WriteFile(bomb, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: boom\n  a: &a [x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b]\nspec: {type: s, lifecycle: l, owner: o}\n"), 0o600)
		deep := filepath.Join(dir, "deep.yaml")
		os.WriteFile(deep, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: deep\nspec:\n  x: "+strings.Repeat("[", 1000)+strings.Repeat("]", 1000)+"\n"), 0o600)
		big := filepath.Join(dir, "big.yaml")
		os.WriteFile(big, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: big\n  description: "+strings.Repeat("x", 10<<20)+"\n"), 0o600)
		cases := []struct {
			typ, target, want string
		}{
			{"file", bomb, "anchors and aliases are not allowed"},
			{"file", deep, "nested deeper than 64 levels"},
			{"file", big, "more than the limit of"},
			{"url", "http://127.0.0.1:1/catalog-info.yaml", "not in the allowed hosts"},
			{"url", "http://169.254.169.254/latest/meta-data/", "not in the allowed hosts"},
			{"file", filepath.Join(corpus, "backstage/packages/catalog-model/examples/acme/team-a-group.yaml"), "only locations in rigger.yaml"},
		}
		for _, c := range cases {
			var res struct {
				Location struct{ ID string } `json:"location"`
			}
			if code := doJSON(t, "POST", p.api+"/api/catalog/locations", map[string]any{"type": c.typ, "target": c.target}, &res); code != http.StatusCreated {
				t.Fatalf("%s: register: %d", c.target, code)
			}
			// The refresh records its error on the location.
			deadline := time.Now().Add(20 * time.Second)
			var status struct {
				LastError string `json:"lastError"`
			}
			for {
				doJSON(t, "GET", p.api+"/api/catalog/locations/"+res.Location.ID+"/status", nil, &status)
				if status.LastError != "" || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !strings.Contains(status.LastError, c.want) {
				t.Errorf("%s: location error %q does not mention %q", c.target, status.LastError, c.want)
			}
		}
		var after struct {
			TotalItems int `json:"totalItems"`
		}
		doJSON(t, "GET", p.api+"/api/catalog/entities/by-query?limit=0", nil, &after)
		if after.TotalItems != before.TotalItems {
			t.Errorf("hostile locations changed the entity count from %d to %d", before.TotalItems, after.TotalItems)
		}
	})

	t.Run("RegisterDeleteLocation", func(t *testing.T) {
		f := filepath.Join(dir, "svc.yaml")
		os.WriteFile(f, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-x\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o600)
		// A dry run shows the entities and stores nothing.
		var dry struct {
			Entities []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"entities"`
			Exists bool `json:"exists"`
		}
		if code := doJSON(t, "POST", p.api+"/api/catalog/locations?dryRun=true", map[string]any{"type": "file", "target": f}, &dry); code != http.StatusCreated || len(dry.Entities) != 1 || dry.Entities[0].Metadata.Name != "svc-x" || dry.Exists {
			t.Fatalf("dry run: %d %+v", code, dry)
		}
		waitTotal(t, p.api, "metadata.name=svc-x", 0)
		var dryErr apiError
		if code := doJSON(t, "POST", p.api+"/api/catalog/locations?dryRun=true", map[string]any{"type": "file", "target": filepath.Join(dir, "bomb.yaml")}, &dryErr); code != http.StatusBadRequest || !strings.Contains(dryErr.Error.Message, "anchors and aliases") {
			t.Fatalf("dry run of a bad file: %d %+v", code, dryErr)
		}
		var res struct {
			Location struct{ ID string } `json:"location"`
		}
		if code := doJSON(t, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": f}, &res); code != http.StatusCreated {
			t.Fatalf("register: %d", code)
		}
		var e apiError
		if code := doJSON(t, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": f}, &e); code != http.StatusConflict {
			t.Errorf("register twice: %d %+v", code, e)
		}
		waitTotal(t, p.api, "kind=component,metadata.name=svc-x", 1)
		waitTotal(t, p.api, "relations.ownedby=group:default/team-a,kind=component", 1)
		var loc map[string]any
		if code := doJSON(t, "GET", p.api+"/api/catalog/locations/by-entity/component/default/svc-x", nil, &loc); code != http.StatusOK || loc["id"] != res.Location.ID {
			t.Errorf("by-entity: %d %v", code, loc)
		}
		// Analyze-location marks the file's entity as registered now.
		var an struct {
			ExistingEntityFiles []struct {
				IsRegistered bool
				Entity       struct{ Metadata struct{ Name string } }
				Location     struct{ Type, Target string }
			} `json:"existingEntityFiles"`
			GenerateEntities []any `json:"generateEntities"`
		}
		if code := doJSON(t, "POST", p.api+"/api/catalog/analyze-location", map[string]any{"location": map[string]any{"type": "file", "target": f}}, &an); code != http.StatusOK ||
			len(an.ExistingEntityFiles) != 1 || !an.ExistingEntityFiles[0].IsRegistered || an.ExistingEntityFiles[0].Entity.Metadata.Name != "svc-x" || an.ExistingEntityFiles[0].Location.Target != f || an.GenerateEntities == nil {
			t.Errorf("analyze-location: %d %+v", code, an)
		}
		if code := doJSON(t, "POST", p.api+"/api/catalog/analyze-location", map[string]any{"location": map[string]any{"type": "file", "target": filepath.Join(dir, "bomb.yaml")}}, &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "anchors and aliases") {
			t.Errorf("analyze-location of a bad file: %d %+v", code, e)
		}
		// Ancestry: the entity under the Location entity of its location.
		var anc struct {
			RootEntityRef string `json:"rootEntityRef"`
			Items         []struct {
				Entity struct {
					Kind string
					Spec map[string]any
				}
				ParentEntityRefs []string `json:"parentEntityRefs"`
			}
		}
		if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/svc-x/ancestry", nil, &anc); code != http.StatusOK || len(anc.Items) != 2 ||
			!strings.HasPrefix(anc.RootEntityRef, "location:default/generated-") || anc.Items[0].ParentEntityRefs[0] != anc.RootEntityRef ||
			anc.Items[1].Entity.Kind != "Location" || anc.Items[1].Entity.Spec["target"] != f {
			t.Errorf("ancestry: %d %+v", code, anc)
		}
		// The owner sees the reverse relation.
		var team map[string]any
		doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/group/default/team-a", nil, &team)
		if !strings.Contains(fmt.Sprint(team["relations"]), "component:default/svc-x") {
			t.Errorf("team-a lacks ownerOf svc-x: %v", team["relations"])
		}
		if code := doJSON(t, "DELETE", p.api+"/api/catalog/locations/"+res.Location.ID, nil, nil); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
		waitTotal(t, p.api, "kind=component,metadata.name=svc-x", 0)
	})

	t.Run("CLIImport", func(t *testing.T) {
		f := filepath.Join(dir, "cli.yaml")
		os.WriteFile(f, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: from-cli\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o600)
		imp := start(t, dir, cleanEnv("RIGGER_SERVER="+p.api), "catalog", "import", f)
		if code := imp.wait(t, 60*time.Second); code != 0 || !strings.Contains(imp.stdout.String(), "waiting for the first refresh") || !strings.Contains(imp.stdout.String(), "done") {
			t.Fatalf("catalog import: exit %d\n%s\n%s", code, imp.stdout.String(), imp.stderr.String())
		}
		waitTotal(t, p.api, "metadata.name=from-cli", 1)
		bad := filepath.Join(dir, "cli-bad.yaml")
		os.WriteFile(bad, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n"), 0o600)
		imp = start(t, dir, cleanEnv(), "catalog", "import", "--server", p.api, bad)
		if code := imp.wait(t, 60*time.Second); code != 1 || !strings.Contains(imp.stderr.String(), "spec: required object is missing") {
			t.Fatalf("catalog import of a bad file: exit %d\n%s", code, imp.stderr.String())
		}
	})

	t.Run("BadRequests", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/catalog/entities/by-query?limit=-1"},
			{"GET", "/api/catalog/entities/by-query?cursor=bm90LWpzb24"},
			{"GET", "/api/catalog/entities?filter=%3Dx"},
			{"GET", "/api/catalog/entities?order=sideways:metadata.name"},
			{"GET", "/api/catalog/entity-facets"},
		} {
			var e apiError
			if code := doJSON(t, c.method, p.api+c.path, nil, &e); code != http.StatusBadRequest || e.Error.Name != "InputError" {
				t.Errorf("%s %s: %d %+v", c.method, c.path, code, e)
			}
		}
		var e apiError
		if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/nope", nil, &e); code != http.StatusNotFound || e.Error.Name != "NotFoundError" {
			t.Errorf("missing entity: %d %+v", code, e)
		}
	})
}
