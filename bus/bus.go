package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/codec"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/latency"
	"github.com/antifragile-go/antifragile/metering"
)

// ValidationError reports an invalid Config field or message field.
type ValidationError = antifragile.ValidationError

// Errors returned by the bus. Match them with errors.Is.
var (
	// ErrUnknownAgent: the recipient is not registered.
	ErrUnknownAgent = errors.New("bus: unknown agent")
	// ErrMailboxFull: Publish found the recipient's mailbox full.
	ErrMailboxFull = errors.New("bus: mailbox full")
	// ErrHandlerPanic: the recipient's handler panicked.
	ErrHandlerPanic = errors.New("bus: handler panicked")
	// ErrDuplicateAgent: Register was called for a registered name.
	ErrDuplicateAgent = errors.New("bus: agent already registered")
	// ErrRunning: Run was called while the bus is running.
	ErrRunning = errors.New("bus: already running")
	// ErrClosed: Send, Publish or Run was called after Close.
	ErrClosed = errors.New("bus: closed")
)

// AgentError names the agent an error is about; it wraps ErrUnknownAgent,
// ErrMailboxFull or ErrDuplicateAgent.
type AgentError struct {
	Agent string
	Err   error
}

func (e *AgentError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Agent) }

// Unwrap returns the sentinel.
func (e *AgentError) Unwrap() error { return e.Err }

// PanicError is returned to the caller when a handler panics; errors.Is(err,
// ErrHandlerPanic) holds.
type PanicError struct {
	Agent string
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("bus: handler of %q panicked: %v", e.Agent, e.Value)
}

// Is reports whether target is ErrHandlerPanic.
func (e *PanicError) Is(target error) bool { return target == ErrHandlerPanic }

// Message is one message between agents.
type Message struct {
	ID                 string    `json:"id"`
	From               string    `json:"from"`
	To                 string    `json:"to"`
	Type               string    `json:"type"`
	Tenant             string    `json:"tenant,omitempty"`
	Priority           int       `json:"priority,omitempty"`
	Payload            any       `json:"payload,omitempty"`
	ConstitutionalHash string    `json:"constitutional_hash"`
	SentAt             time.Time `json:"sent_at"`
	// Headers carries metadata beside the payload, such as the W3C trace
	// context ("traceparent") an Observer adds. Treat it as read-only: a
	// message's copies share it.
	Headers map[string]string `json:"headers,omitempty"`

	fault *chaos.MessageFault // what chaos does to this delivery (see MessageInjector); nil: nothing
}

// NewMessage returns a message from → to of type typ carrying the
// constitutional hash. The bus fills ID and SentAt when they are empty.
func NewMessage(from, to, typ string, payload any) Message {
	return Message{From: from, To: to, Type: typ, Payload: payload, ConstitutionalHash: antifragile.ConstitutionalHash}
}

// Reply is a handler's answer to Send. Tokens is how many tokens the
// handler processed for the message (0: none or unknown); the bus meters
// it as the agent_message event's Event.Tokens and adds it to the agent's
// AgentMetrics.Tokens, so that usage per tenant counts real work.
type Reply struct {
	Payload any   `json:"payload,omitempty"`
	Tokens  int64 `json:"tokens,omitempty"`
}

// Handler handles the messages sent to an agent. It runs with the sender's
// context (Send) or the bus's (Publish) and must honour its cancellation.
type Handler func(ctx context.Context, msg Message) (Reply, error)

// Injector applies chaos for a target: it may sleep (honouring ctx), return
// an injected error, or block until ctx ends. *chaos.Engine implements it.
type Injector interface {
	Apply(ctx context.Context, target string) error
}

// Recorder takes metering events without blocking. *metering.Meter
// implements it.
type Recorder interface {
	Record(metering.Event) bool
}

// Defaults of the zero fields of a Config.
const (
	DefaultMailboxSize    = 1024
	DefaultPublishTimeout = 30 * time.Second
)

// Upper bounds of a Config, checked by Validate.
const (
	MaxMailboxSize    = 1 << 16 // messages queued per agent
	MaxPublishTimeout = time.Hour
)

// Config configures a Bus. Only Registry is required.
type Config struct {
	// Registry provides each agent's breaker (named after the agent), shared
	// with the health aggregator, the recovery orchestrator and the chaos
	// engine.
	Registry *breaker.Registry `json:"-"`
	// Breaker is the configuration of agents' breakers created by Register;
	// the zero value means the registry's default.
	Breaker breaker.Config `json:"-"`
	// Chaos, if set, is applied to every message for its recipient. A
	// typed nil (such as a nil *chaos.Engine) is refused by New: leave the
	// field nil for no chaos.
	Chaos Injector `json:"-"`
	// Meter, if set, receives an agent_message event for every message and a
	// constitutional_validation event for every hash mismatch. A typed nil
	// (such as a nil *metering.Meter) is refused by New: leave the field nil
	// for no metering.
	Meter Recorder `json:"-"`
	// IsInjected tells errors injected by chaos from real ones, so that they
	// are metered with outcome injected. nil means: any error returned by
	// Chaos.Apply is injected.
	IsInjected func(error) bool `json:"-"`
	// Observer, if set, watches every message: it may add headers as a
	// message is accepted and is told each delivery's decisions (see
	// Observer). A typed nil is refused by New: leave the field nil for
	// none, which costs nothing.
	Observer Observer `json:"-"`
	// MailboxSize bounds each agent's Publish mailbox. 0 means 1024;
	// negative or above MaxMailboxSize (65,536) is invalid.
	MailboxSize int `json:"mailbox_size"`
	// PublishTimeout bounds the handling of a published message. 0 means
	// 30 s; negative or above MaxPublishTimeout (1 h) is invalid.
	PublishTimeout time.Duration `json:"publish_timeout"`
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash. Messages must carry it.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`
	// Transport, if set, carries messages to agents not registered on this
	// bus (see Transport; package bus/busnats is one on NATS): Send and
	// Publish to such a name go through it, guarded by a breaker named after
	// the agent (created in Registry with Breaker) and by Chaos applied to
	// Transport.Link(agent). nil means every agent is in this process, and
	// a name not registered is ErrUnknownAgent.
	Transport Transport `json:"-"`
	// Logger receives a line when an agent is registered or unregistered
	// (Info, key agent), logged once the bus's lock is released, and one
	// per handler panic (Error, keys agent, type, message_id, panic).
	// Delivering a message never logs otherwise. nil means no logging.
	Logger *slog.Logger `json:"-"`
}

// agent is one registered recipient. Its fields never change after Register.
type agent struct {
	name    string
	handler Handler
	breaker *breaker.Breaker
	mailbox chan Message
	stop    chan struct{} // closed by Unregister
	stats   agentStats
	latency latency.Histogram // how long deliveries took, in the fixed buckets Prometheus exports
}

// Bus routes messages between registered agents. It is safe for concurrent
// use. The routing table is copy-on-write, so Send takes no lock.
type Bus struct {
	cfg  Config
	hash string

	agents atomic.Pointer[map[string]*agent]
	mu     sync.Mutex // serialises writers of agents and run

	run struct {
		ctx context.Context // guarded by mu: set while Run runs
		wg  *sync.WaitGroup // guarded by mu
	}
	running atomic.Bool

	seq                                         atomic.Uint64
	idPrefix                                    string
	sent, delivered, failed, rejected, injected atomic.Uint64
	mismatches, published, mailboxFull, dropped atomic.Uint64
	unknown                                     atomic.Uint64
	closed                                      atomic.Bool

	remotes                   atomic.Pointer[map[string]*remote] // copy-on-write; writers hold mu
	remote, remoteUndelivered atomic.Uint64
	received, expired         atomic.Uint64
	msgChaos                  MessageInjector // Config.Chaos when it injects message faults too
	faults                    faultCounters
}

// Validate reports every invalid data field of c (the hash, the sizes and
// durations, the agents' breaker config) as a *ValidationError, joined with
// errors.Join; nil when they are valid. The wiring (Registry, Chaos, Meter)
// is New's to check.
func (c Config) Validate() error {
	var errs []error
	if err := antifragile.ValidateHashFor(antifragile.HashOrDefault(c.ConstitutionalHash), "bus"); err != nil {
		errs = append(errs, err)
	}
	if c.MailboxSize < 0 {
		errs = append(errs, antifragile.Invalid("mailbox_size", c.MailboxSize, "must not be negative"))
	}
	if c.PublishTimeout < 0 {
		errs = append(errs, antifragile.Invalid("publish_timeout", c.PublishTimeout, "must not be negative"))
	}
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "mailbox_size", c.MailboxSize, MaxMailboxSize)
	antifragile.AtMost(&bounds, "publish_timeout", c.PublishTimeout, MaxPublishTimeout)
	errs = append(errs, bounds.Err())
	if err := c.Breaker.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// WithDefaults returns c with every zero field set to the default New
// applies (DefaultMailboxSize, DefaultPublishTimeout, the toolkit's hash),
// so that a caller can show the configuration in force. It does not
// validate.
func (c Config) WithDefaults() Config {
	if c.MailboxSize == 0 {
		c.MailboxSize = DefaultMailboxSize
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	return c
}

// New returns a bus for cfg, or the validation errors of cfg (a nil
// Registry among them, and a typed-nil Chaos or Meter, wrapping
// antifragile.ErrNil). It starts nothing: Send works at once; Run drains
// published messages.
func New(cfg Config) (*Bus, error) {
	errs := []error{cfg.Validate()}
	if cfg.Registry == nil {
		errs = append(errs, antifragile.Invalid("registry", nil, "is required"))
	}
	if err := nilcheck.Optional("chaos", cfg.Chaos); err != nil {
		errs = append(errs, err)
	}
	if err := nilcheck.Optional("meter", cfg.Meter); err != nil {
		errs = append(errs, err)
	}
	if err := nilcheck.Optional("observer", cfg.Observer); err != nil {
		errs = append(errs, err)
	}
	if err := nilcheck.Optional("transport", cfg.Transport); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	hash := cfg.ConstitutionalHash
	b := &Bus{cfg: cfg, hash: hash, idPrefix: "msg-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"}
	b.msgChaos, _ = cfg.Chaos.(MessageInjector)
	empty := map[string]*agent{}
	b.agents.Store(&empty)
	return b, nil
}

// ConstitutionalHash returns the bus's validated hash.
func (b *Bus) ConstitutionalHash() string { return b.hash }

// Register adds an agent with its handler and creates (or reuses) its
// breaker in the registry. A taken name is an *AgentError wrapping
// ErrDuplicateAgent; an empty name or a nil handler is a *ValidationError
// (for a nil handler wrapping antifragile.ErrNil). Registering while Run
// runs starts the agent's mailbox worker at once.
func (b *Bus) Register(name string, h Handler) error {
	if err := antifragile.CheckName("agent", name); err != nil {
		return err
	}
	if h == nil {
		return &ValidationError{Field: "handler", Err: antifragile.ErrNil}
	}
	br, err := b.cfg.Registry.GetOrCreate(name, b.cfg.Breaker)
	if err != nil {
		return err
	}
	if err := b.add(name, h, br); err != nil {
		return err
	}
	b.logAgent("bus: agent registered", name)
	return nil
}

// logAgent logs msg about the agent name at Info (see Config.Logger).
func (b *Bus) logAgent(msg, name string) {
	if b.cfg.Logger != nil {
		b.cfg.Logger.LogAttrs(context.Background(), slog.LevelInfo, msg, slog.String("agent", name))
	}
}

// add is Register under b.mu.
func (b *Bus) add(name string, h Handler, br *breaker.Breaker) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := *b.agents.Load()
	if _, ok := cur[name]; ok {
		return &AgentError{Agent: name, Err: ErrDuplicateAgent}
	}
	a := &agent{name: name, handler: h, breaker: br, mailbox: make(chan Message, b.cfg.MailboxSize), stop: make(chan struct{})}
	next := make(map[string]*agent, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[name] = a
	b.agents.Store(&next)
	if b.run.ctx != nil {
		b.startWorker(b.run.ctx, b.run.wg, a)
	}
	return nil
}

// Unregister removes an agent and reports whether it was registered. Its
// pending published messages are dropped and counted; its breaker stays in
// the registry.
func (b *Bus) Unregister(name string) bool {
	if !b.remove(name) {
		return false
	}
	b.logAgent("bus: agent unregistered", name)
	return true
}

// remove is Unregister under b.mu.
func (b *Bus) remove(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := *b.agents.Load()
	a, ok := cur[name]
	if !ok {
		return false
	}
	next := make(map[string]*agent, len(cur))
	for k, v := range cur {
		if k != name {
			next[k] = v
		}
	}
	b.agents.Store(&next)
	close(a.stop)
	if b.run.ctx == nil { // no worker: drop what waits now
		b.drain(a)
	}
	return true
}

// Agents returns the names of the registered agents, in no particular order.
func (b *Bus) Agents() []string {
	cur := *b.agents.Load()
	names := make([]string, 0, len(cur))
	for n := range cur {
		names = append(names, n)
	}
	return names
}

func (b *Bus) drain(a *agent) {
	for {
		select {
		case <-a.mailbox:
			b.dropped.Add(1)
		default:
			return
		}
	}
}

// Send delivers msg to its recipient through the whole pipeline in the
// caller's goroutine and returns the handler's reply. It blocks for as long
// as the handler (and any injected latency) does, bounded by ctx.
func (b *Bus) Send(ctx context.Context, msg Message) (Reply, error) {
	if b.closed.Load() {
		return Reply{}, ErrClosed
	}
	b.sent.Add(1)
	a, r, err := b.accept(&msg)
	if err != nil {
		return Reply{}, err
	}
	b.accepted(ctx, &msg)
	if a == nil {
		return b.sendRemote(ctx, r, &msg, false)
	}
	return b.dispatch(ctx, a, &msg, false)
}

// Publish queues msg for its recipient's mailbox and returns at once. The
// hash is checked and the recipient resolved before queuing; a full mailbox
// is an *AgentError wrapping ErrMailboxFull (counted). Run delivers queued
// messages through the same pipeline as Send, each bounded by
// Config.PublishTimeout; their errors are counted, not returned.
func (b *Bus) Publish(ctx context.Context, msg Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed.Load() {
		return ErrClosed
	}
	b.published.Add(1)
	a, r, err := b.accept(&msg)
	if err != nil {
		return err
	}
	b.accepted(ctx, &msg)
	if a == nil {
		_, err := b.sendRemote(ctx, r, &msg, true)
		return err
	}
	select {
	case a.mailbox <- msg:
		return nil
	default:
		b.mailboxFull.Add(1)
		return &AgentError{Agent: a.name, Err: ErrMailboxFull}
	}
}

// accept validates msg's hash, fills its ID and time, and resolves the
// recipient: a local agent, or else (with a Transport) a remote one.
func (b *Bus) accept(msg *Message) (*agent, *remote, error) {
	if antifragile.ValidateHash(msg.ConstitutionalHash) != nil {
		return nil, nil, b.refuseHash(msg)
	}
	a := (*b.agents.Load())[msg.To]
	var r *remote
	if a == nil {
		var err error
		if r, err = b.remoteFor(msg.To); r == nil {
			if err == nil {
				err = &AgentError{Agent: msg.To, Err: ErrUnknownAgent}
			}
			b.unknown.Add(1)
			return nil, nil, err
		}
	} else if b.tamper(msg); msg.fault != nil && msg.fault.WrongHash {
		return nil, nil, b.refuseHash(msg)
	}
	b.fill(msg)
	return a, r, nil
}

// acceptLocal is accept for a message that arrived from another process:
// the recipient must be registered here.
func (b *Bus) acceptLocal(msg *Message) (*agent, error) {
	if antifragile.ValidateHash(msg.ConstitutionalHash) != nil {
		return nil, b.refuseHash(msg)
	}
	a := (*b.agents.Load())[msg.To]
	if a == nil {
		b.unknown.Add(1)
		return nil, &AgentError{Agent: msg.To, Err: ErrUnknownAgent}
	}
	if b.tamper(msg); msg.fault != nil && msg.fault.WrongHash {
		return nil, b.refuseHash(msg)
	}
	b.fill(msg)
	return a, nil
}

// refuseHash counts and meters a message whose hash is not the toolkit's
// and returns its error.
func (b *Bus) refuseHash(msg *Message) error {
	b.mismatches.Add(1)
	if b.cfg.Meter != nil {
		ev := metering.ConstitutionalValidationEvent(msg.Tenant, msg.From, false, 0, "", nil)
		ev.Outcome = metering.OutcomeRejected
		b.cfg.Meter.Record(ev)
	}
	return antifragile.ValidateHashFor(msg.ConstitutionalHash, "bus message from "+strconv.Quote(msg.From))
}

// fill sets msg's ID and time when they are empty.
func (b *Bus) fill(msg *Message) {
	if msg.ID == "" {
		msg.ID = b.idPrefix + strconv.FormatUint(b.seq.Add(1), 36)
	}
	if msg.SentAt.IsZero() {
		msg.SentAt = time.Now().UTC()
	}
}

// deliver runs steps 2–5 of the pipeline; obs, when not nil, receives its
// decisions.
func (b *Bus) deliver(ctx context.Context, a *agent, msg *Message, obs *Delivery) (reply Reply, err error) {
	start := time.Now()
	outcome := metering.OutcomeOK
	defer func() { b.account(a, msg, outcome, time.Since(start), reply.Tokens, obs) }()
	var chaosErr error
	if b.cfg.Chaos != nil {
		chaosErr = b.cfg.Chaos.Apply(ctx, a.name)
		if obs != nil {
			obs.ChaosDuration, obs.ChaosErr = time.Since(start), chaosErr
		}
	}
	t, err := a.breaker.Allow()
	if obs != nil {
		obs.BreakerState = a.breaker.State()
	}
	if err != nil {
		outcome = metering.OutcomeRejected
		return Reply{}, err
	}
	if chaosErr != nil {
		t.Done(chaosErr)
		if b.cfg.IsInjected == nil || b.cfg.IsInjected(chaosErr) {
			outcome = metering.OutcomeInjected
		} else {
			outcome = metering.OutcomeError
		}
		return Reply{}, chaosErr
	}
	if f := msg.fault; f != nil {
		reply, err = b.callFaulty(ctx, a, msg, f)
	} else {
		reply, err = b.call(ctx, a, msg)
	}
	t.Done(err)
	switch {
	case err == nil:
	case errors.Is(err, chaos.ErrCrashed):
		outcome = metering.OutcomeInjected
	default:
		outcome = metering.OutcomeError
	}
	return reply, err
}

// account counts one delivery to a that ended with outcome after took —
// in the bus's totals, the agent's metrics and histogram, the meter and
// obs.
func (b *Bus) account(a *agent, msg *Message, outcome metering.Outcome, took time.Duration, tokens int64, obs *Delivery) {
	a.latency.Observe(took)
	kind := outcomeFailed
	switch outcome {
	case metering.OutcomeOK:
		b.delivered.Add(1)
		kind = outcomeDelivered
	case metering.OutcomeRejected:
		b.rejected.Add(1)
		kind = outcomeRejected
	case metering.OutcomeInjected:
		b.injected.Add(1)
		kind = outcomeInjected
	default:
		b.failed.Add(1)
	}
	a.stats.record(kind, took, tokens)
	if b.cfg.Meter != nil {
		ev := metering.AgentMessageEvent(msg.Tenant, msg.From, msg.To, msg.Type, took, true, "", nil)
		ev.Outcome, ev.Tokens = outcome, max(tokens, 0)
		b.cfg.Meter.Record(ev)
	}
	if obs != nil {
		obs.Outcome, obs.Duration = outcome, took
	}
}

// call runs the handler, turning a panic into a *PanicError.
func (b *Bus) call(ctx context.Context, a *agent, msg *Message) (reply Reply, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Agent: a.name, Value: v}
			b.logPanic(a, msg, v)
		}
	}()
	return a.handler(ctx, *msg)
}

// logPanic logs the panic v of a's handler on msg (see Config.Logger). It
// runs on the delivering goroutine, which holds no lock of the bus.
func (b *Bus) logPanic(a *agent, msg *Message, v any) {
	if b.cfg.Logger != nil {
		b.cfg.Logger.LogAttrs(context.Background(), slog.LevelError, "bus: handler panicked",
			slog.String("agent", a.name), slog.String("type", msg.Type),
			slog.String("message_id", msg.ID), slog.Any("panic", v))
	}
}

// Run drains every agent's mailbox, one worker goroutine per agent, until
// ctx ends. It blocks, and returns ctx's cause only after every worker has
// exited; messages still queued then stay queued for the next Run or for
// Drain. It
// returns ErrRunning if the bus is already running.
func (b *Bus) Run(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if !b.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer b.running.Store(false)
	var wg sync.WaitGroup
	b.mu.Lock()
	b.run.ctx, b.run.wg = ctx, &wg
	for _, a := range *b.agents.Load() {
		b.startWorker(ctx, &wg, a)
	}
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	b.run.ctx, b.run.wg = nil, nil
	b.mu.Unlock()
	wg.Wait()
	return nil
}

// startWorker starts a's mailbox worker; the caller holds b.mu.
func (b *Bus) startWorker(ctx context.Context, wg *sync.WaitGroup, a *agent) {
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.stop:
				b.drain(a)
				return
			case msg := <-a.mailbox:
				if msg.fault != nil && msg.fault.Reorder {
					b.reorder(ctx, a, &msg)
				} else {
					b.dispatchQueued(ctx, a, &msg)
				}
			}
		}
	})
}

// dispatchQueued delivers a published msg to a, bounded by
// Config.PublishTimeout.
func (b *Bus) dispatchQueued(ctx context.Context, a *agent, msg *Message) {
	mctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	_, _ = b.dispatch(mctx, a, msg, true)
	cancel()
}

// Drain delivers, in the caller's goroutine and through the whole
// pipeline, every message still queued in the mailboxes — the messages Run
// left behind when its context ended. Call it on shutdown after Run has
// returned and before the meter is closed, so that no published message goes
// unmetered. Once ctx ends the messages left are dropped, counted, and ctx's
// error is returned. It is safe for concurrent use.
func (b *Bus) Drain(ctx context.Context) error {
	for _, a := range *b.agents.Load() {
		b.drainAgent(ctx, a)
	}
	return ctx.Err()
}

func (b *Bus) drainAgent(ctx context.Context, a *agent) {
	for {
		select {
		case msg := <-a.mailbox:
			if ctx.Err() != nil {
				b.dropped.Add(1)
				continue
			}
			mctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
			_, _ = b.dispatch(mctx, a, &msg, true)
			cancel()
		default:
			return
		}
	}
}

// Close refuses new messages (Send and Publish return ErrClosed, and so
// does a later Run) and then drains the mailboxes as Drain does, delivering
// and metering what was queued, until ctx ends. Stop Run first; a Run still
// running keeps delivering beside it. It is idempotent and safe for
// concurrent use.
func (b *Bus) Close(ctx context.Context) error {
	b.closed.Store(true)
	return b.Drain(ctx)
}

// Metrics are the bus's counters since it was created, and each registered
// agent's since it was registered (PerAgent, sorted by name).
// LatencyBoundsNS are the upper bounds of the buckets of
// AgentMetrics.Latency in nanoseconds (see LatencyBound), the last one 0:
// unbounded.
type Metrics struct {
	Agents         int    `json:"agents"`
	Sent           uint64 `json:"sent"`
	Published      uint64 `json:"published"`
	Delivered      uint64 `json:"delivered"`
	Failed         uint64 `json:"failed"`
	Rejected       uint64 `json:"rejected"`
	Injected       uint64 `json:"injected"`
	HashMismatches uint64 `json:"hash_mismatches"`
	UnknownAgent   uint64 `json:"unknown_agent"`
	MailboxFull    uint64 `json:"mailbox_full"`
	Dropped        uint64 `json:"dropped"`
	// Remote counts the messages sent and published to agents of other
	// processes (through Config.Transport); RemoteUndelivered those of
	// them that never reached a receiver (chaos on the link, the breaker,
	// no responder: metered here). Received counts the messages that
	// arrived from other processes (Deliver), ExpiredOnArrival those of
	// them whose deadline had passed, not run. They are absent from the
	// JSON form while 0, so that a bus in one process keeps its form.
	Remote            uint64 `json:"remote,omitempty"`
	RemoteUndelivered uint64 `json:"remote_undelivered,omitempty"`
	Received          uint64 `json:"received,omitempty"`
	ExpiredOnArrival  uint64 `json:"expired_on_arrival,omitempty"`
	// MessageFaults counts what chaos's message faults did (see
	// MessageInjector); zero, and left out of the JSON, without them.
	MessageFaults      MessageFaultMetrics `json:"message_faults,omitzero"`
	Running            bool                `json:"running"`
	PerAgent           []AgentMetrics      `json:"per_agent"`
	LatencyBoundsNS    []int64             `json:"latency_bounds_ns"`
	ConstitutionalHash string              `json:"constitutional_hash"`
}

// Metrics returns the bus's counters. It takes no lock; it allocates the
// per-agent list.
func (b *Bus) Metrics() Metrics {
	agents := *b.agents.Load()
	m := Metrics{
		PerAgent: agentMetrics(agents), LatencyBoundsNS: latencyBounds(),
		Agents: len(agents), Sent: b.sent.Load(), Published: b.published.Load(),
		Delivered: b.delivered.Load(), Failed: b.failed.Load(), Rejected: b.rejected.Load(),
		Injected: b.injected.Load(), HashMismatches: b.mismatches.Load(), UnknownAgent: b.unknown.Load(),
		MailboxFull: b.mailboxFull.Load(), Dropped: b.dropped.Load(), Running: b.running.Load(), ConstitutionalHash: b.hash,
	}
	b.remoteCounts(&m)
	m.MessageFaults = b.faults.metrics()
	return m
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the Config's JSON form: the fields by their json names,
// durations as strings such as "30s".
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// Every problem is a *ValidationError whose Field is its JSON path; values
// are checked by Validate, not here.
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }
