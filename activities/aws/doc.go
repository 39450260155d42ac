// Package aws is the AWS integration: a credential Minter that turns the
// worker's base AWS identity into one short-lived STS session per step
// (AssumeRole with an inline session policy naming only what the step
// declared, a session name and tags carrying user, task and template, at
// most 15 minutes), and the aws:s3:* actions that use such a session.
//
// It runs only on the rigger-aws task queue, in a worker that holds the
// AWS configuration and nothing else. The base credentials and every
// session's secret parts are credentials.Secret values: they never reach
// a log line, an error, an activity input or output. It must not read
// the worker's environment or AWS files unless the operator configured no
// access key (then the SDK's default chain is the base identity).
package aws
