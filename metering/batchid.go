package metering

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/antifragile-go/antifragile"
)

// BatchID returns the idempotency id of a batch of events: hex of the first
// 128 bits of SHA-256 over the count and each event's ID (its JSON when the
// ID is empty), length-prefixed. The Meter re-sends a refused batch
// unchanged (same events, same IDs, same order), and a Spool re-delivers
// the events it holds in the order it took them, so a re-sent batch has
// the id of the first attempt: durable sinks use it to store a batch once.
// It allocates only for an event without an ID. Safe for concurrent use.
func BatchID(events []Event) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(events)))
	h.Write(n[:])
	var tmp []byte
	for i := range events {
		id := events[i].ID
		if id == "" {
			tmp = events[i].AppendJSON(tmp[:0])
			id = string(tmp)
		}
		binary.BigEndian.PutUint64(n[:], uint64(len(id)))
		h.Write(n[:])
		h.Write([]byte(id))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// ValidateEvents checks every event of a batch (Event.Validate), reporting
// each problem with the event's index in its path
// ("events[3].tokens_processed"), joined; nil when every event is valid.
// Durable sinks call it before writing anything, so that a batch is stored
// whole or not at all.
func ValidateEvents(events []Event) error {
	var p antifragile.Problems
	for i := range events {
		for _, err := range antifragile.Leaves(events[i].Validate()) {
			var ve *antifragile.ValidationError
			if errors.As(err, &ve) {
				c := *ve
				c.Field = fmt.Sprintf("events[%d].%s", i, ve.Field)
				err = &c
			}
			p.Add(err)
		}
	}
	return p.Err()
}
