package deploy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/testtools"
)

const chart = "helm/rigger"

// kubeVersion is the Kubernetes version helm renders for: the one whose
// API schemas kubeconform checks against.
var kubeVersion = strings.TrimPrefix(testtools.KubernetesVersion, "v")

// valuesFiles are the chart's CI values files: each is linted, rendered and
// checked.
func valuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chart, "ci", "*-values.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("want the chart's ci/*-values.yaml files (minimal, all-integrations, HA, existing secrets), got %v %v", files, err)
	}
	return files
}

// helm runs the helm binary with args and returns its stdout.
func helm(t *testing.T, bin string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// No repositories, plugins or caches of the machine's user.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// render runs helm template with a values file (and --set pairs).
func render(t *testing.T, bin, values string, set ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", "rigger", chart, "--namespace", "rigger", "--kube-version", kubeVersion}
	if values != "" {
		args = append(args, "-f", values)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return helm(t, bin, args...)
}

func TestChartLint(t *testing.T) {
	bin := testtools.Binary(t, "helm")
	for _, values := range valuesFiles(t) {
		t.Run(filepath.Base(values), func(t *testing.T) {
			if out, err := helm(t, bin, "lint", "--strict", "--kube-version", kubeVersion, chart, "-f", values); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestChartKubeconform checks every rendered manifest against the
// Kubernetes API's schemas, strictly (no unknown field), and that the check
// would catch a wrong one.
func TestChartKubeconform(t *testing.T) {
	helmBin := testtools.Binary(t, "helm")
	kc := testtools.Binary(t, "kubeconform")
	schemas := testtools.KubernetesSchemas(t)
	kubeconform := func(manifests []byte) ([]byte, error) {
		cmd := exec.Command(kc, "-strict", "-summary", "-output", "text",
			"-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"), "-")
		cmd.Stdin = bytes.NewReader(manifests)
		return cmd.CombinedOutput()
	}
	t.Run("catches-an-unknown-field", func(t *testing.T) {
		bad := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: x}]}\n")
		out, err := kubeconform(bad)
		if err == nil || !strings.Contains(string(out), "replica") {
			t.Fatalf("kubeconform accepted a Deployment with spec.replica: %v\n%s", err, out)
		}
	})
	files := append(valuesFiles(t), "")
	for _, values := range files {
		name := filepath.Base(values)
		if values == "" {
			name = "metrics-servicemonitor"
		}
		t.Run(name, func(t *testing.T) {
			var set []string
			if values == "" {
				values = filepath.Join(chart, "ci", "minimal-values.yaml")
				set = []string{"metrics.enabled=true", "metrics.serviceMonitor.enabled=true"}
			}
			manifests, err := render(t, helmBin, values, set...)
			if err != nil {
				t.Fatal(err)
			}
			out, err := kubeconform(manifests)
			if err != nil {
				t.Fatalf("kubeconform -strict: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Invalid: 0, Errors: 0, Skipped: 0") {
				t.Fatalf("kubeconform: %s", out)
			}
			t.Logf("%s", bytes.TrimSpace(out))
		})
	}
}

// object is one rendered manifest.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { return str(get(o, "metadata", "name")) }

// get walks maps by keys; nil when a key is missing.
func get(v any, keys ...string) any {
	if o, ok := v.(object); ok {
		v = map[string]any(o)
	}
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { l, _ := v.([]any); return l }

func parseManifests(t *testing.T, data []byte) []object {
	t.Helper()
	var out []object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("rendered manifests: %v", err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// podSpec is the pod spec of a Deployment or Pod.
func podSpec(o object) map[string]any {
	switch o.kind() {
	case "Deployment":
		s, _ := get(o, "spec", "template", "spec").(map[string]any)
		return s
	case "Pod":
		s, _ := get(o, "spec").(map[string]any)
		return s
	}
	return nil
}

// restrictedViolations lists what keeps a pod spec from Pod Security
// "restricted" (and the chart's own rules: no API token, read-only root).
func restrictedViolations(spec map[string]any) []string {
	var bad []string
	psc := get(spec, "securityContext")
	if get(psc, "runAsNonRoot") != true {
		bad = append(bad, "securityContext.runAsNonRoot is not true")
	}
	if uid, ok := get(psc, "runAsUser").(int); !ok || uid == 0 {
		bad = append(bad, "securityContext.runAsUser is not a non-zero uid")
	}
	if t := str(get(psc, "seccompProfile", "type")); t != "RuntimeDefault" && t != "Localhost" {
		bad = append(bad, "securityContext.seccompProfile.type is "+t)
	}
	if get(spec, "automountServiceAccountToken") != false {
		bad = append(bad, "automountServiceAccountToken is not false")
	}
	for _, k := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if get(spec, k) == true {
			bad = append(bad, k)
		}
	}
	allowed := []string{"configMap", "emptyDir", "secret", "persistentVolumeClaim", "projected", "downwardAPI", "csi", "ephemeral"}
	for _, v := range list(spec["volumes"]) {
		for k := range v.(map[string]any) {
			if k != "name" && !slices.Contains(allowed, k) {
				bad = append(bad, "volume type "+k)
			}
		}
	}
	containers := append(list(spec["containers"]), list(spec["initContainers"])...)
	if len(containers) == 0 {
		bad = append(bad, "no containers")
	}
	for _, c := range containers {
		name := str(get(c, "name"))
		sc := get(c, "securityContext")
		if get(sc, "allowPrivilegeEscalation") != false {
			bad = append(bad, name+": allowPrivilegeEscalation is not false")
		}
		if get(sc, "privileged") == true {
			bad = append(bad, name+": privileged")
		}
		if get(sc, "readOnlyRootFilesystem") != true {
			bad = append(bad, name+": readOnlyRootFilesystem is not true")
		}
		if !slices.Contains(list(get(sc, "capabilities", "drop")), any("ALL")) {
			bad = append(bad, name+": capabilities.drop lacks ALL")
		}
		if len(list(get(sc, "capabilities", "add"))) > 0 {
			bad = append(bad, name+": adds capabilities")
		}
		if u, ok := get(sc, "runAsUser").(int); ok && u == 0 {
			bad = append(bad, name+": runs as root")
		}
		for _, p := range list(get(c, "ports")) {
			if get(p, "hostPort") != nil {
				bad = append(bad, name+": hostPort")
			}
		}
	}
	return bad
}

// secretsOf lists the Secrets a pod spec reads: env, envFrom, volumes.
func secretsOf(spec map[string]any) []string {
	seen := map[string]bool{}
	for _, c := range append(list(spec["containers"]), list(spec["initContainers"])...) {
		for _, e := range list(get(c, "env")) {
			if n := str(get(e, "valueFrom", "secretKeyRef", "name")); n != "" {
				seen[n] = true
			}
		}
		for _, e := range list(get(c, "envFrom")) {
			if n := str(get(e, "secretRef", "name")); n != "" {
				seen[n] = true
			}
		}
	}
	for _, v := range list(spec["volumes"]) {
		if n := str(get(v, "secret", "secretName")); n != "" {
			seen[n] = true
		}
		for _, s := range list(get(v, "projected", "sources")) {
			if n := str(get(s, "secret", "name")); n != "" {
				seen[n] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// chartValues reads a values file over the chart's defaults (maps merged,
// as helm does), for the test to know which Secret belongs to whom.
func chartValues(t *testing.T, file string) map[string]any {
	t.Helper()
	read := func(p string) map[string]any {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return m
	}
	var merge func(dst, src map[string]any)
	merge = func(dst, src map[string]any) {
		for k, v := range src {
			if sm, ok := v.(map[string]any); ok {
				if dm, ok := dst[k].(map[string]any); ok {
					merge(dm, sm)
					continue
				}
			}
			dst[k] = v
		}
	}
	v := read(filepath.Join(chart, "values.yaml"))
	merge(v, read(file))
	return v
}

// TestChartLeastPrivilege renders each CI values file and checks what the
// chart promises: every pod is "restricted"; every worker Deployment has
// its own ServiceAccount without an API token and reads only the core
// Secret and its own; the server reads no integration worker's Secret; all
// pods are denied traffic by default; and each component's rigger.yaml is
// accepted by rigger's configuration loader with exactly the variables its
// pod has, and holds no other integration's settings.
func TestChartLeastPrivilege(t *testing.T) {
	forEachValuesFile(t, checkManifests)
}

// forEachValuesFile renders the chart with each CI values file and hands
// check the manifests and the values they came from.
func forEachValuesFile(t *testing.T, check func(t *testing.T, objs []object, vals map[string]any)) {
	t.Helper()
	bin := testtools.Binary(t, "helm")
	for _, file := range valuesFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out, err := render(t, bin, file)
			if err != nil {
				t.Fatal(err)
			}
			check(t, parseManifests(t, out), chartValues(t, file))
		})
	}
}

func checkManifests(t *testing.T, objs []object, vals map[string]any) {
	t.Helper()
	core := str(get(vals, "secrets", "existingSecret"))
	shared := []string{core}
	if s := str(get(vals, "temporal", "tls", "existingSecret")); s != "" && get(vals, "temporal", "tls", "enabled") == true {
		shared = append(shared, s)
	}
	if s := str(get(vals, "temporal", "apiKey", "existingSecret")); s != "" {
		shared = append(shared, s)
	}
	own := map[string]string{"server": str(get(vals, "server", "existingSecret"))}
	for _, q := range []string{"default", "github", "aws", "terraform"} {
		own["worker-"+q] = str(get(vals, "workers", q, "existingSecret"))
	}

	var configMap object
	serviceAccounts := map[string]object{}
	deployments := map[string]object{}
	var denyAll bool
	policies := map[string]object{}
	for _, o := range objs {
		component := str(get(o, "metadata", "labels", "app.kubernetes.io/component"))
		switch o.kind() {
		case "ConfigMap":
			configMap = o
		case "ServiceAccount":
			serviceAccounts[o.name()] = o
			if get(o, "automountServiceAccountToken") != false {
				t.Errorf("ServiceAccount %s mounts an API token", o.name())
			}
		case "Deployment":
			deployments[component] = o
		case "NetworkPolicy":
			if get(o, "spec", "podSelector", "matchLabels", "app.kubernetes.io/component") == nil {
				types := list(get(o, "spec", "policyTypes"))
				if len(types) == 2 && get(o, "spec", "ingress") == nil && get(o, "spec", "egress") == nil {
					denyAll = true
				}
			} else {
				policies[component] = o
			}
		}
		if spec := podSpec(o); spec != nil {
			if bad := restrictedViolations(spec); len(bad) > 0 {
				t.Errorf("%s %s is not Pod Security restricted: %s", o.kind(), o.name(), strings.Join(bad, "; "))
			}
		}
	}
	if configMap == nil {
		t.Fatal("no ConfigMap rendered")
	}
	checkServerReachable(t, objs)
	if !denyAll {
		t.Error("no NetworkPolicy denies all traffic of the release's pods by default")
	}
	if deployments["server"] == nil || deployments["worker-default"] == nil {
		t.Fatalf("want the server and rigger-default worker Deployments, got %v", keys(deployments))
	}
	usedSA := map[string]string{}
	for component, d := range deployments {
		spec := podSpec(d)
		sa := str(spec["serviceAccountName"])
		if serviceAccounts[sa] == nil {
			t.Errorf("%s: ServiceAccount %q is not rendered by the chart", component, sa)
		}
		if other, dup := usedSA[sa]; dup {
			t.Errorf("%s and %s share ServiceAccount %s", component, other, sa)
		}
		usedSA[sa] = component

		allowed := append(slices.Clone(shared), own[component])
		for _, s := range secretsOf(spec) {
			if !slices.Contains(allowed, s) {
				t.Errorf("%s reads Secret %q, which is not its own (allowed: %v)", component, s, allowed)
			}
		}
		if component != "server" && get(d, "spec", "template", "spec", "containers") != nil {
			if probes := get(list(get(spec, "containers"))[0], "ports"); probes != nil {
				t.Errorf("%s: a worker exposes ports %v", component, probes)
			}
		}

		np := policies[component]
		if np == nil {
			t.Errorf("%s has no NetworkPolicy of its own", component)
		} else {
			if component != "server" && len(list(get(np, "spec", "ingress"))) > 0 {
				t.Errorf("%s: its NetworkPolicy lets connections in", component)
			}
			if types := list(get(np, "spec", "policyTypes")); len(types) != 2 {
				t.Errorf("%s: NetworkPolicy policyTypes %v, want Ingress and Egress", component, types)
			}
		}

		checkConfig(t, component, configMap, d, vals)
	}
	if _, ok := get(vals, "workers", "github", "enabled").(bool); ok && get(vals, "workers", "github", "enabled") == true {
		if deployments["worker-github"] == nil {
			t.Error("workers.github is enabled but has no Deployment")
		}
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkConfig feeds a component's rigger.yaml to config.Parse and Validate
// with the variables its container has (fake values of the right shape
// for the Secret's keys), and checks it holds only its own integration.
func checkConfig(t *testing.T, component string, cm object, d object, vals map[string]any) {
	t.Helper()
	data := str(get(cm, "data", component+".yaml"))
	if data == "" {
		t.Errorf("%s: no %s.yaml in the ConfigMap", component, component)
		return
	}
	env := podEnv(t, d, vals)
	if env["RIGGER_CONFIG"] != "/etc/rigger/config/rigger.yaml" {
		t.Errorf("%s: RIGGER_CONFIG is %q", component, env["RIGGER_CONFIG"])
	}
	cfg, err := config.Parse(component+".yaml", []byte(data), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Errorf("%s: rigger's config loader refuses its rigger.yaml: %v\n%s", component, err, data)
		return
	}
	if cfg.Database.Driver != "postgres" || cfg.Temporal.Address == "" || cfg.Scaffolder.SecretKey == "" || cfg.Scaffolder.RunSigningKey == "" {
		t.Errorf("%s: rigger.yaml lacks the database, Temporal or scaffolder keys", component)
	}
	if cfg.Server.DataDir != "/var/lib/rigger/data" || cfg.WorkspaceDir() != "/var/lib/rigger/workspaces" {
		t.Errorf("%s: data dir %s, workspaces %s: not the mounted volumes", component, cfg.Server.DataDir, cfg.WorkspaceDir())
	}
	in := cfg.Integrations
	hasGitHubCreds := slices.ContainsFunc(in.GitHub, func(g config.GitHub) bool { return len(g.Apps) > 0 || g.Token != "" })
	hasAWS := in.AWS.RoleARN != "" || in.AWS.SecretAccessKey != ""
	if hasGitHubCreds && component != "worker-github" {
		t.Errorf("%s: its rigger.yaml holds GitHub App or token settings", component)
	}
	if hasAWS && component != "worker-aws" {
		t.Errorf("%s: its rigger.yaml holds AWS settings", component)
	}
	if component == "worker-github" && !hasGitHubCreds {
		t.Errorf("worker-github: no GitHub App or token in its rigger.yaml")
	}
	if component == "worker-aws" && in.AWS.RoleARN == "" {
		t.Errorf("worker-aws: no integrations.aws.roleArn in its rigger.yaml")
	}
	if component != "server" && len(cfg.Auth.Providers.OIDC.ClientSecret) > 0 {
		t.Errorf("%s: a worker holds the sign-in provider's secret", component)
	}
}

// podEnv is the environment of a Deployment's container: literal values,
// and for each Secret key a fake value of the right shape.
func podEnv(t *testing.T, d object, vals map[string]any) map[string]string {
	t.Helper()
	container := list(get(podSpec(d), "containers"))[0]
	env := map[string]string{}
	serverSigningKey := str(get(vals, "secrets", "keys", "runSigningKey"))
	for _, e := range list(get(container, "env")) {
		name := str(get(e, "name"))
		if v, ok := get(e, "value").(string); ok {
			env[name] = v
			continue
		}
		env[name] = fakeSecret(t, name, str(get(e, "valueFrom", "secretKeyRef", "key")) != serverSigningKey)
	}
	return env
}

// fakeSecret is a value of the shape rigger checks for the variable name:
// base64 keys, an Ed25519 seed or public key, a PEM key, a postgres URL.
func fakeSecret(t *testing.T, name string, publicSigningKey bool) string {
	t.Helper()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	switch {
	case name == "RIGGER_DATABASE_URL":
		return "postgres://rigger:pw@db.example.internal:5432/rigger?sslmode=verify-full"
	case name == "RIGGER_SECRET_KEY", strings.HasPrefix(name, "RIGGER_PAYLOAD_KEY_"):
		return key
	case name == "RIGGER_RUN_SIGNING_KEY" && publicSigningKey:
		pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
		return "ed25519-public:" + base64.StdEncoding.EncodeToString(pub)
	case name == "RIGGER_RUN_SIGNING_KEY":
		return key
	case strings.Contains(name, "PRIVATE_KEY"):
		return "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"
	}
	return "fake-secret-value-of-forty-characters-00"
}

// TestChartRefuses: values that would hand a component another's secrets
// or split a task's workspace do not render.
func TestChartRefuses(t *testing.T) {
	bin := testtools.Binary(t, "helm")
	minimal := filepath.Join(chart, "ci", "minimal-values.yaml")
	all := filepath.Join(chart, "ci", "all-integrations-values.yaml")
	for _, c := range []struct {
		name, values string
		set          []string
		want         string
	}{
		{"aws-settings-on-the-github-worker", all, []string{"workers.github.config.integrations.aws.region=eu-west-1"}, "workers.github.config.integrations.aws"},
		{"integrations-shared-by-all", minimal, []string{"config.integrations.aws.region=eu-west-1"}, "config.integrations"},
		{"github-app-on-the-server", minimal, []string{"server.config.integrations.github[0].host=github.com", "server.config.integrations.github[0].token=x"}, "server.config.integrations.github[0]"},
		{"aws-on-the-server", minimal, []string{"server.config.integrations.aws.region=eu-west-1"}, "server.config.integrations.aws"},
		{"integration-worker-without-shared-workspaces", minimal, []string{"workers.github.enabled=true"}, "workspaces.existingClaim"},
		{"unknown-value", minimal, []string{"server.replica=3"}, "replica"},
		{"env-without-its-secret", minimal, []string{"workers.default.env.X=y"}, "workers.default.existingSecret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render(t, bin, c.values, c.set...)
			if err == nil {
				t.Fatalf("helm template accepted %v", c.set)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the refusal does not name %q: %v", c.want, err)
			}
		})
	}
}

// TestChartMetrics: metrics.enabled adds the metrics port to the server's
// pod, Service and NetworkPolicy, a ServiceMonitor, and
// server.metricsListen to the server's rigger.yaml only. A rigger without
// the metrics listener refuses that key by name (and nothing else), which is
// why metrics are off by default.
func TestChartMetrics(t *testing.T) {
	bin := testtools.Binary(t, "helm")
	out, err := render(t, bin, filepath.Join(chart, "ci", "minimal-values.yaml"),
		"metrics.enabled=true", "metrics.serviceMonitor.enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	var monitor, service, policy object
	var cm object
	for _, o := range parseManifests(t, out) {
		component := str(get(o, "metadata", "labels", "app.kubernetes.io/component"))
		switch {
		case o.kind() == "ServiceMonitor":
			monitor = o
		case o.kind() == "Service" && component == "server":
			service = o
		case o.kind() == "NetworkPolicy" && component == "server":
			policy = o
		case o.kind() == "ConfigMap":
			cm = o
		}
	}
	if monitor == nil || str(get(list(get(monitor, "spec", "endpoints"))[0], "port")) != "metrics" {
		t.Fatalf("no ServiceMonitor scraping the metrics port: %v", monitor)
	}
	if !strings.Contains(fmt.Sprint(get(service, "spec", "ports")), "metrics") {
		t.Errorf("the server's Service has no metrics port: %v", get(service, "spec", "ports"))
	}
	if !strings.Contains(fmt.Sprint(get(policy, "spec", "ingress")), "metrics") {
		t.Errorf("the server's NetworkPolicy does not let scrapes in: %v", get(policy, "spec", "ingress"))
	}
	server := str(get(cm, "data", "server.yaml"))
	if !strings.Contains(server, "metricsListen: 0.0.0.0:9090") {
		t.Errorf("server.yaml has no server.metricsListen:\n%s", server)
	}
	if strings.Contains(str(get(cm, "data", "worker-default.yaml")), "metricsListen") {
		t.Error("a worker's rigger.yaml has server.metricsListen")
	}
	cfg, err := config.Parse("server.yaml", []byte(server), func(k string) (string, bool) { return fakeSecret(t, k, false), true })
	if err != nil {
		t.Fatalf("rigger's config loader refuses the server's rigger.yaml with metrics: %v", err)
	}
	if cfg.Server.MetricsListen != "0.0.0.0:9090" {
		t.Errorf("server.metricsListen read as %q", cfg.Server.MetricsListen)
	}
}

// checkServerReachable: the server's probes ask the paths the API serves,
// and helm test's pod asks the server's Service on a port and past a
// NetworkPolicy that let it through.
func checkServerReachable(t *testing.T, objs []object) {
	t.Helper()
	routes, err := os.ReadFile("../api/server.go")
	if err != nil {
		t.Fatal(err)
	}
	var service, pod, policy, deployment object
	for _, o := range objs {
		component := str(get(o, "metadata", "labels", "app.kubernetes.io/component"))
		switch {
		case o.kind() == "Service" && component == "server":
			service = o
		case o.kind() == "Pod" && component == "test":
			pod = o
		case o.kind() == "NetworkPolicy" && component == "server":
			policy = o
		case o.kind() == "Deployment" && component == "server":
			deployment = o
		}
	}
	if service == nil || pod == nil || deployment == nil {
		t.Fatalf("want the server's Service and Deployment and the test Pod")
	}
	container := list(get(podSpec(deployment), "containers"))[0]
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		got := str(get(container, probe, "httpGet", "path"))
		if got != path || !bytes.Contains(routes, []byte(`e.GET("`+path+`"`)) {
			t.Errorf("server %s asks %q, want %s, a route of api/server.go", probe, got, path)
		}
	}
	url := fmt.Sprintf("http://%s:%v/healthz", service.name(), get(list(get(service, "spec", "ports"))[0], "port"))
	if args := list(get(list(get(pod, "spec", "containers"))[0], "args")); !slices.Contains(args, any(url)) {
		t.Errorf("helm test's pod does not ask %s: %v", url, args)
	}
	if policy == nil {
		return
	}
	for _, rule := range list(get(policy, "spec", "ingress")) {
		if !strings.Contains(fmt.Sprint(get(rule, "ports")), "http") {
			continue
		}
		from := list(get(rule, "from"))
		if len(from) == 0 {
			return
		}
		for _, peer := range from {
			if get(peer, "podSelector", "matchLabels", "app.kubernetes.io/component") == "test" {
				return
			}
		}
	}
	t.Error("the server's NetworkPolicy keeps helm test's pod out")
}

// riggerBinary is $RIGGER_BIN (make test builds it), else rigger built
// here with -tags nodevserver, as the images build it.
func riggerBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("RIGGER_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "rigger")
	t.Logf("building rigger -tags nodevserver (set RIGGER_BIN to reuse a build)")
	cmd := exec.Command("go", "build", "-tags", "nodevserver", "-o", bin, "../cmd/rigger")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rigger: %v\n%s", err, out)
	}
	return bin
}

// TestChartRiggerConfigCheck runs the real `rigger config check` on each
// component's rendered rigger.yaml with exactly its pod's environment
// (RIGGER_CONFIG naming the file, the Secrets' variables): the command
// every pod's start goes through accepts it, and prints none of the
// secrets it was given.
func TestChartRiggerConfigCheck(t *testing.T) {
	rigger := riggerBinary(t)
	forEachValuesFile(t, func(t *testing.T, objs []object, vals map[string]any) {
		var cm object
		for _, o := range objs {
			if o.kind() == "ConfigMap" {
				cm = o
			}
		}
		for _, d := range objs {
			if d.kind() != "Deployment" {
				continue
			}
			component := str(get(d, "metadata", "labels", "app.kubernetes.io/component"))
			dir := t.TempDir()
			path := filepath.Join(dir, "rigger.yaml")
			if err := os.WriteFile(path, []byte(str(get(cm, "data", component+".yaml"))), 0o600); err != nil {
				t.Fatal(err)
			}
			env := podEnv(t, d, vals)
			env["RIGGER_CONFIG"] = path
			cmd := exec.Command(rigger, "config", "check")
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			printed, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s: rigger config check: %v\n%s", component, err, printed)
				continue
			}
			if !bytes.Contains(printed, []byte("# configuration file: "+path)) {
				t.Errorf("%s: rigger config check did not read %s:\n%s", component, path, printed)
			}
			for k, v := range env {
				if k != "RIGGER_CONFIG" && len(v) > 8 && bytes.Contains(printed, []byte(v)) {
					t.Errorf("%s: rigger config check printed the value of %s", component, k)
				}
			}
		}
	})
}

// TestChartConfigChange: by default a ConfigMap change reaches the pods'
// rigger.yaml (a directory mount: a subPath mount would never see an
// update) and does not roll them when only settings rigger reloads live
// changed; a change to any other setting changes the pods'
// checksum/restart-only-config, so they roll; with
// configChange: restart every change rolls the pods (checksum/config).
func TestChartConfigChange(t *testing.T) {
	bin := testtools.Binary(t, "helm")
	for _, c := range []struct {
		set      []string
		checksum bool
	}{{nil, false}, {[]string{"configChange=restart"}, true}} {
		out, err := render(t, bin, filepath.Join(chart, "ci", "all-integrations-values.yaml"), c.set...)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range parseManifests(t, out) {
			if o.kind() != "Deployment" {
				continue
			}
			n++
			annotations, _ := get(o, "spec", "template", "metadata", "annotations").(map[string]any)
			if _, ok := annotations["checksum/config"]; ok != c.checksum {
				t.Errorf("%v: %s has checksum/config: %v, want %v", c.set, o.name(), ok, c.checksum)
			}
			spec := podSpec(o)
			for _, ct := range list(spec["containers"]) {
				for _, m := range list(get(ct, "volumeMounts")) {
					if get(m, "name") == "config" && (get(m, "subPath") != nil || get(m, "mountPath") != "/etc/rigger/config") {
						t.Errorf("%s mounts its config with %v: a ConfigMap update would not reach it", o.name(), m)
					}
				}
			}
		}
		if n < 2 {
			t.Fatalf("%v: only %d Deployments rendered", c.set, n)
		}
	}
	restartOnly := func(set ...string) map[string]string {
		t.Helper()
		out, err := render(t, bin, filepath.Join(chart, "ci", "all-integrations-values.yaml"), set...)
		if err != nil {
			t.Fatal(err)
		}
		sums := map[string]string{}
		for _, o := range parseManifests(t, out) {
			if o.kind() == "Deployment" {
				annotations, _ := get(o, "spec", "template", "metadata", "annotations").(map[string]any)
				sum, _ := annotations["checksum/restart-only-config"].(string)
				if sum == "" {
					t.Fatalf("%v: %s has no checksum/restart-only-config", set, o.name())
				}
				sums[o.name()] = sum
			}
		}
		return sums
	}
	base := restartOnly()
	if live := restartOnly("config.scaffolder.allowedHosts={github.com,gitlab.example.com}", "config.permission.admins={group:default/ops}"); !maps.Equal(live, base) {
		t.Errorf("a change of live settings rolls the pods: %v -> %v", base, live)
	}
	fixed := restartOnly("config.server.logLevel=debug")
	for name, sum := range fixed {
		if sum == base[name] {
			t.Errorf("%s: a change of server.logLevel (restart-only) keeps checksum/restart-only-config, so its pods would run the old value", name)
		}
	}
}
