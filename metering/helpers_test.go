package metering_test

import (
	"context"
	"errors"
	"sync"

	"github.com/antifragile-go/antifragile/metering"
)

// recSink records every batch it accepts; it refuses the first fail writes.
type recSink struct {
	mu       sync.Mutex
	fail     int
	attempts int
	batches  [][]metering.Event
}

var errSinkDown = errors.New("sink down")

func (s *recSink) Write(_ context.Context, events []metering.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.fail != 0 {
		if s.fail > 0 {
			s.fail--
		}
		return errSinkDown
	}
	s.batches = append(s.batches, append([]metering.Event(nil), events...))
	return nil
}

func (s *recSink) setFail(n int) {
	s.mu.Lock()
	s.fail = n
	s.mu.Unlock()
}

func (s *recSink) events() []metering.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []metering.Event
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func (s *recSink) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches {
		out = append(out, len(b))
	}
	return out
}

func (s *recSink) attemptCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}
