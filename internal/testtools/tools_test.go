package testtools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestBinaryReusesTheCache: a tool already in the cache is returned as is
// (no go install runs: there is no go on PATH for it to find).
func TestBinaryReusesTheCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("RIGGER_TOOL_CACHE", cache)
	t.Setenv("PATH", "")
	tool, ok := Known("terraform")
	if !ok {
		t.Fatal("terraform is not known")
	}
	bin := filepath.Join(cache, "terraform-"+tool.Version, "terraform")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Binary(t, "terraform"); got != bin {
		t.Fatalf("Binary = %s, want %s", got, bin)
	}
	if _, err := binary(t, "nonesuch"); err == nil {
		t.Fatal("an unknown tool was built")
	}
	// Not in the cache and no go to build it with: an error, which Binary
	// turns into a failure under CI and a skip elsewhere.
	if _, err := binary(t, "minio"); err == nil {
		t.Fatal("minio was found in an empty cache")
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("RIGGER_TOOL_CACHE", "")
	t.Setenv("HOME", "/home/x")
	if d, _ := CacheDir(); d != "/home/x/.cache/rigger/tools" {
		t.Fatalf("CacheDir = %s", d)
	}
	t.Setenv("RIGGER_TOOL_CACHE", "/c")
	if d, _ := CacheDir(); d != "/c" {
		t.Fatalf("CacheDir = %s", d)
	}
}

func TestKubeconformName(t *testing.T) {
	for _, c := range []struct{ kind, apiVersion, want string }{
		{"Service", "v1", "service-v1.json"},
		{"Deployment", "apps/v1", "deployment-apps-v1.json"},
		{"NetworkPolicy", "networking.k8s.io/v1", "networkpolicy-networking-v1.json"},
		{"HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscaler-autoscaling-v2.json"},
	} {
		if got := kubeconformName(c.kind, c.apiVersion); got != c.want {
			t.Errorf("kubeconformName(%s, %s) = %s, want %s", c.kind, c.apiVersion, got, c.want)
		}
	}
}

// TestWriteKubernetesSchemas: a kind's schema is standalone (the
// definitions it reaches travel with it), strict, pinned to its own
// apiVersion and kind, and takes either form of an int-or-string.
func TestWriteKubernetesSchemas(t *testing.T) {
	openapi := `{"definitions": {
	  "io.k8s.api.core.v1.Service": {
	    "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Service"}],
	    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
	      "spec": {"$ref": "#/definitions/io.k8s.api.core.v1.ServiceSpec", "description": "d"}}},
	  "io.k8s.api.core.v1.ServiceSpec": {"properties": {"port": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}}},
	  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
	  "io.k8s.api.core.v1.Unrelated": {"properties": {"x": {"type": "string"}}}
	}}`
	dir := t.TempDir()
	n, err := WriteKubernetesSchemas([]byte(openapi), dir)
	if err != nil || n != 1 {
		t.Fatalf("WriteKubernetesSchemas = %d, %v; want 1 schema", n, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "service-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		AdditionalProperties *bool `json:"additionalProperties"`
		Properties           map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.AdditionalProperties == nil || *s.AdditionalProperties {
		t.Error("the schema allows unknown fields")
	}
	if len(s.Properties["kind"].Enum) != 1 || s.Properties["kind"].Enum[0] != "Service" || s.Properties["apiVersion"].Enum[0] != "v1" {
		t.Errorf("kind/apiVersion not pinned: %+v", s.Properties)
	}
	if _, ok := s.Definitions["io.k8s.api.core.v1.ServiceSpec"]; !ok {
		t.Error("ServiceSpec is not carried along")
	}
	if _, ok := s.Definitions["io.k8s.api.core.v1.Unrelated"]; ok {
		t.Error("an unreachable definition is carried along")
	}
	if _, ok := s.Definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"]; !ok {
		t.Errorf("IntOrString is %v, want oneOf string/integer", s.Definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"])
	}
}

// TestWriteCRDSchemas: a CustomResourceDefinition's version becomes a
// strict schema pinned to its apiVersion and kind; an object that keeps
// unknown fields stays open.
func TestWriteCRDSchemas(t *testing.T) {
	crd := `
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor}
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              description: d
              properties:
                endpoints: {type: array, items: {type: object, properties: {port: {type: string}}}}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {a: {type: string}}}
`
	dir := t.TempDir()
	if n, err := WriteCRDSchemas([]byte(crd), dir); err != nil || n != 1 {
		t.Fatalf("WriteCRDSchemas = %d, %v; want 1 schema", n, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "servicemonitor-monitoring-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	if props["apiVersion"].(map[string]any)["enum"].([]any)[0] != "monitoring.coreos.com/v1" {
		t.Errorf("apiVersion not pinned: %v", props["apiVersion"])
	}
	spec := props["spec"].(map[string]any)
	if spec["additionalProperties"] != false {
		t.Error("spec allows unknown fields")
	}
	item := spec["properties"].(map[string]any)["endpoints"].(map[string]any)["items"].(map[string]any)
	if item["additionalProperties"] != false {
		t.Error("an endpoint allows unknown fields")
	}
	if _, set := spec["properties"].(map[string]any)["extra"].(map[string]any)["additionalProperties"]; set {
		t.Error("an object preserving unknown fields was closed")
	}
}
