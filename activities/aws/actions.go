package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// Action ids.
const (
	ActionPutObject    = "aws:s3:put-object"
	ActionCreateBucket = "aws:s3:create-bucket"
)

// Error types of the failures no retry can fix.
const (
	// InvalidInputType: the step's input is wrong.
	InvalidInputType = "InvalidInput"
	// ForbiddenType: the policy refused the credential, or this worker
	// has none for AWS.
	ForbiddenType = "Forbidden"
	// AWSRefusedType: AWS refused the request for a reason a retry
	// does not change (access denied, no such bucket, a name taken).
	AWSRefusedType = "AWSRefused"
)

// maxPutObject is S3's limit for one PutObject.
const maxPutObject = 5 << 30

// Actions returns the AWS actions by id, each asking b for a session
// narrowed to the one S3 action and resource it uses. Register them
// through activities.Scaffold.CheckedIntegration, which gives them the
// verified step.Env.
func Actions(b *credentials.Broker, cfg Config) map[string]activities.ActionFunc {
	a := &s3Actions{broker: b, cfg: cfg}
	return map[string]activities.ActionFunc{
		ActionPutObject:    a.putObject,
		ActionCreateBucket: a.createBucket,
	}
}

type s3Actions struct {
	broker *credentials.Broker
	cfg    Config
}

// SessionPolicy is the session policy allowing actions on resource and
// nothing else.
func SessionPolicy(resource string, actions ...string) string {
	type statement struct {
		Effect   string
		Action   []string
		Resource []string
	}
	b, _ := json.Marshal(struct {
		Version   string
		Statement []statement
	}{"2012-10-17", []statement{{"Allow", actions, []string{resource}}}})
	return string(b)
}

// putObject writes one object: body (text from the step) or path (a file
// in the workspace, which it may not leave).
func (a *s3Actions) putObject(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	env, err := step.From(ctx)
	if err != nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	}
	var (
		bucket, key, body, path, contentType string
		hasBody, hasPath                     bool
	)
	err = errors.Join(
		str(in.Input, "bucket", true, &bucket, nil),
		str(in.Input, "key", true, &key, nil),
		str(in.Input, "body", false, &body, &hasBody),
		str(in.Input, "path", false, &path, &hasPath),
		str(in.Input, "contentType", false, &contentType, nil),
	)
	if err == nil {
		err = errors.Join(checkBucket(bucket), checkKey(key))
	}
	if err == nil && hasBody == hasPath {
		err = fmt.Errorf("%w: give either body or path", errs.ErrInvalid)
	}
	if err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	var (
		content io.ReadSeeker = strings.NewReader(body)
		size                  = int64(len(body))
		from                  = "the step's body"
	)
	if hasPath {
		f, n, err := openWorkspaceFile(env.Workspace, path)
		if err != nil {
			return contract.ActionOutput{}, invalid(err)
		}
		defer f.Close()
		content, size, from = f, n, "workspace file "+path
	}
	target := ObjectARN(bucket, key)
	url := a.cfg.objectURL(bucket, key)
	out := contract.ActionOutput{Output: map[string]any{"bucket": bucket, "key": key, "url": url}}
	if env.DryRun {
		out.Output["etag"] = ""
		out.Logs = append(out.Logs, fmt.Sprintf("dry run: would put %d bytes from %s at s3://%s/%s (a session allowed only s3:PutObject on %s); nothing was sent to AWS",
			size, from, bucket, key, target))
		return out, nil
	}
	cred, err := a.session(ctx, env, ActionPutObject, target, "s3:PutObject")
	if err != nil {
		return contract.ActionOutput{}, err
	}
	put := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: content, ContentLength: aws.Int64(size)}
	if contentType != "" {
		put.ContentType = aws.String(contentType)
	}
	res, err := a.cfg.s3Client(cred).PutObject(ctx, put)
	if err != nil {
		return contract.ActionOutput{}, awsError(fmt.Sprintf("put s3://%s/%s", bucket, key), err, cred)
	}
	out.Output["etag"] = strings.Trim(aws.ToString(res.ETag), `"`)
	out.Logs = append(out.Logs, fmt.Sprintf("put %d bytes from %s at s3://%s/%s with %s (expires %s)",
		size, from, bucket, key, cred.Source, cred.Expires.UTC().Format(time.RFC3339)))
	return out, nil
}

// createBucket creates a bucket; one that already exists and is ours is
// success, so a retried step does not fail.
func (a *s3Actions) createBucket(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	env, err := step.From(ctx)
	if err != nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	}
	var bucket string
	if err := str(in.Input, "bucket", true, &bucket, nil); err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	if err := checkBucket(bucket); err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	target := BucketARN(bucket)
	out := contract.ActionOutput{Output: map[string]any{"bucket": bucket, "arn": target}}
	if env.DryRun {
		out.Output["created"] = false
		out.Logs = append(out.Logs, fmt.Sprintf("dry run: would create bucket %s in %s (a session allowed only s3:CreateBucket on %s); nothing was sent to AWS",
			bucket, a.cfg.region(), target))
		return out, nil
	}
	cred, err := a.session(ctx, env, ActionCreateBucket, target, "s3:CreateBucket")
	if err != nil {
		return contract.ActionOutput{}, err
	}
	create := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	// Outside us-east-1 AWS wants the region spelt out; an S3-compatible
	// server takes the default.
	if r := a.cfg.region(); a.cfg.Endpoint == "" && r != "us-east-1" {
		create.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(r)}
	}
	_, err = a.cfg.s3Client(cred).CreateBucket(ctx, create)
	var owned *s3types.BucketAlreadyOwnedByYou
	switch {
	case errors.As(err, &owned):
		out.Output["created"] = false
		out.Logs = append(out.Logs, fmt.Sprintf("bucket %s already exists and is ours: nothing to do (%s)", bucket, cred.Source))
		return out, nil
	case err != nil:
		return contract.ActionOutput{}, awsError("create bucket "+bucket, err, cred)
	}
	out.Output["created"] = true
	out.Logs = append(out.Logs, fmt.Sprintf("created bucket %s in %s with %s", bucket, a.cfg.region(), cred.Source))
	return out, nil
}

// session asks the broker for a session allowing only actions on target,
// for the step's verified run.
func (a *s3Actions) session(ctx context.Context, env step.Env, action, target string, s3Actions ...string) (credentials.Credential, error) {
	perms := make(map[string]string, len(s3Actions))
	for _, x := range s3Actions {
		perms[x] = "allow"
	}
	cred, err := a.broker.Get(ctx, credentials.Need{
		Integration: Integration, Action: action, Target: target, Permissions: perms,
		SessionPolicy: SessionPolicy(target, s3Actions...), Run: env.Run,
	})
	switch {
	case errors.Is(err, errs.ErrForbidden), errors.Is(err, credentials.ErrNoIntegration), errors.Is(err, errs.ErrInvalid):
		return credentials.Credential{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	case err != nil:
		return credentials.Credential{}, err
	}
	return cred, nil
}

// openWorkspaceFile opens a regular file of the workspace by its relative
// path; the path may not leave the workspace, through .., an absolute
// path or a symbolic link (os.Root refuses those).
func openWorkspaceFile(workspace, path string) (*os.File, int64, error) {
	if path == "" || filepath.IsAbs(path) || slices.Contains(strings.Split(filepath.ToSlash(path), "/"), "..") {
		return nil, 0, fmt.Errorf("%w: path %q: want a relative path inside the workspace, without \"..\"", errs.ErrInvalid, path)
	}
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return nil, 0, fmt.Errorf("open the workspace: %w", err)
	}
	defer root.Close()
	f, err := root.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: path %q: %v", errs.ErrInvalid, path, relErr(err, workspace))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil && fi.Size() > maxPutObject {
		err = fmt.Errorf("%d bytes; one PutObject takes at most %d", fi.Size(), int64(maxPutObject))
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%w: path %q: %v", errs.ErrInvalid, path, err)
	}
	return f, fi.Size(), nil
}

// relErr drops the workspace's absolute path from an os error.
func relErr(err error, workspace string) string {
	return strings.ReplaceAll(err.Error(), workspace+string(filepath.Separator), "")
}

// str reads the string input key into dst. A missing optional key leaves
// dst alone; present (if not nil) says whether it was given.
func str(input map[string]any, key string, required bool, dst *string, present *bool) error {
	v, ok := input[key]
	if !ok || v == nil {
		if required {
			return fmt.Errorf("%w: input %s is required", errs.ErrInvalid, key)
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%w: input %s must be a string, not %T", errs.ErrInvalid, key, v)
	}
	if required && s == "" {
		return fmt.Errorf("%w: input %s is empty", errs.ErrInvalid, key)
	}
	*dst = s
	if present != nil {
		*present = true
	}
	return nil
}

func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputType, err)
}

// awsError reports an S3 failure without any part of the session:
// refusals are final, others (a network error, a 5xx) may be retried.
func awsError(what string, err error, cred credentials.Credential) error {
	msg := credentials.Scrub(fmt.Sprintf("%s: %v", what, err), cred.Secrets()...)
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "SignatureDoesNotMatch", "BucketAlreadyExists", "InvalidBucketName", "NoSuchBucket":
			return temporal.NewNonRetryableApplicationError(msg, AWSRefusedType, nil)
		}
	}
	return errors.New(msg)
}
