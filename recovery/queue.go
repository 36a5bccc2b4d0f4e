package recovery

import (
	"container/heap"
	"context"
	"time"
)

// where a task is queued
const (
	nowhere uint8 = iota
	inWaiting
	inReady
	inBlocked
)

// mono is a point in time as nanoseconds since an orchestrator's epoch, on
// the monotonic clock, plus one: cheap to store and compare, and 0 means
// unset.
type mono int64

// now returns the current time as a mono.
func (o *Orchestrator) now() mono { return mono(time.Since(o.epoch)) + 1 }

// wall returns m as a UTC time; the zero time if m is unset.
func (o *Orchestrator) wall(m mono) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return o.epoch.Add(time.Duration(m - 1)).UTC()
}

// task is one service's recovery; every field is guarded by Orchestrator.mu.
type task struct {
	name     string
	policy   *Policy // defaults applied; shared, never modified
	priority int
	seq      uint64 // order of creation: FIFO among equals
	pos      int    // in Orchestrator.list
	attempts int32  // ≤ MaxRetryAttempts; int32 with index keeps the task in 128 bytes
	index    int32  // in its heap

	scheduledAt mono
	waitFrom    mono // when the current wait began
	due         mono // when the next attempt is due

	strategy Strategy
	state    State
	where    uint8
	explicit bool // policy came from Schedule's argument
	learned  bool // a wait of this outage was learned from history
	again    bool // scheduled while an attempt ran: start a new round after it

	log *attemptLog // what its attempts left; nil until the first one
}

// attemptLog is what a task records once an attempt starts (or it is
// escalated without one), allocated then so that a task that is only
// scheduled stays small: 96 bytes, where a queue of 10,000 spends its
// memory.
type attemptLog struct {
	stop          context.CancelFunc // cancels the running attempt
	lastError     string
	lastAttemptAt mono
	openedAt      mono            // when the outage began
	lastFailAt    mono            // when its last failed attempt ended
	delays        []time.Duration // the waits before its attempts, at most MaxOutageDelays
}

// logOf returns t's attempt log, creating it (the outage opened at
// scheduledAt) if need be.
func (t *task) logOf() *attemptLog {
	if t.log == nil {
		t.log = &attemptLog{openedAt: t.scheduledAt}
	}
	return t.log
}

// openedAt returns when t's outage began: its creation, or the start of
// the round that a success ended (see settleLocked).
func (t *task) openedAt() mono {
	if t.log != nil {
		return t.log.openedAt
	}
	return t.scheduledAt
}

func (o *Orchestrator) snapshot(t *task) Task {
	s := Task{
		Service:      t.name,
		State:        t.state,
		Strategy:     t.strategy,
		Priority:     t.priority,
		AttemptCount: int(t.attempts),
		MaxAttempts:  t.policy.MaxRetryAttempts,
		ScheduledAt:  o.wall(t.scheduledAt),
	}
	if l := t.log; l != nil {
		s.LastAttemptAt, s.LastError = o.wall(l.lastAttemptAt), l.lastError
	}
	if t.state == Scheduled {
		s.NextAttemptAt = o.wall(t.due)
	}
	if t.strategy == Learned {
		l := o.learningLocked(t.name, t.policy)
		s.Learning = &l
	}
	return s
}

// taskHeap is a container/heap of tasks that keeps each task's index and
// where field current. The waiting heap orders by due time (the head is the
// next timer deadline); the ready heap (byPriority) by priority, then due
// time; both then by creation.
type taskHeap struct {
	tasks      []*task
	where      uint8 // the where value of the tasks it holds
	byPriority bool
}

func (h *taskHeap) Len() int { return len(h.tasks) }
func (h *taskHeap) Less(i, j int) bool {
	a, b := h.tasks[i], h.tasks[j]
	if h.byPriority && a.priority != b.priority {
		return a.priority < b.priority
	}
	if a.due != b.due {
		return a.due < b.due
	}
	return a.seq < b.seq
}
func (h *taskHeap) Swap(i, j int) {
	h.tasks[i], h.tasks[j] = h.tasks[j], h.tasks[i]
	h.tasks[i].index = int32(i)
	h.tasks[j].index = int32(j)
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.index = int32(len(h.tasks))
	t.where = h.where
	h.tasks = append(h.tasks, t)
}
func (h *taskHeap) Pop() any {
	old := h.tasks
	t := old[len(old)-1]
	old[len(old)-1] = nil
	h.tasks = old[:len(old)-1]
	t.where = nowhere
	return t
}

// head returns the first task, or nil when the heap is empty.
func (h *taskHeap) head() *task {
	if len(h.tasks) == 0 {
		return nil
	}
	return h.tasks[0]
}

// queue holds the scheduled tasks: waiting for their time, ready (due, in
// priority order) and blocked (due, but an earlier attempt of the same
// service — of a cancelled task — is still running).
type queue struct {
	waiting taskHeap
	ready   taskHeap
	blocked map[string]*task
}

func (q *queue) len() int { return q.waiting.Len() + q.ready.Len() + len(q.blocked) }

// push queues t to wait for t.due.
func (q *queue) push(t *task) { heap.Push(&q.waiting, t) }

// remove takes t out of wherever it is queued.
func (q *queue) remove(t *task) {
	switch t.where {
	case inWaiting:
		heap.Remove(&q.waiting, int(t.index))
	case inReady:
		heap.Remove(&q.ready, int(t.index))
	case inBlocked:
		delete(q.blocked, t.name)
		t.where = nowhere
	}
}

// requeue moves t, whose due time or priority changed, to its right place.
func (q *queue) requeue(t *task) {
	if t.where == inWaiting {
		heap.Fix(&q.waiting, int(t.index))
		return
	}
	q.remove(t)
	q.push(t)
}

// promote moves every task due by now from waiting to ready.
func (q *queue) promote(now mono) {
	for t := q.waiting.head(); t != nil && t.due <= now; t = q.waiting.head() {
		heap.Push(&q.ready, heap.Pop(&q.waiting))
	}
}

// block parks t until the running attempt of the same service ends.
func (q *queue) block(t *task) {
	if q.blocked == nil {
		q.blocked = make(map[string]*task)
	}
	q.blocked[t.name] = t
	t.where = inBlocked
}

// unblock returns the task parked for name, if any, to the ready heap.
func (q *queue) unblock(name string) {
	if t, ok := q.blocked[name]; ok {
		delete(q.blocked, name)
		heap.Push(&q.ready, t)
	}
}

// popReady removes and returns the first ready task.
func (q *queue) popReady() *task { return heap.Pop(&q.ready).(*task) }
