package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// Integration is the credentials.Need integration the STS minter serves.
const Integration = "aws"

// MaxSessionPolicy is the longest session policy STS takes (in
// characters, after AWS packs it; MinIO counts the text as sent).
const MaxSessionPolicy = 2048

// STSMinter mints one STS session per need: AssumeRole of the configured
// role from the worker's base credentials, narrowed by the need's session
// policy. It implements credentials.Minter.
type STSMinter struct {
	cfg Config

	mu     sync.Mutex
	client *sts.Client
}

var _ credentials.Minter = (*STSMinter)(nil)

// NewSTSMinter returns a minter for cfg. It does no I/O: the STS client is
// made on first use.
func NewSTSMinter(cfg Config) (*STSMinter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &STSMinter{cfg: cfg}, nil
}

// Integration implements credentials.Minter.
func (*STSMinter) Integration() string { return Integration }

// Mint implements credentials.Minter: AssumeRole with the need's session
// policy (required: a session without one would carry every right of the
// base identity), a session name from the run's user and task, session
// tags user, task and template, for the configured duration.
//
// MinIO, used by the tests, ignores RoleArn and Tags and does not check
// RoleSessionName (INTEGRATIONS.md §1.6); it honours the session policy
// and the duration. AWS honours all of them, so they are always sent.
func (m *STSMinter) Mint(ctx context.Context, need credentials.Need) (credentials.Credential, error) {
	if err := CheckSessionPolicy(need.SessionPolicy); err != nil {
		return credentials.Credential{}, err
	}
	client, err := m.stsClient(ctx)
	if err != nil {
		return credentials.Credential{}, err
	}
	name := SessionName(need.Run)
	dur := m.cfg.duration()
	out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(m.cfg.RoleARN),
		RoleSessionName: aws.String(name),
		Policy:          aws.String(need.SessionPolicy),
		DurationSeconds: aws.Int32(int32(dur / time.Second)),
		Tags:            SessionTags(need.Run),
	})
	if err != nil {
		// SDK errors name the operation, the status and the server's
		// message; the base secret is never in them, scrub anyway.
		return credentials.Credential{}, credentials.ScrubError(fmt.Errorf("sts AssumeRole %s as session %s: %w", m.cfg.RoleARN, name, err), m.cfg.SecretAccessKey)
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil || c.Expiration == nil {
		return credentials.Credential{}, fmt.Errorf("sts AssumeRole as session %s: the answer holds no complete credentials", name)
	}
	cred := credentials.Credential{
		Integration: Integration, Target: need.Target,
		AccessKeyID: *c.AccessKeyId, SecretAccessKey: credentials.NewSecret(*c.SecretAccessKey), SessionToken: credentials.NewSecret(*c.SessionToken),
		Expires: *c.Expiration, Source: "sts session " + name,
	}
	// A server that hands out a longer session than asked is not trusted
	// with the bound (a minute of slack for clock skew).
	if limit := time.Now().Add(dur + time.Minute); cred.Expires.After(limit) {
		return credentials.Credential{}, fmt.Errorf("sts AssumeRole as session %s: the session expires at %s, later than the %s asked for",
			name, cred.Expires.UTC().Format(time.RFC3339), dur)
	}
	return cred, nil
}

// CheckSessionPolicy refuses an empty, oversized or malformed session
// policy.
func CheckSessionPolicy(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case strings.TrimSpace(p) == "":
		return fmt.Errorf("%w: an AWS credential needs a session policy naming what the step may do (a session without one has every right of the worker's role)", errs.ErrInvalid)
	case n > MaxSessionPolicy:
		return fmt.Errorf("%w: the session policy is %d characters; STS takes at most %d", errs.ErrInvalid, n, MaxSessionPolicy)
	case !json.Valid([]byte(p)):
		return fmt.Errorf("%w: the session policy is not valid JSON", errs.ErrInvalid)
	}
	return nil
}

// stsClient returns the STS client, making it on first use.
func (m *STSMinter) stsClient(ctx context.Context) (*sts.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.client != nil {
		return m.client, nil
	}
	base, err := m.cfg.baseConfig(ctx)
	if err != nil {
		return nil, err
	}
	m.client = sts.NewFromConfig(base, func(o *sts.Options) {
		if m.cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(m.cfg.Endpoint)
		}
	})
	return m.client, nil
}

// baseConfig is the SDK configuration of the worker's base identity.
func (c Config) baseConfig(ctx context.Context) (aws.Config, error) {
	if c.AccessKeyID != "" {
		// Built by hand so that nothing is read from the worker's
		// environment or ~/.aws: the configured key is the only identity.
		cfg := aws.Config{Region: c.region(), Credentials: awscreds.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey.Reveal(), "")}
		if c.HTTPClient != nil {
			cfg.HTTPClient = c.HTTPClient
		}
		return cfg, nil
	}
	// No key configured: the operator chose the SDK's default chain
	// (AWS_* environment, shared config files, the instance or pod role),
	// the only case where the worker's environment and files are read.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.region())}
	if c.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(c.HTTPClient))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load the default AWS credential chain: %w", err)
	}
	return cfg, nil
}

// SessionName is the RoleSessionName of a run's session:
// rigger-<user name>-<first 20 characters of the task id>, in AWS's
// alphabet [\w+=,.@-] and at most 64 characters, so CloudTrail shows who
// and which run.
func SessionName(r credentials.Run) string {
	user := r.UserRef
	if i := strings.LastIndexAny(user, ":/"); i >= 0 {
		user = user[i+1:]
	}
	task := r.TaskID
	if len(task) > 20 {
		task = task[:20]
	}
	const prefix = "rigger-"
	room := 64 - len(prefix) - 1 - len(task)
	user = sessionChars(user)
	if len(user) > room {
		user = user[:room]
	}
	return sessionChars(prefix + user + "-" + task)
}

// sessionChars maps every character outside [\w+=,.@-] to '-'.
func sessionChars(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)), strings.ContainsRune("_+=,.@-", r):
			return r
		}
		return '-'
	}, s)
}

// SessionTags are the session's tags: user, task and template (empty ones
// left out), values in AWS's tag alphabet and length.
func SessionTags(r credentials.Run) []ststypes.Tag {
	var tags []ststypes.Tag
	for _, kv := range [][2]string{{"user", r.UserRef}, {"task", r.TaskID}, {"template", r.TemplateRef}} {
		if v := TagValue(kv[1]); v != "" {
			tags = append(tags, ststypes.Tag{Key: aws.String(kv[0]), Value: aws.String(v)})
		}
	}
	return tags
}

// TagValue maps s into AWS's tag value alphabet (letters, digits, spaces
// and _ . : / = + - @; others become _) and cuts it to 256 characters.
func TagValue(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 256 {
			break
		}
		if !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Zs, r) || strings.ContainsRune("_.:/=+-@", r)) {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
