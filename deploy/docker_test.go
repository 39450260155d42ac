package deploy

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/testtools"
)

// instruction is one Dockerfile instruction with the comment lines right
// above it.
type instruction struct {
	cmd, args string
	comments  []string
	line      int
}

// parseDockerfile splits a Dockerfile into instructions, joining
// continuation lines.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var comments []string
	var cur *instruction
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if cur != nil {
			cur.args += " " + strings.TrimSuffix(line, "\\")
			if !strings.HasSuffix(line, "\\") {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		switch {
		case line == "":
			comments = nil
		case strings.HasPrefix(line, "#"):
			comments = append(comments, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		default:
			cmd, args, _ := strings.Cut(line, " ")
			in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSuffix(strings.TrimSpace(args), "\\"), comments: comments, line: i + 1}
			comments = nil
			if strings.HasSuffix(line, "\\") {
				cur = &in
				continue
			}
			out = append(out, in)
		}
	}
	return out
}

var digestRef = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// TestDockerfiles checks what the images promise: base images pinned by
// digest or passed as a build argument marked "pin:" (a release passes the
// digest; see the file's header), no ADD of a URL, no :latest, a numeric
// non-root USER in the final stage, an exec-form ENTRYPOINT, OCI labels
// for the SBOM's and provenance's subject, a static nodevserver build, and
// the worker's git and pinned Terraform (the version the tests build).
func TestDockerfiles(t *testing.T) {
	tf, _ := testtools.Known("terraform")
	for _, c := range []struct {
		file    string
		runtime *regexp.Regexp
		want    []string
	}{
		{"docker/Dockerfile.server", regexp.MustCompile(`^(gcr\.io/distroless/static[-a-z0-9]*(:nonroot)?|scratch)(@sha256:[0-9a-f]{64})?$`),
			[]string{"CGO_ENABLED=0", "-tags nodevserver", "COPY --from=ui"}},
		{"docker/Dockerfile.worker", regexp.MustCompile(`^[^:@]+[:@]`),
			[]string{"CGO_ENABLED=0", "-tags nodevserver", "git ca-certificates", "TERRAFORM_VERSION=" + tf.Version, "rigger-sandbox"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			ins := parseDockerfile(t, c.file)
			data, _ := os.ReadFile(c.file)
			for _, w := range c.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("no %q", w)
				}
			}
			args := map[string]string{}
			stages := map[string]bool{}
			var finalFrom string
			var finalUser, entrypoint string
			labels := ""
			for _, in := range ins {
				switch in.cmd {
				case "ARG":
					if name, def, ok := strings.Cut(in.args, "="); ok {
						args[name] = def
					}
				case "FROM":
					fields := strings.Fields(in.args)
					ref := fields[0]
					if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
						stages[fields[2]] = true
					}
					finalFrom, finalUser, entrypoint, labels = ref, "", "", ""
					if stages[ref] && len(fields) == 1 {
						break
					}
					if name, ok := strings.CutPrefix(ref, "${"); ok {
						name = strings.TrimSuffix(name, "}")
						def, declared := args[name]
						if !declared || def == "" {
							t.Errorf("line %d: FROM %s: no ARG %s with a default before it", in.line, ref, name)
						}
						if !digestRef.MatchString(def) && !slicesContains(in.comments, "pin: "+name) {
							t.Errorf("line %d: FROM %s (%s) is neither pinned by digest nor marked \"# pin: %s\"", in.line, ref, def, name)
						}
						if strings.HasSuffix(def, ":latest") || !strings.ContainsAny(def, ":@") {
							t.Errorf("line %d: base image %s has no tag or digest", in.line, def)
						}
						finalFrom = def
					} else if !digestRef.MatchString(ref) {
						t.Errorf("line %d: FROM %s is not pinned by digest", in.line, ref)
					}
				case "ADD":
					if strings.Contains(in.args, "://") || strings.Contains(in.args, "git@") {
						t.Errorf("line %d: ADD of a URL (%s): fetch in a build stage with a checked digest instead", in.line, in.args)
					}
				case "USER":
					finalUser = in.args
				case "ENTRYPOINT":
					entrypoint = in.args
				case "LABEL":
					labels += in.args
				}
			}
			if !c.runtime.MatchString(finalFrom) {
				t.Errorf("final stage FROM %s, want %s", finalFrom, c.runtime)
			}
			uid, gid, _ := strings.Cut(finalUser, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("final stage USER %q: want a numeric non-root uid (Kubernetes' runAsNonRoot checks numbers)", finalUser)
			}
			if n, err := strconv.Atoi(gid); err != nil || n == 0 {
				t.Errorf("final stage USER %q: want a numeric non-root gid", finalUser)
			}
			if !strings.HasPrefix(entrypoint, "[") {
				t.Errorf("ENTRYPOINT %q is not in exec form", entrypoint)
			}
			for _, l := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.version"} {
				if !strings.Contains(labels, l) {
					t.Errorf("final stage has no %s label", l)
				}
			}
		})
	}
}

func slicesContains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, s) {
			return true
		}
	}
	return false
}
