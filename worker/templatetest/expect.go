package templatetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/worker"
)

// contained compares an expected value with what the run gave: a mapping
// must hold the expected keys (others may be there too), a list must have
// the same length and each item contained, anything else must be equal.
// Each difference is one line naming its path.
func contained(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a mapping, got %s", path, show(got))}
		}
		var out []string
		for _, k := range sortedKeys(w) {
			v, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing (want %s)", path, k, show(w[k])))
				continue
			}
			out = append(out, contained(path+"."+k, w[k], v)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a list, got %s", path, show(got))}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %d items, got %d: %s", path, len(w), len(g), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, contained(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if fmt.Sprint(want) == fmt.Sprint(got) && sameKind(want, got) {
		return nil
	}
	return []string{fmt.Sprintf("%s: want %s, got %s", path, show(want), show(got))}
}

func sameKind(a, b any) bool {
	return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

// show renders a value for a message, bounded.
func show(v any) string {
	if v == nil {
		return "nothing"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 300
	if len(data) > max {
		return string(data[:max]) + "…"
	}
	return string(data)
}

// compareSnapshot compares the run's files with the snapshot folder: the
// same paths, the same contents. name is the folder as the case gives it.
func compareSnapshot(name, base, rel string, files []contract.DryRunFile) []string {
	want, err := readSnapshot(base, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{fmt.Sprintf("expect.snapshot: %s does not exist; run with --update to write it from this run", name)}
	}
	if err != nil {
		return []string{fmt.Sprintf("expect.snapshot: %s: %v", name, err)}
	}
	got := map[string][]byte{}
	for _, f := range files {
		got[filepath.ToSlash(f.Path)] = f.Data
	}
	var out []string
	for _, p := range sortedKeys(got) {
		w, ok := want[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("expect.snapshot %s: the run produced %s, which the snapshot does not hold", name, p))
		case !bytes.Equal(w, got[p]):
			out = append(out, fmt.Sprintf("expect.snapshot %s: %s differs (- snapshot, + this run):\n%s", name, p, lineDiff(string(w), string(got[p]))))
		}
	}
	for _, p := range sortedKeys(want) {
		if _, ok := got[p]; !ok {
			out = append(out, fmt.Sprintf("expect.snapshot %s: the snapshot holds %s, which the run did not produce", name, p))
		}
	}
	if len(out) > 0 {
		out = append(out, "(run with --update to accept this run's files as the snapshot)")
	}
	return out
}

// readSnapshot reads the regular files of the snapshot folder rel of the
// test file's folder base, by slash path. It opens rel through base's
// os.Root: a symbolic link (in the case's folder) that leads out of base
// is refused, so a case cannot make its report show files from elsewhere.
func readSnapshot(base, rel string) (map[string][]byte, error) {
	top, err := os.OpenRoot(base)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	root, err := top.OpenRoot(rel)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := map[string][]byte{}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := root.ReadFile(p)
		out[p] = data
		return err
	})
	return out, err
}

// writeSnapshot replaces the snapshot folder rel of base with the run's
// files, every step through base's os.Root: --update never removes or
// writes outside the test file's folder, whatever links it holds.
func writeSnapshot(base, rel string, files []contract.DryRunFile) error {
	top, err := os.OpenRoot(base)
	if err != nil {
		return err
	}
	defer top.Close()
	if err := top.RemoveAll(rel); err != nil {
		return err
	}
	if err := top.MkdirAll(rel, 0o755); err != nil {
		return err
	}
	root, err := top.OpenRoot(rel)
	if err != nil {
		return err
	}
	defer root.Close()
	return worker.WriteDryRunFilesIn(root, files)
}

// maxDiffLines bounds a diff in a report.
const maxDiffLines = 40

// lineDiff is a line diff of a and b (longest common subsequence): lines
// only in a with "-", only in b with "+", a few common lines around each
// change for context.
func lineDiff(a, b string) string {
	x := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	y := strings.Split(strings.TrimSuffix(b, "\n"), "\n")
	if len(x)*len(y) > 4_000_000 {
		return "    (too large to diff line by line)"
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var ops []line
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, line{' ', x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, line{'-', x[i]})
			i++
		default:
			ops = append(ops, line{'+', y[j]})
			j++
		}
	}
	near := make([]bool, len(ops))
	for k, o := range ops {
		if o.op != ' ' {
			for d := max(0, k-2); d <= min(len(ops)-1, k+2); d++ {
				near[d] = true
			}
		}
	}
	var sb strings.Builder
	shown, gap := 0, false
	for k, o := range ops {
		if !near[k] {
			gap = true
			continue
		}
		if gap && shown > 0 {
			sb.WriteString("    …\n")
		}
		gap = false
		if shown == maxDiffLines {
			sb.WriteString("    … (more differences)\n")
			break
		}
		fmt.Fprintf(&sb, "    %c %s\n", o.op, o.text)
		shown++
	}
	return strings.TrimSuffix(sb.String(), "\n")
}
