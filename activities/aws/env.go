package aws

import "github.com/riggerdev/rigger/internal/credentials"

// Env is the environment that hands the session c to a subprocess (a
// sandboxed terraform): its keys and token and the region. These are the
// only AWS variables the subprocess should see.
func Env(c credentials.Credential, region string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey.Reveal(),
		"AWS_SESSION_TOKEN=" + c.SessionToken.Reveal(),
	}
	if region != "" {
		env = append(env, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return env
}

// Env is the package's Env for the configured region, plus the endpoint
// variables the AWS SDKs and CLI read when an S3/STS-compatible server is
// configured.
func (cfg Config) Env(c credentials.Credential) []string {
	env := Env(c, cfg.region())
	if cfg.Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+cfg.Endpoint, "AWS_ENDPOINT_URL_S3="+cfg.Endpoint, "AWS_ENDPOINT_URL_STS="+cfg.Endpoint)
	}
	return env
}
