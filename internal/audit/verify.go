package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// BrokenError names the first event where the chain does not hold.
type BrokenError struct {
	// Seq is the event's place in the chain (of the missing event, for a
	// deletion); ID its id when the row exists.
	Seq    int64
	ID     string
	Reason string
}

func (e *BrokenError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("audit chain broken at event seq %d: %s", e.Seq, e.Reason)
	}
	return fmt.Sprintf("audit chain broken at event seq %d (id %s): %s", e.Seq, e.ID, e.Reason)
}

func (e *BrokenError) Unwrap() error { return errBroken }

// Result is what Verify checked.
type Result struct {
	Events int64
	// Head is the last event's seq and hash.
	HeadSeq  int64
	HeadHash string
	// Anchors is how many seq/hash pairs from a log were compared.
	Anchors int
}

// Anchors are seq → hash pairs known from elsewhere (the JSON-lines log's
// event and head lines): Verify checks the database still holds each.
type Anchors map[int64]string

// ReadAnchors reads the seq/hash pairs of a JSON-lines audit log (lines of
// other kinds, and events that were not stored, are skipped).
func ReadAnchors(r io.Reader) (Anchors, error) {
	a := Anchors{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ln Line
		if err := json.Unmarshal(line, &ln); err != nil || (ln.Kind != KindEvent && ln.Kind != KindHead) {
			continue
		}
		if ln.Seq <= 0 || ln.Hash == "" {
			continue
		}
		if prev, ok := a[ln.Seq]; ok && prev != ln.Hash {
			return nil, fmt.Errorf("line %d: seq %d has hash %s, an earlier line says %s", n, ln.Seq, ln.Hash, prev)
		}
		a[ln.Seq] = ln.Hash
	}
	return a, sc.Err()
}

// verifyPage is how many rows Verify reads at a time.
const verifyPage = 1000

// Verify walks the whole chain in st from its first event and returns a
// *BrokenError naming the first event that does not hold: a gap in seq
// (deleted rows), a hash that does not match the previous hash and the
// event's JSON (an edited or reordered row), or a column that no longer
// matches the event (an edited filter column). With anchors it also checks
// that every anchored event is still there with the same hash (a deleted
// tail or a rewritten chain).
func Verify(ctx context.Context, st store.AuditLog, anchors Anchors) (Result, error) {
	var res Result
	var prev string
	var after int64
	for {
		recs, err := st.AuditRecords(ctx, store.AuditQuery{AfterSeq: after, Limit: verifyPage})
		if err != nil {
			return res, err
		}
		for _, r := range recs {
			if r.Seq != res.HeadSeq+1 {
				if res.HeadSeq+1 == r.Seq-1 {
					return res, &BrokenError{Seq: res.HeadSeq + 1, Reason: fmt.Sprintf("the event is missing (deleted) before seq %d (id %s)", r.Seq, r.ID)}
				}
				return res, &BrokenError{Seq: res.HeadSeq + 1, Reason: fmt.Sprintf("events %d to %d are missing (deleted) before seq %d (id %s)", res.HeadSeq+1, r.Seq-1, r.Seq, r.ID)}
			}
			if err := checkRecord(r, prev); err != nil {
				return res, &BrokenError{Seq: r.Seq, ID: r.ID, Reason: err.Error()}
			}
			if want, ok := anchors[r.Seq]; ok {
				if want != r.Hash {
					return res, &BrokenError{Seq: r.Seq, ID: r.ID, Reason: fmt.Sprintf("its hash is %s, the log recorded %s: the chain was rewritten from here or earlier", r.Hash, want)}
				}
				res.Anchors++
			}
			prev = r.Hash
			res.HeadSeq, res.HeadHash = r.Seq, r.Hash
			res.Events++
		}
		if len(recs) < verifyPage {
			break
		}
		after = recs[len(recs)-1].Seq
	}
	var missing int64
	for seq := range anchors {
		if seq > res.HeadSeq && seq > missing {
			missing = seq
		}
	}
	if missing > 0 {
		return res, &BrokenError{Seq: res.HeadSeq + 1, Reason: fmt.Sprintf("the log records events up to seq %d, the database ends at seq %d: events were deleted from the end", missing, res.HeadSeq)}
	}
	return res, nil
}

// checkRecord checks r's hash against prev and its columns against its
// JSON body.
func checkRecord(r store.AuditRecord, prev string) error {
	want, err := store.AuditChainHash(prev, r.Body)
	if err != nil {
		return err
	}
	if want != r.Hash {
		return errors.New("its hash does not match the previous event's hash and its content: this event was edited, or events were reordered or replaced")
	}
	var e Event
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return fmt.Errorf("its content is not an event: %v", err)
	}
	for _, c := range []struct{ name, col, body string }{
		{"id", r.ID, e.ID}, {"actor", r.Actor, e.Actor}, {"action", r.Action, e.Action},
		{"target", r.Target, e.Target}, {"decision", r.Decision, string(e.Decision)},
	} {
		if c.col != c.body {
			return fmt.Errorf("its %s column is %q, the hashed event says %q: the row was edited", c.name, c.col, c.body)
		}
	}
	if !r.At.Equal(e.Time) {
		return fmt.Errorf("its at column is %s, the hashed event says %s: the row was edited", r.At.Format(time.RFC3339Nano), e.Time.Format(time.RFC3339Nano))
	}
	return nil
}
