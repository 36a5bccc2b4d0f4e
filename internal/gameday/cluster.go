package gameday

import (
	"fmt"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/health"
)

// Instance states of a ClusterInstance.
const (
	InstanceLive   = "live"
	InstanceStale  = "stale"
	InstanceLost   = "lost"
	InstanceAbsent = "absent" // the cluster view did not list it
)

// ClusterResult is the account of a game day across processes: the
// instances of the cluster as its view showed them at the end, the
// messages that crossed between the processes, and the processes killed
// and restarted. It is plain data, filled by the command that runs the
// game day (Config.Cluster); the runner adds the breakers' times of each
// kill from the event log, and Judge turns it into notes, and an instance
// not live at the end into a reason.
type ClusterResult struct {
	// Name is the cluster's name.
	Name string `json:"name"`
	// Instances are its instances, sorted by name.
	Instances []ClusterInstance `json:"instances"`
	// ViewError is why the cluster view could not be read at the end; the
	// instances' states are then "absent".
	ViewError string `json:"view_error,omitempty"`
	// Crossed counts the messages the processes sent or published to
	// agents of other processes; Received those that arrived in another
	// process; Undelivered those that never reached one (chaos on the
	// link, an open breaker, no process serving the agent: metered at the
	// sender); TimedOut the requests whose reply did not come in time.
	// Each is the sum over the processes of their buses' and transports'
	// counters, a killed process's as of its last report (see Partial).
	Crossed     uint64 `json:"crossed"`
	Received    uint64 `json:"received"`
	Undelivered uint64 `json:"undelivered"`
	TimedOut    uint64 `json:"timed_out"`
	// Partial says that the counts of a killed process are those it
	// reported just before it was killed: what it received after that
	// report counts as lost.
	Partial bool `json:"partial,omitempty"`
	// Kills are the processes killed during the game day.
	Kills []ProcessKill `json:"kills,omitempty"`
}

// Lost returns the messages that crossed but were neither received by
// another process nor refused before they left: Crossed − Received −
// Undelivered, 0 when that is negative. They were lost with a killed
// process (published to its agents while it was down — NATS core drops a
// message nobody subscribes to, and a one-way publish has no reply to
// miss — or in flight when it died), or their receipt was not reported
// yet (Partial).
func (c *ClusterResult) Lost() uint64 {
	if done := c.Received + c.Undelivered; done < c.Crossed {
		return c.Crossed - done
	}
	return 0
}

// ClusterInstance is one instance of the cluster at the end of a game
// day.
type ClusterInstance struct {
	Instance string   `json:"instance"`
	Agents   []string `json:"agents"`
	// State is InstanceLive, InstanceStale or InstanceLost as the view
	// judged its last heartbeat, or InstanceAbsent.
	State string `json:"state"`
	// Status, Score, Breakers (how many) and Open (the open and forced-open
	// ones) are its last heartbeat's; Heartbeats its sequence number.
	Status     health.Status `json:"status"`
	Score      float64       `json:"score"`
	Breakers   int           `json:"breakers"`
	Open       []string      `json:"open,omitempty"`
	Heartbeats uint64        `json:"heartbeats"`
	// Starts counts the times its process was started (1 + restarts).
	Starts int `json:"starts"`
	// Sent, Received and Undelivered are its bus's messages to, from and
	// not delivered to other processes, summed over its runs.
	Sent        uint64 `json:"sent"`
	Received    uint64 `json:"received"`
	Undelivered uint64 `json:"undelivered"`
}

// ProcessKill is one process killed and restarted during a game day.
// Offsets are from the start of the game day; -1 means never.
type ProcessKill struct {
	Instance string   `json:"instance"`
	Agents   []string `json:"agents"`
	// Fault names the fault (a Disruption) the kill was recorded as.
	Fault string `json:"fault"`
	// Killed is when it was killed, Restarted when its process was
	// started again, Served when the restarted process served its agents.
	Killed    time.Duration `json:"killed"`
	Restarted time.Duration `json:"restarted"`
	Served    time.Duration `json:"served"`
	// Breakers holds, per agent of the process, when the sender's breaker
	// of the agent first opened after the kill and first closed after the
	// restart (from the event log).
	Breakers []KillBreaker `json:"breakers"`
}

// KillBreaker is one breaker's account of a kill (-1: never).
type KillBreaker struct {
	Breaker string        `json:"breaker"`
	Opened  time.Duration `json:"opened"`
	Closed  time.Duration `json:"closed"`
}

// timeline sets the breakers of every kill from the event log: the first
// opening of each agent's breaker in the observed process after the kill,
// and its first closing after the restart that followed that opening.
func (c *ClusterResult) timeline(events []TimedEvent) {
	for i := range c.Kills {
		k := &c.Kills[i]
		k.Breakers = k.Breakers[:0]
		for _, a := range k.Agents {
			kb := KillBreaker{Breaker: a, Opened: -1, Closed: -1}
			for _, ev := range events {
				if ev.Kind != "breaker" || ev.Subject != a || ev.Instance != "" || ev.At < k.Killed {
					continue
				}
				switch {
				case kb.Opened < 0 && ev.State == breaker.Open.String():
					kb.Opened = ev.At
				case kb.Opened >= 0 && kb.Closed < 0 && k.Restarted >= 0 && ev.At >= k.Restarted && ev.State == breaker.Closed.String():
					kb.Closed = ev.At
				}
			}
			k.Breakers = append(k.Breakers, kb)
		}
	}
}

// after formats the span from from to to, or "never" when to is -1.
func after(from, to time.Duration) string {
	if to < 0 || from < 0 {
		return "never"
	}
	return "+" + RoundDuration(to-from).String()
}

// Summary says what happened to the kill in a line: when the breakers
// opened, when the process restarted and served, and when they closed.
func (k ProcessKill) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) killed at %s", k.Instance, strings.Join(k.Agents, ", "), RoundDuration(k.Killed))
	for _, kb := range k.Breakers {
		if kb.Opened < 0 {
			fmt.Fprintf(&b, "; breaker %s did not open", kb.Breaker)
		} else {
			fmt.Fprintf(&b, "; breaker %s opened %s", kb.Breaker, after(k.Killed, kb.Opened))
		}
	}
	if k.Restarted < 0 {
		return b.String() + "; not restarted"
	}
	fmt.Fprintf(&b, "; restarted %s", after(k.Killed, k.Restarted))
	if k.Served < 0 {
		b.WriteString(", never served again")
	} else {
		fmt.Fprintf(&b, ", served %s after the restart", after(k.Restarted, k.Served))
	}
	for _, kb := range k.Breakers {
		switch {
		case kb.Opened >= 0 && kb.Closed < 0:
			fmt.Fprintf(&b, "; %s did not close", kb.Breaker)
		case kb.Opened >= 0:
			fmt.Fprintf(&b, "; %s closed %s after the restart", kb.Breaker, after(k.Restarted, kb.Closed))
		}
	}
	return b.String()
}

// Accounting says in a line how the messages across processes fared.
func (c *ClusterResult) Accounting() string {
	s := fmt.Sprintf("%d crossed between processes: %d received, %d undelivered (metered at the sender), %d timed out waiting for a reply, %d lost",
		c.Crossed, c.Received, c.Undelivered, c.TimedOut, c.Lost())
	if c.Lost() > 0 {
		s += " (with a killed process: published to it while it was down, or in flight when it died)"
	}
	if c.Partial {
		s += "; a killed process's counts are those it reported just before the kill"
	}
	return s
}

// cluster adds the notes and reasons of the game day's cluster account.
func (j *judge) cluster() {
	c := j.r.Cluster
	if c == nil {
		return
	}
	live := 0
	for _, in := range c.Instances {
		if in.State == InstanceLive {
			live++
			continue
		}
		j.reasons = append(j.reasons, fmt.Sprintf("cluster %q: instance %s is %s at the end of the game day", c.Name, in.Instance, in.State))
	}
	note := fmt.Sprintf("cluster %q: %d instances, %d live at the end", c.Name, len(c.Instances), live)
	if c.ViewError != "" {
		note += " (the view could not be read: " + c.ViewError + ")"
	}
	j.notes = append(j.notes, note, "messages: "+c.Accounting())
	for _, k := range c.Kills {
		j.notes = append(j.notes, "process "+k.Summary())
	}
}
