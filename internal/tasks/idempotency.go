package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
)

// ErrIdempotencyMismatch is an Idempotency-Key its caller already used for
// a different request (template, values or secret names). It is a
// conflict; the API answers 422.
var ErrIdempotencyMismatch = fmt.Errorf("%w: this Idempotency-Key was used for a different request", errs.ErrConflict)

// MaxIdempotencyKey bounds an Idempotency-Key's length.
const MaxIdempotencyKey = 255

// memoRequest is the memo field holding a keyed task's request
// fingerprint.
const memoRequest = "riggerRequest"

// idempotencySpace namespaces the task ids derived from keys (UUID v5).
var idempotencySpace = uuid.MustParse("5f0e7c1a-9b7e-4c57-8a52-2d1f3c7e9a10")

// CreateResult is what CreateOnce did.
type CreateResult struct {
	ID, TemplateRef string
	// Replayed is true when the key's task existed: nothing was started.
	Replayed bool
}

// CreateOnce is Create with an idempotency key: the task id is derived
// from the caller and the key, so a request repeated with the same key
// (a client retrying after a lost answer, or a replica restart) finds the
// task the first one started, whatever became of it, and never starts a
// second run. A key reused with a different request fails with
// ErrIdempotencyMismatch. Secret values are not compared (only their
// names): they are never kept outside the keeper.
func (s *Service) CreateOnce(ctx context.Context, who auth.Identity, key string, req CreateRequest) (CreateResult, error) {
	if err := validKey(key); err != nil {
		return CreateResult{}, err
	}
	id := uuid.NewSHA1(idempotencySpace, []byte(who.Ref+"\x00"+key)).String()
	fp, err := fingerprint(req)
	if err != nil {
		return CreateResult{}, errs.Invalid("%v", err)
	}
	if res, ok, err := s.replay(ctx, id, fp, req); ok || err != nil {
		return res, err
	}
	ref, err := s.create(ctx, who, req, id, fp)
	if errors.Is(err, errs.ErrConflict) {
		// Another request with this key started it first.
		if res, ok, rerr := s.replay(ctx, id, fp, req); ok || rerr != nil {
			return res, rerr
		}
	}
	if err != nil {
		return CreateResult{}, err
	}
	return CreateResult{ID: id, TemplateRef: ref}, nil
}

// replay reports the key's existing task: ok false when there is none.
func (s *Service) replay(ctx context.Context, id, fp string, req CreateRequest) (CreateResult, bool, error) {
	had, err := s.requestFingerprint(ctx, id)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return CreateResult{}, false, nil
	}
	if err != nil {
		return CreateResult{}, false, err
	}
	if had != fp {
		return CreateResult{}, false, ErrIdempotencyMismatch
	}
	return CreateResult{ID: id, TemplateRef: req.TemplateRef, Replayed: true}, true, nil
}

// requestFingerprint is the request fingerprint in task id's memo ("" for
// a task created without a key); a missing task is a
// *serviceerror.NotFound.
func (s *Service) requestFingerprint(ctx context.Context, id string) (string, error) {
	desc, err := s.d.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return "", err
	}
	if err != nil {
		s.d.Logger.Error("describe a task's workflow", "task", id, "error", err)
		return "", fmt.Errorf("look up task: %w", errs.ErrUnavailable)
	}
	var fp string
	if f := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[memoRequest]; f != nil {
		if err := s.converter().FromPayload(f, &fp); err != nil {
			s.d.Logger.Error("read a task's memo", "task", id, "error", err)
			return "", fmt.Errorf("read task: %w", errs.ErrUnavailable)
		}
	}
	return fp, nil
}

// keyedStart is the reuse policy of a keyed task's workflow id: never a
// second run under it, even after the first closed (a retry of the task
// is a change of its own, not a create).
const keyedStart = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE

// fingerprint hashes what makes two creates the same request.
func fingerprint(req CreateRequest) (string, error) {
	names := make([]string, 0, len(req.Secrets))
	for k := range req.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	raw, err := json.Marshal(struct {
		T string         `json:"t"`
		V map[string]any `json:"v"`
		S []string       `json:"s"`
	}{req.TemplateRef, req.Values, names})
	if err != nil {
		return "", fmt.Errorf("values: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// validKey accepts 1 to MaxIdempotencyKey visible ASCII characters.
func validKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKey {
		return errs.Invalid("Idempotency-Key must be 1 to %d characters", MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return errs.Invalid("Idempotency-Key must be visible ASCII characters")
		}
	}
	return nil
}
