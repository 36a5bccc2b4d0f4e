package client

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
)

// Errors matched with errors.Is. An *APIError matches the one of its status;
// ErrUnreachable is wrapped with the network error that caused it.
var (
	// ErrUnauthorized: the server wants a bearer token (401).
	ErrUnauthorized = errors.New("client: unauthorized")
	// ErrForbidden: the token is wrong, or the server has writes disabled
	// (403).
	ErrForbidden = errors.New("client: forbidden")
	// ErrNotFound: no such breaker, recovery, scenario or route (404).
	ErrNotFound = errors.New("client: not found")
	// ErrInvalid: the request was invalid (400, 413 or 422).
	ErrInvalid = errors.New("client: invalid request")
	// ErrConflict: the server's state refuses the request, such as an
	// emergency stop in force or a constitutional hash mismatch (409).
	ErrConflict = errors.New("client: conflict")
	// ErrUnavailable: the server lacks the component the route needs, or
	// is not ready (503).
	ErrUnavailable = errors.New("client: unavailable")
	// ErrUnreachable: no HTTP answer at all — the connection was refused,
	// reset or timed out. The network error is wrapped too.
	ErrUnreachable = errors.New("client: server unreachable")
	// ErrStreamEnded: the server closed the event stream.
	ErrStreamEnded = errors.New("client: event stream ended")
)

// APIError is an error answer of the server: a status of 400 or above,
// with the envelope the server sent (or, for a body that is not an
// envelope, one made from the status and the start of the body).
type APIError struct {
	Method   string
	Path     string
	Status   int
	Envelope api.ErrorEnvelope
}

// Error reads like
// `POST /breakers/db/reset: 403 Forbidden: wrong bearer token`.
func (e *APIError) Error() string {
	msg := e.Method + " " + e.Path + ": " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	if e.Envelope.Error != "" {
		msg += ": " + e.Envelope.Error
	}
	if e.Envelope.Field != "" {
		msg += " (field " + e.Envelope.Field + ")"
	}
	if e.Envelope.Detail != "" && e.Envelope.Detail != e.Envelope.Error {
		msg += " [" + e.Envelope.Detail + "]"
	}
	return msg
}

// Is matches the sentinel of e's status: ErrUnauthorized (401),
// ErrForbidden (403), ErrNotFound (404), ErrInvalid (400, 413, 422; also
// antifragile.ErrInvalid), ErrConflict (409) and ErrUnavailable (503).
// A 409 about the constitutional_hash field matches
// antifragile.ErrHashMismatch as well.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrInvalid, antifragile.ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge ||
			e.Status == http.StatusUnprocessableEntity
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable
	case antifragile.ErrHashMismatch:
		return e.Status == http.StatusConflict && e.Envelope.Field == "constitutional_hash"
	}
	return false
}
