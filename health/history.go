package health

import "time"

// ring is a bounded FIFO of snapshots in time order. Its buffer grows up to
// max as snapshots arrive. It is not safe for concurrent use; the
// aggregator guards it.
type ring struct {
	buf  []Snapshot
	max  int
	head int // index of the oldest snapshot
	n    int // number of snapshots held
}

func newRing(size int) ring { return ring{max: size} }

// add appends s, first evicting the snapshots older than cutoff and, when
// full, the oldest one.
func (r *ring) add(s Snapshot, cutoff time.Time) {
	r.evict(cutoff)
	if r.n == len(r.buf) {
		if len(r.buf) < r.max {
			buf := make([]Snapshot, min(max(2*len(r.buf), 16), r.max))
			for i := range r.n {
				buf[i] = r.buf[(r.head+i)%len(r.buf)]
			}
			r.buf, r.head = buf, 0
		} else {
			r.buf[r.head] = Snapshot{}
			r.head = (r.head + 1) % len(r.buf)
			r.n--
		}
	}
	r.buf[(r.head+r.n)%len(r.buf)] = s
	r.n++
}

// evict drops the snapshots taken before cutoff.
func (r *ring) evict(cutoff time.Time) {
	for r.n > 0 && r.buf[r.head].Timestamp.Before(cutoff) {
		r.buf[r.head] = Snapshot{} // let the GC have its slices
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
}

// since returns a copy of the snapshots taken at or after from, oldest
// first.
func (r *ring) since(from time.Time) []Snapshot {
	// Snapshots are in time order: skip the older ones, copy the rest.
	skip := 0
	for skip < r.n && r.buf[(r.head+skip)%len(r.buf)].Timestamp.Before(from) {
		skip++
	}
	out := make([]Snapshot, 0, r.n-skip)
	for i := skip; i < r.n; i++ {
		out = append(out, r.buf[(r.head+i)%len(r.buf)])
	}
	return out
}
