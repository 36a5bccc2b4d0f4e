package busnats

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/antifragile-go/antifragile/bus"
)

// BenchmarkWire: the transport's own work on a request, without NATS:
// encoding it into a pooled message (encode, then release) and reading it
// back from the headers nats.go hands a receiver (decode), 256 B of payload
// and the headers every bus message carries.
func BenchmarkWire(b *testing.B) {
	msg := bus.NewMessage("proposer", "validator", "validate", make([]byte, 256))
	msg.ID, msg.SentAt = "r5kq2x-1b4", time.Now()
	deadline := msg.SentAt.Add(10 * time.Second)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, err := encodeRequest("af.bus.validator", &msg, deadline)
			if err != nil {
				b.Fatal(err)
			}
			w.release()
		}
	})
	w, err := encodeRequest("af.bus.validator", &msg, deadline)
	if err != nil {
		b.Fatal(err)
	}
	h := nats.Header{}
	for k, vs := range w.m.Header {
		h[k] = append([]string(nil), vs...)
	}
	w.release()
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeRequest("validator", h, msg.Payload.([]byte)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
