package cluster

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// ValidationError reports an invalid Config field. It is the toolkit-wide
// antifragile.ValidationError; errors.Is(err, antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// Defaults applied to the zero fields of a Config.
const (
	DefaultName              = "antifragile"
	DefaultHeartbeatInterval = time.Second
	// DefaultTTL is DefaultTTLFactor heartbeat intervals: an instance is
	// lost after missing two heartbeats and most of a third.
	DefaultTTLFactor   = 3
	DefaultForgetAfter = 5 * time.Minute
	DefaultLease       = 5 * time.Second
	DefaultSignalTTL   = time.Minute
)

// Bounds of a Config, checked by Validate, so that no value can exhaust
// the store or the arithmetic built on it.
const (
	MaxNameLength        = 64 // bytes of the cluster name
	MinHeartbeatInterval = 10 * time.Millisecond
	MaxHeartbeatInterval = time.Minute
	MaxTTL               = 10 * time.Minute
	MaxForgetAfter       = 24 * time.Hour
	MaxLease             = 10 * time.Minute
	MaxSignalTTL         = time.Hour
	MaxLabels            = 32  // labels of one instance
	MaxLabelKey          = 64  // bytes of a label key
	MaxLabelValue        = 256 // bytes of a label value
	MaxQuorumBreakers    = 256 // breakers one instance may watch for a quorum
	MaxQuorum            = 10_000
)

// Config configures a Member. Its zero value joins the cluster
// "antifragile" as host-pid, heartbeating every second. It is plain data
// with a JSON form (durations as strings such as "1s"), so that it can be
// the "cluster" section of a configuration file; Logger has no JSON form.
type Config struct {
	// Name is the cluster's name: every member of one cluster uses the same
	// one, and members of different clusters share nothing in the store.
	// 1 to 64 letters, digits, '-' or '_'; empty means "antifragile".
	Name string `json:"name"`

	// Instance names this member in the cluster; two running members must
	// not share it. Empty means the host name and the process id joined by
	// "-" ("web-1-4242"). It must be a valid name (antifragile.CheckName).
	Instance string `json:"instance"`

	// Labels describe the instance ({"zone": "eu-1", "role": "api"}); fleet
	// chaos selects instances by them. At most 32, each key a valid name of
	// at most 64 bytes, each value printable and at most 256 bytes.
	Labels map[string]string `json:"labels"`

	// HeartbeatInterval is how often the member writes its heartbeat. 0
	// means 1 s; otherwise within [10ms, 1m].
	HeartbeatInterval time.Duration `json:"heartbeat_interval"`

	// TTL is the age after which an instance's last heartbeat no longer
	// counts: the view shows it as lost. A heartbeat older than two
	// intervals but within the TTL is shown as stale. 0 means three
	// heartbeat intervals; otherwise within [2×HeartbeatInterval, 10m].
	TTL time.Duration `json:"ttl"`

	// ForgetAfter is how long the store keeps a heartbeat after it was
	// written: a lost instance is listed as lost until then, and forgotten
	// after. It is the retention of the cluster's members space, which the
	// first member to reach the store creates: later members use the
	// retention it was created with. 0 means 5 minutes; otherwise within
	// [TTL, 24h].
	ForgetAfter time.Duration `json:"forget_after"`

	// Lease is the dead-man switch: a member that has not reached the
	// store for longer than this stops its own chaos (as an emergency
	// stop), while its breakers, health and recovery go on, and lifts that
	// stop when it reaches the store again and no cluster stop is latched.
	// 0 means 5 s; otherwise within [2×HeartbeatInterval, 10m].
	Lease time.Duration `json:"lease"`

	// Quorum opts breakers into shared signals: for each breaker name, the
	// least number of peers (other instances) that must have the breaker
	// open by their own trip rules for this member to trip its own (reason
	// "quorum"). At most 256 breakers, each N within [1, 10000].
	Quorum map[string]int `json:"quorum"`

	// SignalTTL is how long a peer's "breaker open" signal counts without
	// being rewritten; a member rewrites the signals of breakers still
	// open every SignalTTL/2, so the signal of an instance that died with
	// a breaker open ends by itself. It is the retention of the signals
	// space. 0 means 1 minute; otherwise within [2×HeartbeatInterval, 1h].
	SignalTTL time.Duration `json:"signal_ttl"`

	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash. Every heartbeat, view and record carries it.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`

	// Logger receives the member's log lines (the dead-man switch, the
	// lever, rejoining). nil discards them.
	Logger *slog.Logger `json:"-"`
}

// WithDefaults returns c with every zero field set to the default New
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Instance == "" {
		c.Instance = defaultInstance()
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTLFactor * c.HeartbeatInterval
	}
	if c.ForgetAfter == 0 {
		c.ForgetAfter = max(DefaultForgetAfter, c.TTL)
	}
	if c.Lease == 0 {
		c.Lease = max(DefaultLease, 2*c.HeartbeatInterval)
	}
	if c.SignalTTL == 0 {
		c.SignalTTL = max(DefaultSignalTTL, 2*c.HeartbeatInterval)
	}
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	return c
}

// defaultInstance returns host-pid.
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "instance"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Validate reports every invalid field of c (after defaults are applied),
// each as a *ValidationError naming the field as spelled in JSON, joined
// with errors.Join; a wrong hash is a *antifragile.HashMismatchError. It
// returns nil when c is valid.
func (c Config) Validate() error {
	given := c
	c = c.withDefaults()
	var p antifragile.Problems
	p.Add(antifragile.ValidateHashFor(c.ConstitutionalHash, "cluster "+strconv.Quote(c.Name)))
	checkClusterName(&p, c.Name)
	p.Add(antifragile.CheckName("instance", c.Instance))
	checkLabels(&p, c.Labels)
	iv := c.HeartbeatInterval
	ivOK := iv >= MinHeartbeatInterval && iv <= MaxHeartbeatInterval
	antifragile.InRange(&p, "heartbeat_interval", iv, MinHeartbeatInterval, MaxHeartbeatInterval, "")
	// The bounds that follow the interval use it clamped; a field left to
	// its default is not blamed for an invalid interval.
	two := 2 * min(max(iv, MinHeartbeatInterval), MaxHeartbeatInterval)
	relative := func(field string, v, given, hi time.Duration, lo time.Duration, why string) {
		if ivOK || given != 0 {
			antifragile.InRange(&p, field, v, lo, hi, why)
		}
	}
	relative("ttl", c.TTL, given.TTL, MaxTTL, two, "at least two heartbeat intervals")
	if c.TTL <= MaxTTL {
		relative("forget_after", c.ForgetAfter, given.ForgetAfter, MaxForgetAfter, max(c.TTL, two), "at least the ttl")
	}
	relative("lease", c.Lease, given.Lease, MaxLease, two, "at least two heartbeat intervals")
	relative("signal_ttl", c.SignalTTL, given.SignalTTL, MaxSignalTTL, two, "at least two heartbeat intervals")
	checkQuorum(&p, c.Quorum)
	return p.Err()
}

// checkClusterName records a problem unless name is 1 to MaxNameLength
// letters, digits, '-' or '_': it names the store's keyspaces.
func checkClusterName(p *antifragile.Problems, name string) {
	if len(name) > MaxNameLength {
		p.Invalid("name", strconv.Quote(name[:16])+"…", "must be at most %d bytes", MaxNameLength)
		return
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			p.Invalid("name", strconv.Quote(name), "must contain only letters, digits, '-' and '_'")
			return
		}
	}
}

func checkLabels(p *antifragile.Problems, labels map[string]string) {
	if len(labels) > MaxLabels {
		p.Invalid("labels", len(labels), "must hold at most %d labels", MaxLabels)
		return
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field := "labels." + k
		if err := antifragile.CheckName("labels", k); err != nil {
			p.Add(err)
			continue
		}
		if len(k) > MaxLabelKey {
			p.Invalid("labels", strconv.Quote(k), "a key must be at most %d bytes", MaxLabelKey)
			continue
		}
		if v := labels[k]; v != "" {
			if len(v) > MaxLabelValue {
				p.Invalid(field, len(v), "must be at most %d bytes", MaxLabelValue)
			} else if err := antifragile.CheckName(field, v); err != nil {
				p.Add(err)
			}
		}
	}
}

func checkQuorum(p *antifragile.Problems, q map[string]int) {
	if len(q) > MaxQuorumBreakers {
		p.Invalid("quorum", len(q), "must name at most %d breakers", MaxQuorumBreakers)
		return
	}
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := antifragile.CheckName("quorum", n); err != nil {
			p.Add(err)
			continue
		}
		antifragile.InRange(p, fmt.Sprintf("quorum.%s", n), q[n], 1, MaxQuorum, "peers that must have the breaker open")
	}
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the config's JSON form: the fields by their json
// names, durations as strings such as "1s". Logger has no JSON form.
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused); fields absent from b keep their values.
// It reports every problem as a *ValidationError whose Field is the JSON
// path; it does not validate values (Validate does).
func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plainConfig)(c)) }

// spaces are the keyspaces of one cluster.
type spaces struct {
	members Space // heartbeats: <instance>
	control Space // the lever and its acknowledgements: lever, ack.<instance>
	fleet   Space // fleet chaos: a.<instance>.<scenario>, r.<scenario>.<instance>
	signals Space // breaker signals: <breaker>.<instance>
}

// fleetRetention keeps fleet assignments and results past the longest
// scenario (chaos.MaxDuration) so that every instance can read its result.
const fleetRetention = 10 * time.Minute

func (c Config) spaces() spaces {
	return spaces{
		members: Space{Name: c.Name + "-members", TTL: c.ForgetAfter, History: 1},
		control: Space{Name: c.Name + "-control", History: 8},
		fleet:   Space{Name: c.Name + "-fleet", TTL: fleetRetention, History: 1},
		signals: Space{Name: c.Name + "-signals", TTL: c.SignalTTL, History: 1},
	}
}
