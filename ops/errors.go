package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/recovery"
)

// httpError is an error of the API itself that carries its status.
type httpError struct {
	status int
	msg    string
	field  string
}

func (e *httpError) Error() string { return e.msg }

var (
	errUnauthorized   = &httpError{status: http.StatusUnauthorized, msg: "missing bearer token: send Authorization: Bearer <token>"}
	errForbidden      = &httpError{status: http.StatusForbidden, msg: "wrong bearer token"}
	errWritesDisabled = &httpError{status: http.StatusForbidden, msg: "writes disabled: no token configured"}
	errMisdirected    = &httpError{status: http.StatusMisdirectedRequest, msg: "this server does not answer for that Host: use its address (or localhost)"}
	errEmptyBody      = &httpError{status: http.StatusBadRequest, msg: "request body is empty", field: "body"}
)

func errNotFound(msg string) error { return &httpError{status: http.StatusNotFound, msg: msg} }

func errUnavailable(component string) error {
	return &httpError{status: http.StatusServiceUnavailable, msg: component + " not configured"}
}

// errMisconfigured is the 500 of a handler built from Options that
// Validate refused: the server's fault, not the request's.
func errMisconfigured(err error) error {
	return &httpError{status: http.StatusInternalServerError, msg: "invalid ops options: " + strings.ReplaceAll(err.Error(), "\n", "; ")}
}

// badRequest marks an error of decoding a request body or query.
type badRequest struct{ err error }

func (e *badRequest) Error() string { return e.err.Error() }
func (e *badRequest) Unwrap() error { return e.err }

// statusOf maps an error to its HTTP status and envelope. It is the one
// place where errors meet statuses:
//
//	body too large                         413
//	hash mismatch                          409, field constitutional_hash
//	*ValidationError / ErrInvalid          400, field set
//	malformed body or query                400
//	breaker / recovery / scenario / trial unknown  404
//	chaos target unknown (strict mode)     422, field target or blast_radius[i]
//	emergency stop, stop condition, resource cap, recovery state, trial in progress  409
//	chaos engine closed                    503
//	httpError (auth 401/403, 404, 405, 503, 500 for invalid Options)  its status
//	anything else                          500
func statusOf(err error) (int, api.ErrorEnvelope) {
	var (
		he      *httpError
		mbe     *http.MaxBytesError
		hash    *antifragile.HashMismatchError
		ve      *api.ValidationError
		bad     *badRequest
		unknown *chaos.UnknownTargetError
	)
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, api.ErrorEnvelope{Error: "request body too large", Field: "body",
			Detail: "the limit is " + itoa(mbe.Limit) + " bytes"}
	case errors.As(err, &he):
		return he.status, api.ErrorEnvelope{Error: he.msg, Field: he.field}
	case errors.As(err, &hash) || errors.Is(err, antifragile.ErrHashMismatch):
		msg := err.Error()
		if hash != nil {
			msg = hash.Error()
		}
		return http.StatusConflict, api.ErrorEnvelope{Error: msg, Field: "constitutional_hash"}
	case errors.As(err, &ve):
		env := api.ErrorEnvelope{Error: ve.Error(), Field: ve.Field}
		if all := oneLine(err); all != env.Error {
			env.Detail = all
		}
		return http.StatusBadRequest, env
	case errors.Is(err, antifragile.ErrInvalid):
		return http.StatusBadRequest, api.ErrorEnvelope{Error: oneLine(err)}
	case errors.As(err, &bad):
		return http.StatusBadRequest, api.ErrorEnvelope{Error: "malformed request body", Detail: oneLine(bad.err)}
	case errors.Is(err, breaker.ErrNotFound), errors.Is(err, recovery.ErrNotFound), errors.Is(err, api.ErrNoTrial):
		return http.StatusNotFound, api.ErrorEnvelope{Error: err.Error()}
	case errors.As(err, &unknown):
		return http.StatusUnprocessableEntity, api.ErrorEnvelope{Error: err.Error(), Field: unknown.Field,
			Detail: "GET /breakers lists the breakers (and bus agents) the server knows"}
	case errors.Is(err, chaos.ErrNoPool):
		return http.StatusBadRequest, api.ErrorEnvelope{Error: err.Error(), Field: "target"}
	case errors.Is(err, chaos.ErrEmergencyStop), errors.Is(err, chaos.ErrStopCondition),
		errors.Is(err, chaos.ErrResourceCap), errors.Is(err, chaos.ErrNotRunning), errors.Is(err, chaos.ErrNoRegistry),
		errors.Is(err, recovery.ErrInProgress), errors.Is(err, recovery.ErrNotAwaitingManual), errors.Is(err, api.ErrTrialActive):
		return http.StatusConflict, api.ErrorEnvelope{Error: err.Error()}
	case errors.Is(err, chaos.ErrClosed):
		return http.StatusServiceUnavailable, api.ErrorEnvelope{Error: err.Error()}
	default:
		return http.StatusInternalServerError, api.ErrorEnvelope{Error: "internal error", Detail: err.Error()}
	}
}

// writeError writes err's envelope with its status (see statusOf), and logs
// internal errors.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, env := statusOf(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="antifragile"`)
	}
	if status >= 500 && status != http.StatusServiceUnavailable && log != nil {
		log.Error("ops: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, env)
}

// writeJSON writes v as JSON with status. An encoding failure is a 500
// envelope.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := api.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = api.Marshal(api.ErrorEnvelope{Error: "internal error", Detail: "encoding the response: " + err.Error()})
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeJSON)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decodeBody decodes r's body strictly into dst (api.DecodeStrict), bounded
// by the server's body limit. An empty body is errEmptyBody unless
// emptyOK, in which case dst is left as it is.
func (s *server) decodeBody(w http.ResponseWriter, r *http.Request, dst any, emptyOK bool) error {
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	err := api.DecodeStrict(body, dst)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		if emptyOK {
			return nil
		}
		return errEmptyBody
	}
	var mbe *http.MaxBytesError
	var ve *api.ValidationError
	if errors.As(err, &mbe) || errors.As(err, &ve) {
		return err
	}
	return &badRequest{err: err}
}

// readBody reads r's whole body, bounded by the server's body limit.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &badRequest{err: err}
	}
	if len(bytes.Trim(b, " \t\r\n")) == 0 { // JSON white space only
		return nil, errEmptyBody
	}
	return b, nil
}

// scenarioError classifies an error of chaos.ParseScenario: validation
// errors and hash mismatches keep their meaning, anything else is a
// malformed body (with the unknown field named when that is the problem).
func scenarioError(err error) error {
	var ve *api.ValidationError
	if errors.As(err, &ve) || errors.Is(err, antifragile.ErrHashMismatch) {
		return err
	}
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, `unknown field "`); ok {
		if name, _, ok := strings.Cut(after, `"`); ok {
			return &api.ValidationError{Field: name, Err: errors.New("unknown field")}
		}
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return &api.ValidationError{Field: typ.Field, Err: errors.New("must be a JSON " + typ.Type.Kind().String() + ", not " + typ.Value)}
	}
	return &badRequest{err: err}
}

// oneLine joins the lines of err's message (errors.Join separates with
// newlines) with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
