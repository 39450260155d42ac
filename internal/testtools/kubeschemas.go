package testtools

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// KubernetesVersion is the Kubernetes release whose API the chart is
// checked against: its OpenAPI document comes from the k8s.io/kubernetes
// module of that version (api/openapi-spec/swagger.json), through the Go
// module proxy, the only source of it on a machine without the internet.
const KubernetesVersion = "v1.36.3"

// PrometheusOperatorVersion is the release of the Prometheus operator whose
// ServiceMonitor CustomResourceDefinition (shipped in its Go module, under
// example/prometheus-operator-crd) the chart's ServiceMonitor is checked
// against.
const PrometheusOperatorVersion = "v0.85.0"

// KubernetesSchemas returns a directory of standalone, strict JSON schemas,
// one per Kubernetes kind and API version, named the way kubeconform looks
// them up (deployment-apps-v1.json, service-v1.json): pass
// dir+"/{{ .ResourceKind }}{{ .KindSuffix }}.json" as its -schema-location.
// They are made once per machine from the OpenAPI document of
// KubernetesVersion (a ~20 MB module download and about a second of work)
// and cached beside the tools. A machine that cannot make them fails t
// under CI=true and skips it otherwise.
func KubernetesSchemas(t testing.TB) string {
	t.Helper()
	entry := "kubernetes-schemas-" + KubernetesVersion + "-prometheus-operator-" + PrometheusOperatorVersion
	dir, err := cached(entry, "servicemonitor-monitoring-v1.json", func(scratch string) error {
		start := time.Now()
		spec, err := moduleFile("k8s.io/kubernetes@"+KubernetesVersion, "api/openapi-spec/swagger.json")
		if err != nil {
			return err
		}
		n, err := WriteKubernetesSchemas(spec, scratch)
		if err != nil {
			return err
		}
		crd, err := moduleFile("github.com/prometheus-operator/prometheus-operator@"+PrometheusOperatorVersion,
			"example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml")
		if err != nil {
			return err
		}
		m, err := WriteCRDSchemas(crd, scratch)
		if err != nil {
			return err
		}
		t.Logf("made %d Kubernetes %s JSON schemas and %d of the Prometheus operator %s in %s (once per machine)",
			n, KubernetesVersion, m, PrometheusOperatorVersion, time.Since(start).Round(time.Millisecond))
		return nil
	})
	if err != nil {
		unavailable(t, "kubernetes JSON schemas: "+err.Error())
	}
	return dir
}

// moduleFile downloads a Go module version into the module cache and
// reads one of its files (a slash-separated path).
func moduleFile(modVersion, file string) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("no go command to download %s: %w", modVersion, err)
	}
	cmd := exec.Command(goBin, "mod", "download", "-json", modVersion)
	// Outside any module: the download must not touch the caller's go.mod.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); jerr != nil || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download %s: %v %s", modVersion, err, mod.Error)
	}
	return os.ReadFile(filepath.Join(mod.Dir, filepath.FromSlash(file)))
}

// WriteCRDSchemas writes a strict JSON schema for each version of the
// CustomResourceDefinition crd (YAML) into dir, named as kubeconform looks
// them up, and returns how many: its openAPIV3Schema, with objects that
// list properties closed to others (unless they preserve unknown fields)
// and apiVersion and kind pinned.
func WriteCRDSchemas(crd []byte, dir string) (int, error) {
	var def struct {
		Spec struct {
			Group string `yaml:"group"`
			Names struct {
				Kind string `yaml:"kind"`
			} `yaml:"names"`
			Versions []struct {
				Name   string `yaml:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
				} `yaml:"schema"`
			} `yaml:"versions"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(crd, &def); err != nil {
		return 0, fmt.Errorf("read the CustomResourceDefinition: %w", err)
	}
	written := 0
	for _, v := range def.Spec.Versions {
		if v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		root := strictCRDSchema(v.Schema.OpenAPIV3Schema).(map[string]any)
		props, _ := root["properties"].(map[string]any)
		if props == nil {
			return written, fmt.Errorf("%s %s: the schema has no properties", def.Spec.Names.Kind, v.Name)
		}
		apiVersion := def.Spec.Group + "/" + v.Name
		props["apiVersion"] = map[string]any{"type": "string", "enum": []any{apiVersion}}
		props["kind"] = map[string]any{"type": "string", "enum": []any{def.Spec.Names.Kind}}
		root["$schema"] = "http://json-schema.org/draft-04/schema#"
		data, err := json.Marshal(root)
		if err != nil {
			return written, err
		}
		if err := os.WriteFile(filepath.Join(dir, kubeconformName(def.Spec.Names.Kind, apiVersion)), data, 0o644); err != nil {
			return written, err
		}
		written++
	}
	if written == 0 {
		return 0, fmt.Errorf("the CustomResourceDefinition has no version with a schema")
	}
	return written, nil
}

// strictCRDSchema is a structural CRD schema as strict JSON schema.
func strictCRDSchema(v any) any {
	switch s := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range s {
			switch k {
			case "description", "format":
			case "properties":
				props := map[string]any{}
				for p, ps := range x.(map[string]any) {
					props[p] = strictCRDSchema(ps)
				}
				out[k] = props
			default:
				out[k] = strictCRDSchema(x)
			}
		}
		_, hasProps := out["properties"]
		_, set := out["additionalProperties"]
		if hasProps && !set && out["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		return out
	case []any:
		out := make([]any, len(s))
		for i, x := range s {
			out[i] = strictCRDSchema(x)
		}
		return out
	}
	return v
}

// WriteKubernetesSchemas turns an OpenAPI v2 document of the Kubernetes
// API into one standalone JSON schema (draft 4) per kind and version in
// dir, and returns how many it wrote. Each holds its kind's definition
// with every definition it reaches under "definitions", and is strict:
// an object with properties allows no others, apiVersion and kind must
// be the file's own. int-or-string fields take either; quantities take a
// string or a number, as the API server does. Descriptions and formats
// are left out (they validate nothing kubeconform checks).
func WriteKubernetesSchemas(openapi []byte, dir string) (int, error) {
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		return 0, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	if len(doc.Definitions) == 0 {
		return 0, fmt.Errorf("the OpenAPI document has no definitions")
	}
	defs := map[string]any{}
	for name, d := range doc.Definitions {
		defs[name] = strictSchema(name, d)
	}
	names := make([]string, 0, len(doc.Definitions))
	for name := range doc.Definitions {
		names = append(names, name)
	}
	sort.Strings(names)
	written := 0
	for _, name := range names {
		gvks, _ := doc.Definitions[name]["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if version == "" || kind == "" {
				continue
			}
			apiVersion := version
			if group != "" {
				apiVersion = group + "/" + version
			}
			root := copyMap(defs[name].(map[string]any))
			props := copyMap(root["properties"].(map[string]any))
			props["apiVersion"] = map[string]any{"type": "string", "enum": []any{apiVersion}}
			props["kind"] = map[string]any{"type": "string", "enum": []any{kind}}
			root["properties"] = props
			closure := map[string]any{}
			reach(root, defs, closure)
			root["definitions"] = closure
			root["$schema"] = "http://json-schema.org/draft-04/schema#"
			data, err := json.Marshal(root)
			if err != nil {
				return written, err
			}
			if err := os.WriteFile(filepath.Join(dir, kubeconformName(kind, apiVersion)), data, 0o644); err != nil {
				return written, err
			}
			written++
		}
	}
	return written, nil
}

// kubeconformName is the file name kubeconform's
// {{ .ResourceKind }}{{ .KindSuffix }}.json gives a kind and apiVersion:
// the lower-case kind, the first label of the group, the version.
func kubeconformName(kind, apiVersion string) string {
	group, version, hasGroup := strings.Cut(apiVersion, "/")
	suffix := "-" + strings.ToLower(strings.Split(group, ".")[0])
	if hasGroup {
		suffix += "-" + strings.ToLower(version)
	}
	return strings.ToLower(kind) + suffix + ".json"
}

// strictSchema is one OpenAPI schema as strict JSON schema.
func strictSchema(name string, s map[string]any) any {
	switch {
	case name == "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	case s["format"] == "int-or-string":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	}
	out := map[string]any{}
	for k, v := range s {
		switch k {
		case "description", "format":
			continue
		case "properties":
			props := map[string]any{}
			for p, ps := range v.(map[string]any) {
				props[p] = strictSchema("", ps.(map[string]any))
			}
			out[k] = props
		case "items", "additionalProperties":
			if m, ok := v.(map[string]any); ok {
				out[k] = strictSchema("", m)
			} else {
				out[k] = v
			}
		default:
			out[k] = v
		}
	}
	if _, ok := out["properties"]; ok {
		if _, set := out["additionalProperties"]; !set {
			out["additionalProperties"] = false
		}
	}
	return out
}

// reach adds to closure every definition s refers to, transitively.
func reach(s any, defs, closure map[string]any) {
	switch v := s.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/definitions/")
			if _, seen := closure[name]; !seen {
				if d, ok := defs[name]; ok {
					closure[name] = d
					reach(d, defs, closure)
				}
			}
		}
		for k, x := range v {
			if k != "definitions" {
				reach(x, defs, closure)
			}
		}
	case []any:
		for _, x := range v {
			reach(x, defs, closure)
		}
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
