package aws

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// s3Client is an S3 client acting with the session c only.
func (cfg Config) s3Client(c credentials.Credential) *s3.Client {
	ac := aws.Config{Region: cfg.region(),
		Credentials: awscreds.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey.Reveal(), c.SessionToken.Reveal())}
	if cfg.HTTPClient != nil {
		ac.HTTPClient = cfg.HTTPClient
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			// Virtual-host style would need DNS for bucket.<endpoint host>.
			o.UsePathStyle = true
		}
	})
}

// objectURL is where an object is addressed.
func (cfg Config) objectURL(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	k := strings.Join(segs, "/")
	if cfg.Endpoint != "" {
		return strings.TrimRight(cfg.Endpoint, "/") + "/" + bucket + "/" + k
	}
	return "https://" + bucket + ".s3." + cfg.region() + ".amazonaws.com/" + k
}

// BucketARN and ObjectARN are the S3 resources a step targets: the broker's
// Need.Target and the session policy's Resource.
func BucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func ObjectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// checkBucket refuses a name S3 would refuse (3–63 lower-case letters,
// digits, dots and hyphens, starting and ending with a letter or digit).
func checkBucket(b string) error {
	ok := len(b) >= 3 && len(b) <= 63 && !strings.Contains(b, "..")
	for i := 0; ok && i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		ok = alnum || (c == '.' || c == '-') && i > 0 && i < len(b)-1
	}
	if !ok {
		return fmt.Errorf("%w: bucket %q: want 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit", errs.ErrInvalid, b)
	}
	return nil
}

// checkKey refuses object keys that could mean more than one object to a
// policy: wildcards and policy variables (the key becomes a session
// policy Resource), and empty, "." or ".." segments (a server that
// normalises paths would write elsewhere than the policy checked).
func checkKey(k string) error {
	bad := func(why string) error { return fmt.Errorf("%w: object key %q: %s", errs.ErrInvalid, k, why) }
	switch {
	case k == "":
		return bad("empty")
	case len(k) > 1024:
		return bad("longer than 1024 bytes")
	case strings.ContainsAny(k, "*?$"):
		return bad("*, ? and $ are not allowed (they are wildcards or variables in a policy)")
	case strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("control characters are not allowed")
	}
	for _, s := range strings.Split(k, "/") {
		if s == "" || s == "." || s == ".." {
			return bad(`empty, "." and ".." path segments are not allowed`)
		}
	}
	return nil
}
