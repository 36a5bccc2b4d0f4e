package busnats

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile/bus"
)

// Headers of the messages on the wire. Every other header of a request is
// one of bus.Message.Headers (such as "traceparent"), carried as it is;
// names starting with "Af-" are reserved and dropped from those.
//
// A request carries four headers at least — Af-Id, Af-Type, Af-Hash and
// Af-Env — because each header costs both ends and the server work of its
// own (nats.go checks, writes, parses and allocates each): the envelope
// Af-Env holds in one header the send time, the sender's deadline and the
// sender, "<sent>,<deadline>,<from>" with the two times in decimal Unix
// nanoseconds, each empty when zero, and the sender last (so that it may
// hold commas): "1767225600000000000,1767225601500000000,proposer", or
// ",1767225601500000000,proposer" for a request that carries only its
// deadline.
const (
	HeaderID       = "Af-Id"       // bus.Message.ID
	HeaderType     = "Af-Type"     // bus.Message.Type
	HeaderTenant   = "Af-Tenant"   // bus.Message.Tenant; absent when empty
	HeaderPriority = "Af-Priority" // bus.Message.Priority in decimal; absent when 0
	HeaderHash     = "Af-Hash"     // bus.Message.ConstitutionalHash
	HeaderEnvelope = "Af-Env"      // bus.Message.SentAt, the sender's deadline and bus.Message.From (see above)
	HeaderProcess  = "Af-Process"  // the probing process (Config.Process), on probes only
	HeaderEncoding = "Af-Enc"      // "json" when the payload is JSON; absent for raw bytes
	HeaderProbe    = "Af-Probe"    // "1" on a Probe request
	HeaderTokens   = "Af-Tokens"   // bus.Reply.Tokens in decimal; absent when 0
	HeaderKind     = "Af-Kind"     // a failed reply's error kind (see RemoteError)
	HeaderError    = "Af-Error"    // a failed reply's error text
)

// Envelope returns the value of the Af-Env header of a message from from,
// sent at sent, with the sender's deadline (a zero time is left empty).
func Envelope(sent, deadline time.Time, from string) string {
	return string(appendEnvelope(nil, sent, deadline, from))
}

func appendEnvelope(b []byte, sent, deadline time.Time, from string) []byte {
	if !sent.IsZero() {
		b = strconv.AppendInt(b, sent.UnixNano(), 10)
	}
	b = append(b, ',')
	if !deadline.IsZero() {
		b = strconv.AppendInt(b, deadline.UnixNano(), 10)
	}
	b = append(b, ',')
	return append(b, from...)
}

// parseEnvelope reads an Af-Env value.
func parseEnvelope(v string) (sent, deadline time.Time, from string, err error) {
	sentS, rest, ok1 := strings.Cut(v, ",")
	deadlineS, from, ok2 := strings.Cut(rest, ",")
	if !ok1 || !ok2 {
		return sent, deadline, "", errEnvelope
	}
	if sentS != "" {
		if sent, err = unixNano(sentS); err != nil {
			return sent, deadline, "", err
		}
	}
	if deadlineS != "" {
		if deadline, err = unixNano(deadlineS); err != nil {
			return sent, deadline, "", err
		}
	}
	return sent, deadline, from, nil
}

// reserved is the prefix of the headers of this package.
const reserved = "Af-"

// encodingJSON marks a JSON payload.
const encodingJSON = "json"

// MaxHeaders bounds the headers of a bus.Message carried on the wire; a
// message with more is refused before it is sent.
const MaxHeaders = 64

// encodePayload returns the bytes of a payload and whether they are JSON:
// nil is no bytes; []byte is carried raw; json.RawMessage raw, marked as
// JSON; any other value is encoded with encoding/json.
func encodePayload(p any) ([]byte, bool, error) {
	switch v := p.(type) {
	case nil:
		return nil, false, nil
	case []byte:
		return v, false, nil
	case json.RawMessage:
		return v, true, nil
	}
	data, err := json.Marshal(p)
	return data, true, err
}

// decodePayload is the payload a receiver sees: nil for no bytes,
// json.RawMessage for JSON, []byte otherwise.
func decodePayload(data []byte, enc string) any {
	switch {
	case len(data) == 0:
		return nil
	case enc == encodingJSON:
		return json.RawMessage(data)
	}
	return data
}

// set assigns one value to key in h, from the backing array vals (so that
// a header costs no allocation of its own).
func set(h nats.Header, vals *[]string, key, v string) {
	*vals = append(*vals, v)
	n := len(*vals)
	h[key] = (*vals)[n-1 : n : n]
}

// wire is a request's nats.Msg with its headers' backing array, reused
// through wirePool: nats.go reads a message's headers into its buffer
// before PublishMsg or RequestMsgWithContext returns and keeps no
// reference to the message, so a message can serve the next request.
type wire struct {
	m    nats.Msg
	vals []string
}

// A pooled message's header map holds 8 entries without growing (a map of
// at most 8 entries is a single group, quick to clear and to range over):
// the 4 of every request, the optional ones and a trace context.
var wirePool = sync.Pool{New: func() any { return &wire{m: nats.Msg{Header: make(nats.Header, 8)}, vals: make([]string, 0, 8)} }}

// maxPooledHeaders bounds the headers of a message put back in the pool.
const maxPooledHeaders = 8

// release puts w back in the pool, empty.
func (w *wire) release() {
	if len(w.m.Header) > maxPooledHeaders {
		return
	}
	clear(w.m.Header)
	clear(w.vals)
	w.vals = w.vals[:0]
	w.m.Subject, w.m.Data = "", nil
	wirePool.Put(w)
}

// encodeRequest returns the wire form of msg for subject, with the
// sender's deadline (zero: none), from the pool: release it once it is
// sent.
func encodeRequest(subject string, msg *bus.Message, deadline time.Time) (*wire, error) {
	data, isJSON, err := encodePayload(msg.Payload)
	if err != nil {
		return nil, err
	}
	if len(msg.Headers) > MaxHeaders {
		return nil, &ValidationError{Field: "headers", Value: len(msg.Headers), Err: errTooManyHeaders}
	}
	w := wirePool.Get().(*wire)
	h, vals := w.m.Header, &w.vals
	for k, v := range msg.Headers {
		if !strings.HasPrefix(k, reserved) {
			set(h, vals, k, v)
		}
	}
	set(h, vals, HeaderID, msg.ID)
	set(h, vals, HeaderType, msg.Type)
	set(h, vals, HeaderHash, msg.ConstitutionalHash)
	var buf [80]byte
	set(h, vals, HeaderEnvelope, string(appendEnvelope(buf[:0], msg.SentAt, deadline, msg.From)))
	if msg.Tenant != "" {
		set(h, vals, HeaderTenant, msg.Tenant)
	}
	if msg.Priority != 0 {
		set(h, vals, HeaderPriority, strconv.Itoa(msg.Priority))
	}
	if isJSON {
		set(h, vals, HeaderEncoding, encodingJSON)
	}
	w.m.Subject, w.m.Data = subject, data
	return w, nil
}

// request is a message as it arrived: the bus message, the sender's
// deadline (zero: none), the probing process and whether it is a probe.
type request struct {
	msg      bus.Message
	deadline time.Time
	process  string
	probe    bool
}

// decodeRequest reads a request for agent from its headers and data. It
// accepts any input: unknown headers become bus.Message.Headers (at most
// MaxHeaders), and a malformed number is an error naming its header.
func decodeRequest(agent string, h nats.Header, data []byte) (request, error) {
	r := request{msg: bus.Message{To: agent}}
	var enc string
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if !strings.HasPrefix(k, reserved) {
			if r.msg.Headers == nil {
				r.msg.Headers = make(map[string]string, len(h))
			}
			if len(r.msg.Headers) >= MaxHeaders {
				return r, &ValidationError{Field: "headers", Value: len(h), Err: errTooManyHeaders}
			}
			r.msg.Headers[k] = v
			continue
		}
		if err := r.field(k, v, &enc); err != nil {
			return r, err
		}
	}
	r.msg.Payload = decodePayload(data, enc)
	return r, nil
}

// field sets the request's field of the reserved header k to v.
func (r *request) field(k, v string, enc *string) error {
	var err error
	switch k {
	case HeaderID:
		r.msg.ID = v
	case HeaderEnvelope:
		r.msg.SentAt, r.deadline, r.msg.From, err = parseEnvelope(v)
	case HeaderType:
		r.msg.Type = v
	case HeaderTenant:
		r.msg.Tenant = v
	case HeaderHash:
		r.msg.ConstitutionalHash = v
	case HeaderProcess:
		r.process = v
	case HeaderEncoding:
		*enc = v
	case HeaderProbe:
		r.probe = v == "1"
	case HeaderPriority:
		r.msg.Priority, err = strconv.Atoi(v)
	}
	if err != nil {
		return &ValidationError{Field: k, Value: v, Err: err}
	}
	return nil
}

// unixNano parses Unix nanoseconds in decimal.
func unixNano(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n).UTC(), nil
}

// encodeReply returns the reply to a request: the handler's reply, or its
// error's kind and text.
func encodeReply(reply bus.Reply, err error) *nats.Msg {
	m := &nats.Msg{}
	if err != nil {
		m.Header = nats.Header{HeaderKind: {kindOf(err)}, HeaderError: {err.Error()}}
		return m
	}
	data, isJSON, perr := encodePayload(reply.Payload)
	if perr != nil {
		m.Header = nats.Header{HeaderKind: {kindEncoding}, HeaderError: {"busnats: encode the reply: " + perr.Error()}}
		return m
	}
	m.Data = data
	if isJSON || reply.Tokens != 0 {
		m.Header = make(nats.Header, 2)
		if isJSON {
			m.Header[HeaderEncoding] = []string{encodingJSON}
		}
		if reply.Tokens != 0 {
			m.Header[HeaderTokens] = []string{strconv.FormatInt(reply.Tokens, 10)}
		}
	}
	return m
}

// decodeReply reads the reply of agent: the handler's reply or a
// *RemoteError.
func decodeReply(agent string, m *nats.Msg) (bus.Reply, error) {
	if m.Header == nil {
		return bus.Reply{Payload: decodePayload(m.Data, "")}, nil
	}
	if kind := m.Header.Get(HeaderKind); kind != "" {
		return bus.Reply{}, &RemoteError{Agent: agent, Kind: kind, Message: m.Header.Get(HeaderError)}
	}
	r := bus.Reply{Payload: decodePayload(m.Data, m.Header.Get(HeaderEncoding))}
	if t := m.Header.Get(HeaderTokens); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return bus.Reply{}, &ValidationError{Field: HeaderTokens, Value: t, Err: err}
		}
		r.Tokens = n
	}
	return r, nil
}
