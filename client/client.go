package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/recovery"
)

// Defaults of Config.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultMaxEventBytes = 16 << 20
	// maxErrorBody bounds how much of an error body is read.
	maxErrorBody = 64 << 10
)

// Config configures a Client.
type Config struct {
	// BaseURL is the ops API's root, such as "http://127.0.0.1:8080" or
	// "https://host/ops" for an API mounted under a prefix. Required.
	BaseURL string
	// Token is sent as "Authorization: Bearer <Token>" on every request
	// when not empty. The write routes need it.
	Token string
	// HTTPClient makes the requests. nil means a client of its own with a
	// clone of http.DefaultTransport keeping up to 8 idle connections to
	// the server, for callers that make requests at once (a game day's
	// observation makes five; CloseIdleConnections releases them). Its Timeout, if any, also bounds Events streams: leave
	// it 0 and use Timeout. Its Transport must not be a typed nil (such as
	// a nil *http.Transport), which would panic in the first request.
	HTTPClient *http.Client
	// Timeout bounds each request other than Events (on top of the
	// context's deadline). 0 means 30 s; negative means no bound.
	Timeout time.Duration
	// MaxEventBytes bounds one event of the Events stream. 0 or negative
	// means 16 MiB.
	MaxEventBytes int
	// UserAgent is sent as User-Agent. Empty means
	// "antifragile-client/<version>".
	UserAgent string
}

// Client is a Go client of the ops HTTP API: one method per route, ctx
// first. Error answers are *APIError values matching ErrNotFound,
// ErrForbidden and the other sentinels; a server that cannot be reached is
// ErrUnreachable. A Client is safe for concurrent use.
type Client struct {
	base    *url.URL
	baseStr string
	token   string
	hc      *http.Client
	ownHC   bool
	timeout time.Duration
	maxEv   int
	ua      string
}

// New returns a client of the API at cfg.BaseURL, or a *api.ValidationError
// for a base URL that is not an absolute http or https URL, or for an
// HTTPClient whose Transport is a typed nil ("http_client.transport",
// wrapping antifragile.ErrNil). It starts nothing and makes no request.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, antifragile.Invalid("base_url", cfg.BaseURL, "must be an absolute http or https URL such as \"http://127.0.0.1:8080\"")
	}
	if cfg.HTTPClient != nil {
		if err := nilcheck.Optional("http_client.transport", cfg.HTTPClient.Transport); err != nil {
			return nil, err
		}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, baseStr: u.String(), token: cfg.Token, hc: cfg.HTTPClient, timeout: cfg.Timeout, maxEv: cfg.MaxEventBytes, ua: cfg.UserAgent}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 8
		c.hc = &http.Client{Transport: tr}
		c.ownHC = true
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxEv <= 0 {
		c.maxEv = DefaultMaxEventBytes
	}
	if c.ua == "" {
		c.ua = "antifragile-client/" + antifragile.Version
	}
	return c, nil
}

// BaseURL returns the API root the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// CloseIdleConnections closes the idle connections of the client's
// transport. Call it when done with a client New made its own HTTP client
// for; it does nothing to a Config.HTTPClient's transport unless that
// transport supports it too.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// endpoint returns the URL of path (segments already escaped) with query.
func (c *Client) endpoint(path string, query url.Values) string {
	u := c.baseStr + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, query), rd)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", api.ContentTypeJSON)
	}
	if path == "/metrics" {
		req.Header.Set("Accept", "text/plain")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.ua)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// send makes the request and returns the response of a status below 400;
// an error answer is an *APIError, a failed exchange ErrUnreachable (or
// ctx's error when ctx ended).
func (c *Client) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, cerr)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnreachable, req.Method, c.base.Host, unwrapURL(err))
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, c.apiError(req, resp)
	}
	return resp, nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// apiError builds the *APIError of an error answer.
func (c *Client) apiError(req *http.Request, resp *http.Response) error {
	path := strings.TrimPrefix(req.URL.Path, c.base.Path)
	e := &APIError{Method: req.Method, Path: path, Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err := json.Unmarshal(body, &e.Envelope); err != nil || e.Envelope.Error == "" {
		e.Envelope = api.ErrorEnvelope{Error: http.StatusText(resp.StatusCode)}
		if s := strings.TrimSpace(string(body)); s != "" {
			if len(s) > 200 {
				s = s[:200] + "…"
			}
			e.Envelope.Detail = s
		}
	}
	return e
}

// do makes a unary request and decodes a JSON answer into out (skipped when
// out is nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("client: %s %s: encoding the request: %w", method, path, err)
		}
	}
	return c.doRaw(ctx, method, path, query, body, out)
}

func (c *Client) doRaw(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		if *raw, err = io.ReadAll(resp.Body); err != nil {
			return c.readError(ctx, method, path, err)
		}
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return c.readError(ctx, method, path, err)
	}
	return nil
}

func (c *Client) readError(ctx context.Context, method, path string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, cerr)
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return fmt.Errorf("client: %s %s: decoding the answer: %w", method, path, err)
	}
	return fmt.Errorf("%w: %s %s: reading the answer: %w", ErrUnreachable, method, path, err)
}

func seg(name string) string { return url.PathEscape(name) }

// Index returns the server's name, version and routes (GET / of a server
// without a dashboard).
func (c *Client) Index(ctx context.Context) (api.Index, error) {
	var v api.Index
	err := c.do(ctx, http.MethodGet, "/", nil, nil, &v)
	return v, err
}

// Version returns what the server runs (GET /version).
func (c *Client) Version(ctx context.Context) (api.Version, error) {
	var v api.Version
	err := c.do(ctx, http.MethodGet, "/version", nil, nil, &v)
	return v, err
}

// Health returns the server's current health report (GET /health).
func (c *Client) Health(ctx context.Context) (*health.Report, error) {
	var v health.Report
	if err := c.do(ctx, http.MethodGet, "/health", nil, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// HealthHistory returns the health snapshots of the last window, oldest
// first (GET /health/history); a window ≤ 0 returns every kept snapshot.
func (c *Client) HealthHistory(ctx context.Context, window time.Duration) (api.HealthHistory, error) {
	var q url.Values
	if window > 0 {
		q = url.Values{"window": {window.String()}}
	}
	var v api.HealthHistory
	err := c.do(ctx, http.MethodGet, "/health/history", q, nil, &v)
	return v, err
}

// Breakers returns every breaker's state and counters (GET /breakers).
func (c *Client) Breakers(ctx context.Context) (api.Breakers, error) {
	var v api.Breakers
	err := c.do(ctx, http.MethodGet, "/breakers", nil, nil, &v)
	return v, err
}

func (c *Client) breakerAction(ctx context.Context, name, action string) (api.BreakerAction, error) {
	var v api.BreakerAction
	err := c.do(ctx, http.MethodPost, "/breakers/"+seg(name)+"/"+action, nil, nil, &v)
	return v, err
}

// ResetBreaker closes the breaker and clears its counters
// (POST /breakers/{name}/reset). It needs the token.
func (c *Client) ResetBreaker(ctx context.Context, name string) (api.BreakerAction, error) {
	return c.breakerAction(ctx, name, api.ActionReset)
}

// ForceOpenBreaker holds the breaker open until released
// (POST /breakers/{name}/force-open). It needs the token.
func (c *Client) ForceOpenBreaker(ctx context.Context, name string) (api.BreakerAction, error) {
	return c.breakerAction(ctx, name, api.ActionForceOpen)
}

// RemoveBreaker removes the breaker from the registry
// (DELETE /breakers/{name}); it no longer appears in the health report or
// the metrics. It needs the token.
func (c *Client) RemoveBreaker(ctx context.Context, name string) (api.BreakerAction, error) {
	var v api.BreakerAction
	err := c.do(ctx, http.MethodDelete, "/breakers/"+seg(name), nil, nil, &v)
	return v, err
}

// ReleaseBreaker closes a forced-open breaker
// (POST /breakers/{name}/release). It needs the token.
func (c *Client) ReleaseBreaker(ctx context.Context, name string) (api.BreakerAction, error) {
	return c.breakerAction(ctx, name, api.ActionRelease)
}

// Recovery returns the recovery orchestrator's status (GET /recovery).
func (c *Client) Recovery(ctx context.Context) (recovery.Status, error) {
	var v recovery.Status
	err := c.do(ctx, http.MethodGet, "/recovery", nil, nil, &v)
	return v, err
}

// RecoveryHistory returns the outage history of service name and what the
// learned strategy makes of it (GET /recovery/{name}/history).
func (c *Client) RecoveryHistory(ctx context.Context, name string) (api.RecoveryHistory, error) {
	var v api.RecoveryHistory
	err := c.do(ctx, http.MethodGet, "/recovery/"+seg(name)+"/history", nil, nil, &v)
	return v, err
}

// ScheduleRecovery schedules the recovery of service name
// (POST /recovery/{name}). It needs the token.
func (c *Client) ScheduleRecovery(ctx context.Context, name string, req api.ScheduleRequest) (api.RecoveryAction, error) {
	var v api.RecoveryAction
	err := c.do(ctx, http.MethodPost, "/recovery/"+seg(name), nil, req, &v)
	return v, err
}

// ResumeRecovery makes a recovery awaiting an operator due at once
// (POST /recovery/{name}/resume). It needs the token.
func (c *Client) ResumeRecovery(ctx context.Context, name string) (api.RecoveryAction, error) {
	var v api.RecoveryAction
	err := c.do(ctx, http.MethodPost, "/recovery/"+seg(name)+"/resume", nil, nil, &v)
	return v, err
}

// ResolveRecovery marks a recovery awaiting an operator resolved
// (POST /recovery/{name}/resolve). It needs the token.
func (c *Client) ResolveRecovery(ctx context.Context, name string) (api.RecoveryAction, error) {
	var v api.RecoveryAction
	err := c.do(ctx, http.MethodPost, "/recovery/"+seg(name)+"/resolve", nil, nil, &v)
	return v, err
}

// CancelRecovery cancels the recovery of service name
// (DELETE /recovery/{name}). It needs the token.
func (c *Client) CancelRecovery(ctx context.Context, name string) (api.RecoveryAction, error) {
	var v api.RecoveryAction
	err := c.do(ctx, http.MethodDelete, "/recovery/"+seg(name), nil, nil, &v)
	return v, err
}

// Scenarios returns the active chaos scenarios (GET /chaos/scenarios).
func (c *Client) Scenarios(ctx context.Context) (api.Scenarios, error) {
	var v api.Scenarios
	err := c.do(ctx, http.MethodGet, "/chaos/scenarios", nil, nil, &v)
	return v, err
}

// Scenario returns the active scenario named name
// (GET /chaos/scenarios/{name}).
func (c *Client) Scenario(ctx context.Context, name string) (chaos.Scenario, error) {
	var v chaos.Scenario
	err := c.do(ctx, http.MethodGet, "/chaos/scenarios/"+seg(name), nil, nil, &v)
	return v, err
}

// InjectScenario injects s (POST /chaos/scenarios) and returns the active
// copy. s travels in its JSON form, so its Err and StopConditions do not.
// It needs the token.
func (c *Client) InjectScenario(ctx context.Context, s chaos.Scenario) (chaos.Scenario, error) {
	body, err := s.MarshalJSON()
	if err != nil {
		return chaos.Scenario{}, fmt.Errorf("client: encoding the scenario: %w", err)
	}
	return c.InjectScenarioJSON(ctx, body)
}

// InjectScenarioJSON injects the scenario whose JSON form is body, as it is
// (POST /chaos/scenarios), and returns the active copy (without the
// answer's warnings: see Inject). It needs the token.
func (c *Client) InjectScenarioJSON(ctx context.Context, body []byte) (chaos.Scenario, error) {
	v, err := c.Inject(ctx, body, InjectOptions{})
	return v.Scenario, err
}

// InjectOptions are the options of Inject.
type InjectOptions struct {
	// Strict refuses a scenario aimed at a target the server does not know
	// (POST /chaos/scenarios?strict=1): the error is an *APIError with
	// status 422 whose envelope names the field of the target. False
	// injects it anyway, with a warning in the answer.
	Strict bool
}

// Inject injects the scenario whose JSON form is body, as it is (POST
// /chaos/scenarios), and returns the whole answer: the active copy and the
// server's warnings (an unknown target, a capped duration). It needs the
// token.
func (c *Client) Inject(ctx context.Context, body []byte, opts InjectOptions) (api.Injected, error) {
	var q url.Values
	if opts.Strict {
		q = url.Values{"strict": {"1"}}
	}
	var v api.Injected
	err := c.doRaw(ctx, http.MethodPost, "/chaos/scenarios", q, body, &v)
	return v, err
}

// StopScenario ends the active scenario named name
// (DELETE /chaos/scenarios/{name}). It needs the token.
func (c *Client) StopScenario(ctx context.Context, name string) (api.ScenarioAction, error) {
	var v api.ScenarioAction
	err := c.do(ctx, http.MethodDelete, "/chaos/scenarios/"+seg(name), nil, nil, &v)
	return v, err
}

// EmergencyStop ends every scenario and makes the engine refuse new ones
// until ResetChaos (POST /chaos/emergency-stop). It needs the token.
func (c *Client) EmergencyStop(ctx context.Context) (chaos.Metrics, error) {
	var v chaos.Metrics
	err := c.do(ctx, http.MethodPost, "/chaos/emergency-stop", nil, nil, &v)
	return v, err
}

// ResetChaos lifts an emergency stop (POST /chaos/reset). It needs the
// token.
func (c *Client) ResetChaos(ctx context.Context) (chaos.Metrics, error) {
	var v chaos.Metrics
	err := c.do(ctx, http.MethodPost, "/chaos/reset", nil, nil, &v)
	return v, err
}

// ReloadConfig asks the server to re-read its configuration and apply what
// can change live (POST /config/reload). It needs the token. An invalid
// configuration changes nothing on the server and returns an *APIError
// with status 400 naming every problem.
func (c *Client) ReloadConfig(ctx context.Context) (api.ReloadResult, error) {
	var v api.ReloadResult
	err := c.do(ctx, http.MethodPost, "/config/reload", nil, nil, &v)
	return v, err
}

// ApplyTuning applies a measured change of settings and records it in the
// server's tuning ledger (POST /tune/apply), returning its entry; a refused
// change (nothing applied) is an *Error naming its first problem.
func (c *Client) ApplyTuning(ctx context.Context, change api.TuningChange) (api.LedgerEntry, error) {
	var v api.LedgerEntry
	err := c.do(ctx, http.MethodPost, "/tune/apply", nil, change, &v)
	return v, err
}

// StartTrial puts candidate settings in force for a tuning run, or changes
// the candidate of the trial in progress (POST /tune/trial; see
// api.TrialRequest); a trial of other services in progress is ErrConflict.
func (c *Client) StartTrial(ctx context.Context, req api.TrialRequest) (api.Trial, error) {
	var v api.Trial
	err := c.do(ctx, http.MethodPost, "/tune/trial", nil, req, &v)
	return v, err
}

// EndTrial ends the tuning trial in progress, the server restoring the
// settings it saved (DELETE /tune/trial); none in progress is ErrNotFound.
func (c *Client) EndTrial(ctx context.Context) (api.Trial, error) {
	var v api.Trial
	err := c.do(ctx, http.MethodDelete, "/tune/trial", nil, nil, &v)
	return v, err
}

// Trial returns the tuning trial in progress, or the last one that ended
// (GET /tune/trial).
func (c *Client) Trial(ctx context.Context) (api.Trial, error) {
	var v api.Trial
	err := c.do(ctx, http.MethodGet, "/tune/trial", nil, nil, &v)
	return v, err
}

// Ledger returns the server's tuning ledger (GET /tune/ledger).
func (c *Client) Ledger(ctx context.Context) (api.Ledger, error) {
	var v api.Ledger
	err := c.do(ctx, http.MethodGet, "/tune/ledger", nil, nil, &v)
	return v, err
}

// ChaosMetrics returns the chaos engine's counters (GET /chaos/metrics).
func (c *Client) ChaosMetrics(ctx context.Context) (chaos.Metrics, error) {
	var v chaos.Metrics
	err := c.do(ctx, http.MethodGet, "/chaos/metrics", nil, nil, &v)
	return v, err
}

// Metering returns the meter's counters and the usage per tenant
// (GET /metering).
func (c *Client) Metering(ctx context.Context) (api.Metering, error) {
	var v api.Metering
	err := c.do(ctx, http.MethodGet, "/metering", nil, nil, &v)
	return v, err
}

// Bus returns the agent bus's counters (GET /bus).
func (c *Client) Bus(ctx context.Context) (bus.Metrics, error) {
	var v bus.Metrics
	err := c.do(ctx, http.MethodGet, "/bus", nil, nil, &v)
	return v, err
}

// Live returns the liveness probe (GET /livez).
func (c *Client) Live(ctx context.Context) (api.Probe, error) {
	var v api.Probe
	err := c.do(ctx, http.MethodGet, "/livez", nil, nil, &v)
	return v, err
}

// Ready returns the readiness probe (GET /readyz). A server that is not
// ready answers 503 with a probe whose Status is api.ProbeNotReady: that is
// returned without error. A 503 without a probe (no health aggregator) is
// an *APIError.
func (c *Client) Ready(ctx context.Context) (api.Probe, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/readyz", nil, nil)
	if err != nil {
		return api.Probe{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return api.Probe{}, fmt.Errorf("client: GET /readyz: %w", cerr)
		}
		return api.Probe{}, fmt.Errorf("%w: GET %s: %w", ErrUnreachable, c.base.Host, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var p api.Probe
		if rerr == nil && json.Unmarshal(body, &p) == nil && p.Status != "" {
			return p, nil
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if resp.StatusCode >= 400 {
		return api.Probe{}, c.apiError(req, resp)
	}
	return api.Probe{}, fmt.Errorf("client: GET /readyz: unexpected answer %s", resp.Status)
}

// Metrics returns the Prometheus exposition of GET /metrics.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	var b []byte
	err := c.do(ctx, http.MethodGet, "/metrics", nil, nil, &b)
	return b, err
}
