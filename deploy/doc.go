// Package deploy holds what runs rigger in production — the container
// images (docker/) and the Helm chart (helm/rigger) — and the tests that
// check them: the chart is linted, rendered with each values file of
// helm/rigger/ci and checked by kubeconform against the Kubernetes API's
// own schemas, every pod is held to Pod Security "restricted", every
// worker to its own Secret, and every rendered rigger.yaml to rigger's
// real configuration loader.
//
// It has no code of its own: nothing imports it.
package deploy
