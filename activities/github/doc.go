// Package github holds the scaffolder's GitHub actions (publish:github,
// publish:github:pull-request, github:repo:create, github:repo:push,
// github:issues:label, github:actions:dispatch, github:webhook) and the
// credentials.Minter that mints their GitHub App installation tokens.
//
// Every action asks the credential broker for a token restricted to its
// target repository and the permissions it declares; it never reads a
// token from its input and never writes one to its output, a log line or
// an error. git runs through one function (Git.Command) with a scrubbed
// environment, and the token travels in git's environment, never in argv
// or a URL. The package does not read configuration files or the
// process environment: the worker hands it a Config.
package github
