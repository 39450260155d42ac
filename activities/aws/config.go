package aws

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/riggerdev/rigger/internal/credentials"
)

// Session duration bounds. STS refuses less than 15 minutes, and issue 18
// allows no more: a leaked session is useless a quarter of an hour later.
const (
	MinSessionDuration = 15 * time.Minute
	MaxSessionDuration = 15 * time.Minute
)

// Config is the AWS integration's configuration (integrations.aws).
type Config struct {
	// Region is the region requests are signed for [us-east-1].
	Region string
	// Endpoint, when set, is an S3/STS-compatible server (MinIO) used for
	// both services instead of AWS, addressed path-style.
	Endpoint string
	// RoleARN is the role each step's session assumes.
	RoleARN string
	// AccessKeyID and SecretAccessKey are the worker's base credentials,
	// used only to call AssumeRole. Empty AccessKeyID means the SDK's
	// default credential chain (environment, shared files, instance role).
	AccessKeyID     string
	SecretAccessKey credentials.Secret
	// SessionDuration is how long each step's session lasts [15m]; at most
	// MaxSessionDuration.
	SessionDuration time.Duration
	// HTTPClient sends the STS and S3 requests; nil means the SDK's.
	HTTPClient *http.Client
}

// Validate checks c as written by the operator (zero values take their
// defaults).
func (c Config) Validate() error {
	var errs []error
	if c.RoleARN == "" {
		errs = append(errs, errors.New("integrations.aws.roleArn is required"))
	}
	if (c.AccessKeyID == "") != c.SecretAccessKey.Empty() {
		errs = append(errs, errors.New("integrations.aws.accessKeyId and secretAccessKey go together"))
	}
	if d := c.SessionDuration; d != 0 && (d < MinSessionDuration || d > MaxSessionDuration) {
		errs = append(errs, fmt.Errorf("integrations.aws.sessionDuration %s: must be between %s (the STS minimum) and %s", d, MinSessionDuration, MaxSessionDuration))
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			errs = append(errs, fmt.Errorf("integrations.aws.endpoint %q: want http(s)://host[:port]", c.Endpoint))
		}
	}
	return errors.Join(errs...)
}

// region is the configured region or us-east-1.
func (c Config) region() string {
	if c.Region == "" {
		return "us-east-1"
	}
	return c.Region
}

// duration is the configured session duration or the default.
func (c Config) duration() time.Duration {
	if c.SessionDuration == 0 {
		return MaxSessionDuration
	}
	return c.SessionDuration
}
