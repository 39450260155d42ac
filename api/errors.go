package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/tasks"
)

var errInternal = errors.New("internal server error")

// errorBody is Backstage's JSON error shape, so Backstage clients show our
// messages unchanged.
type errorBody struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

// classify maps an error category to a status code and Backstage error name.
// This is the only place that knows that mapping.
func classify(err error) (int, string) {
	switch {
	case errors.Is(err, errs.ErrInvalid):
		return http.StatusBadRequest, "InputError"
	case errors.Is(err, errs.ErrUnauthenticated):
		return http.StatusUnauthorized, "AuthenticationError"
	case errors.Is(err, errs.ErrForbidden):
		return http.StatusForbidden, "NotAllowedError"
	case errors.Is(err, errs.ErrNotFound):
		return http.StatusNotFound, "NotFoundError"
	case errors.Is(err, tasks.ErrIdempotencyMismatch):
		// A key reused for another request: the request itself is wrong
		// (RFC 9110's 422), not the task's state.
		return http.StatusUnprocessableEntity, "InputError"
	case errors.Is(err, errs.ErrConflict):
		return http.StatusConflict, "ConflictError"
	case errors.Is(err, errs.ErrUnavailable):
		return http.StatusServiceUnavailable, "ServiceUnavailableError"
	case errors.Is(err, context.Canceled):
		// The caller went away (a closed page, a superseded keystroke):
		// nginx's 499, not a server error.
		return statusClientClosed, "ClientClosedRequestError"
	default:
		return http.StatusInternalServerError, "Error"
	}
}

// databaseUnreachable reports an error of a database that could not be
// reached (store.Unreachable), as opposed to a query it refused.
func databaseUnreachable(err error) bool { return store.Unreachable(err) }

// networkFailure finds the failed network call of err other than the
// database's (a fetch, an identity provider, another service): nil if
// there is none.
func networkFailure(err error) *net.OpError {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return nil
}

// statusClientClosed answers a request its caller abandoned.
const statusClientClosed = 499

// writeError answers with the mapped status. Messages of uncategorised errors
// are logged by the caller, never shown: they may hold internal detail.
func writeError(c *gin.Context, err error) {
	if databaseUnreachable(err) {
		// Not an internal error: the request may succeed once the
		// database is back (the cause, with its address, is only logged).
		_ = c.Error(err)
		c.Header("Retry-After", "5")
		writeStatus(c, http.StatusServiceUnavailable, "ServiceUnavailableError", "the database is unreachable; try again shortly")
		return
	}
	status, name := classify(err)
	if status == statusClientClosed && c.Request.Context().Err() == nil {
		// Cancelled inside the server (a shutdown), not by the caller.
		status, name = http.StatusInternalServerError, "Error"
	}
	if op := networkFailure(err); op != nil && status == http.StatusInternalServerError {
		// Another service did not answer: not the database, and not a
		// fault of this server (the address is only logged).
		_ = c.Error(err)
		writeStatus(c, http.StatusBadGateway, "BadGatewayError", fmt.Sprintf("a service this request needs could not be reached (%s over %s failed); try again shortly", op.Op, op.Net))
		return
	}
	_ = c.Error(err) // the reason of an audited denial
	var body errorBody
	body.Error.Name = name
	body.Error.Message = err.Error()
	if status == http.StatusInternalServerError {
		body.Error.Message = "internal server error"
	}
	body.Request.Method = c.Request.Method
	body.Request.URL = c.Request.URL.RequestURI()
	body.Response.StatusCode = status
	c.JSON(status, body)
}

// writeStatus answers with a status errors do not map to (429, 415, 421)
// in the same Backstage error shape.
func writeStatus(c *gin.Context, status int, name, msg string) {
	_ = c.Error(errors.New(msg)) // the reason of an audited denial
	var body errorBody
	body.Error.Name, body.Error.Message = name, msg
	body.Request.Method = c.Request.Method
	body.Request.URL = c.Request.URL.RequestURI()
	body.Response.StatusCode = status
	c.JSON(status, body)
}

func notFoundRoute(c *gin.Context) error {
	return errs.NotFound("no route for %s %s", c.Request.Method, c.Request.URL.Path)
}

func methodNotAllowed(c *gin.Context) error {
	return errs.Invalid("method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path)
}
