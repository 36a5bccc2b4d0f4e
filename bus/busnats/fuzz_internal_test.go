package busnats

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile/bus"
)

// FuzzDecodeRequest feeds the request parser any headers and payload: it
// never panics, bounds the headers it keeps, and what it reads from a
// request it encoded is the message encoded.
func FuzzDecodeRequest(f *testing.F) {
	f.Add("Af-Id", "m-1", "Af-Priority", "3", "traceparent", "00-ab-cd-01", []byte(`{"a":1}`))
	f.Add("Af-Env", ",notanumber,", "Af-Enc", "json", "x", "", []byte{})
	f.Add("Af-Env", "-9223372036854775808,1,a,b", "Af-Probe", "1", "Af-Hash", "cdd01ef066bc6cf2", []byte("raw"))
	f.Add("Af-Env", "1767225600000000000", "Af-Type", "t", "Af-Env", ",,", []byte("raw"))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string, data []byte) {
		h := nats.Header{k1: {v1}, k2: {v2}, k3: {v3}}
		r, err := decodeRequest("validator", h, data)
		if err != nil {
			return
		}
		if len(r.msg.Headers) > MaxHeaders {
			t.Fatalf("%d headers kept", len(r.msg.Headers))
		}
		for k := range r.msg.Headers {
			if strings.HasPrefix(k, reserved) {
				t.Fatalf("reserved header %q kept as a message header", k)
			}
		}
		// Round trip: encode what was read and read it again.
		r.msg.SentAt = r.msg.SentAt.Round(0)
		w, err := encodeRequest("af.bus.validator", &r.msg, r.deadline)
		if err != nil {
			return // a payload of another type than the decoder makes cannot happen
		}
		defer w.release()
		back, err := decodeRequest("validator", w.m.Header, w.m.Data)
		if err != nil {
			t.Fatalf("decode of an encoded request: %v", err)
		}
		if back.msg.ID != r.msg.ID || back.msg.From != r.msg.From || back.msg.Priority != r.msg.Priority || !back.msg.SentAt.Equal(r.msg.SentAt) ||
			!back.deadline.Equal(r.deadline) || len(back.msg.Headers) != len(r.msg.Headers) {
			t.Fatalf("round trip changed %+v into %+v", r, back)
		}
	})
}

// TestPayloadRoundTrip pins the payload rules of the package doc.
func TestPayloadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string // %T of what the receiver sees
	}{{nil, "<nil>"}, {[]byte("x"), "[]uint8"}, {"x", "json.RawMessage"}, {42, "json.RawMessage"}} {
		msg := bus.NewMessage("a", "b", "t", tc.in)
		w, err := encodeRequest("s", &msg, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := decodeRequest("b", w.m.Header, w.m.Data)
		w.release()
		if err != nil {
			t.Fatal(err)
		}
		if got := typeName(r.msg.Payload); got != tc.want {
			t.Errorf("%#v arrives as %s, want %s", tc.in, got, tc.want)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "<nil>"
	case []byte:
		return "[]uint8"
	}
	if _, ok := v.(interface{ MarshalJSON() ([]byte, error) }); ok {
		return "json.RawMessage"
	}
	return "other"
}

// FuzzDecodeReply feeds the reply parser any headers and payload: it never
// panics, and a reply it encoded reads back as it was.
func FuzzDecodeReply(f *testing.F) {
	f.Add("Af-Tokens", "12", "Af-Enc", "json", []byte(`"ok"`))
	f.Add("Af-Kind", "breaker_open", "Af-Error", "open", []byte{})
	f.Add("Af-Tokens", "x", "", "", []byte("raw"))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, data []byte) {
		r, err := decodeReply("validator", &nats.Msg{Header: nats.Header{k1: {v1}, k2: {v2}}, Data: data})
		if err != nil {
			return
		}
		back, err := decodeReply("validator", encodeReply(r, nil))
		if err != nil || back.Tokens != r.Tokens {
			t.Fatalf("round trip of %+v: %+v, %v", r, back, err)
		}
	})
}

// TestEnvelope pins the Af-Env header: both times, either, neither, a
// sender holding commas, and what is malformed.
func TestEnvelope(t *testing.T) {
	sent, deadline := time.Unix(0, 1767225600000000000).UTC(), time.Unix(0, 1767225601500000000).UTC()
	for _, tc := range []struct {
		sent, deadline time.Time
		from, want     string
	}{
		{sent, deadline, "proposer", "1767225600000000000,1767225601500000000,proposer"},
		{time.Time{}, deadline, "proposer", ",1767225601500000000,proposer"},
		{sent, time.Time{}, "a,b", "1767225600000000000,,a,b"},
		{time.Time{}, time.Time{}, "", ",,"},
	} {
		v := Envelope(tc.sent, tc.deadline, tc.from)
		if v != tc.want {
			t.Errorf("Envelope(%v, %v, %q) = %q, want %q", tc.sent, tc.deadline, tc.from, v, tc.want)
		}
		s, d, from, err := parseEnvelope(v)
		if err != nil || !s.Equal(tc.sent) || !d.Equal(tc.deadline) || from != tc.from {
			t.Errorf("parseEnvelope(%q) = %v, %v, %q, %v", v, s, d, from, err)
		}
	}
	for _, bad := range []string{"", "1", "1,2", "x,,a", ",x,a", ",1.5,a"} {
		_, err := decodeRequest("validator", nats.Header{HeaderEnvelope: {bad}}, nil)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != HeaderEnvelope {
			t.Errorf("Af-Env %q: %v, want a *ValidationError naming %s", bad, err, HeaderEnvelope)
		}
	}
}
