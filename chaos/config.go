package chaos

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// Defaults applied to the zero fields of a Config.
const (
	DefaultMemoryCap         = 256 << 20 // bytes
	DefaultDiskBytesPerSec   = 16 << 20  // bytes per second at level 1
	DefaultDiskMaxBytes      = 64 << 20  // bytes on disk at level 1
	DefaultNetworkBandwidth  = 10 << 20  // bytes per second at level 0
	DefaultStopCheckInterval = 100 * time.Millisecond
	DefaultPoolSize          = 100
)

// StopCondition names a condition under which a running experiment must be
// aborted, such as "health status is CRITICAL". Check must be cheap, must
// not block and is called from the goroutine of Engine.Run (and from
// Inject); a Check that panics counts as holding.
type StopCondition struct {
	// Name says what the condition is; it is recorded as the stop reason.
	Name string
	// Check reports whether the condition holds.
	Check func() bool
}

// Upper bounds of a Config, checked by Validate, so that no value asks a
// scenario to hold more than a machine can give.
const (
	MaxMemoryCap          antifragile.ByteSize = 16 << 30  // 16 GiB
	MaxDiskBytesPerSecond antifragile.ByteSize = 1 << 30   // 1 GiB/s
	MaxDiskBytes          antifragile.ByteSize = 64 << 30  // 64 GiB
	MaxNetworkBandwidth   antifragile.ByteSize = 100 << 30 // 100 GiB/s
)

// DiskIOConfig bounds disk_io scenarios.
type DiskIOConfig struct {
	// Dir is the directory in which each disk_io scenario creates its own
	// temporary directory (removed when the scenario ends). "" means
	// os.TempDir().
	Dir string `json:"dir"`
	// BytesPerSecond is the write rate at level 1; a scenario at level L
	// writes and fsyncs L × BytesPerSecond. 0 means 16 MiB/s; negative or
	// above MaxDiskBytesPerSecond (1 GiB/s) is invalid.
	BytesPerSecond antifragile.ByteSize `json:"bytes_per_second"`
	// MaxBytes bounds the disk space at level 1: a scenario at level L
	// rewrites its file from the start once it reaches L × MaxBytes (at
	// least one 64 KiB chunk). 0 means 64 MiB; negative or above
	// MaxDiskBytes (64 GiB) is invalid.
	MaxBytes antifragile.ByteSize `json:"max_bytes"`
}

// Config configures an Engine. The zero value is usable: unseeded error
// draws, a 300 s duration cap, a 256 MiB memory cap and no stop conditions.
type Config struct {
	// Seed, when not 0, makes the error draws reproducible: the same seed
	// and the same sequence of calls inject the same errors. Seeded draws
	// are serialised by a mutex taken only when an error scenario matches
	// the target. 0 means unseeded, lock-free draws.
	Seed uint64 `json:"seed"`
	// MaxDuration caps every scenario's duration. 0 means MaxDuration
	// (300 s); it may be lowered but not raised; negative is invalid.
	MaxDuration time.Duration `json:"max_duration"`
	// MaxDelay bounds a latency scenario's delay (Inject refuses a longer
	// one) and the delays of several latency scenarios on one target added
	// up (the sum saturates at it). 0 means DefaultMaxDelay (30 s); above
	// MaxDelay (300 s) or negative is invalid.
	MaxDelay time.Duration `json:"max_delay"`
	// MemoryCap is the memory that all memory scenarios together may hold:
	// a scenario at level L allocates L × MemoryCap. 0 means 256 MiB;
	// negative or above MaxMemoryCap (16 GiB) is invalid.
	MemoryCap antifragile.ByteSize `json:"memory_cap_bytes"`
	// DiskIO bounds disk_io scenarios.
	DiskIO DiskIOConfig `json:"disk_io"`
	// NetworkBandwidth is the bandwidth in bytes per second from which a
	// network_bandwidth scenario at level L leaves (1 − L) × NetworkBandwidth
	// to the target. 0 means 10 MiB/s; negative or above
	// MaxNetworkBandwidth (100 GiB/s) is invalid.
	NetworkBandwidth antifragile.ByteSize `json:"network_bandwidth"`
	// StopConditions guard every scenario. While one is set, Inject needs
	// Run to be running (ErrNotRunning otherwise).
	StopConditions []StopCondition `json:"-"`
	// StopCheckInterval is how often Run checks the stop conditions. 0 means
	// 100 ms; it may not exceed 100 ms; negative is invalid.
	StopCheckInterval time.Duration `json:"stop_check_interval"`
	// StrictTargets makes Inject refuse, with an *UnknownTargetError, a
	// scenario aimed at a target the engine does not know (see
	// Engine.Known): a fault that would hit nothing. The default, false,
	// injects it anyway (the ops API then answers with a warning).
	StrictTargets bool `json:"strict_targets"`
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`
	// Logger receives a line when a scenario starts and when it ends (Info,
	// keys scenario, type, target, reason) and one per emergency stop or
	// stop condition that aborts everything (Warn, keys reason, scenarios),
	// logged once the engine's lock is released. The hot-path checks never
	// log. nil means no logging.
	Logger *slog.Logger `json:"-"`
}

// WithDefaults returns c with every zero field set to the default New
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.MaxDuration == 0 {
		c.MaxDuration = MaxDuration
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MemoryCap == 0 {
		c.MemoryCap = DefaultMemoryCap
	}
	if c.DiskIO.BytesPerSecond == 0 {
		c.DiskIO.BytesPerSecond = DefaultDiskBytesPerSec
	}
	if c.DiskIO.MaxBytes == 0 {
		c.DiskIO.MaxBytes = DefaultDiskMaxBytes
	}
	if c.NetworkBandwidth == 0 {
		c.NetworkBandwidth = DefaultNetworkBandwidth
	}
	if c.StopCheckInterval == 0 {
		c.StopCheckInterval = DefaultStopCheckInterval
	}
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	return c
}

// Validate reports every invalid field of c (after defaults are applied) as
// a *ValidationError or hash mismatch, joined with errors.Join; nil when c
// is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	var problems antifragile.Problems
	bad := problems.Invalid
	if err := antifragile.ValidateHashFor(c.ConstitutionalHash, "chaos engine"); err != nil {
		problems.Add(err)
	}
	if c.MaxDuration < 0 || c.MaxDuration > MaxDuration {
		bad("max_duration", c.MaxDuration, "must be within (0, %s]", MaxDuration)
	}
	if c.MaxDelay < 0 || c.MaxDelay > MaxDelay {
		bad("max_delay", c.MaxDelay, "must be within (0, %s]", MaxDelay)
	}
	if c.MemoryCap < 0 {
		bad("memory_cap_bytes", c.MemoryCap, "must not be negative")
	}
	if c.DiskIO.BytesPerSecond < 0 {
		bad("disk_io.bytes_per_second", c.DiskIO.BytesPerSecond, "must not be negative")
	}
	if c.DiskIO.MaxBytes < 0 {
		bad("disk_io.max_bytes", c.DiskIO.MaxBytes, "must not be negative")
	}
	if c.NetworkBandwidth < 0 {
		bad("network_bandwidth", c.NetworkBandwidth, "must not be negative")
	}
	antifragile.AtMost(&problems, "memory_cap_bytes", c.MemoryCap, MaxMemoryCap)
	antifragile.AtMost(&problems, "disk_io.bytes_per_second", c.DiskIO.BytesPerSecond, MaxDiskBytesPerSecond)
	antifragile.AtMost(&problems, "disk_io.max_bytes", c.DiskIO.MaxBytes, MaxDiskBytes)
	antifragile.AtMost(&problems, "network_bandwidth", c.NetworkBandwidth, MaxNetworkBandwidth)
	if c.StopCheckInterval < 0 || c.StopCheckInterval > DefaultStopCheckInterval {
		bad("stop_check_interval", c.StopCheckInterval, "must be within (0, %s]", DefaultStopCheckInterval)
	}
	for i, s := range c.StopConditions {
		if s.Check == nil {
			bad(fmt.Sprintf("stop_conditions[%d]", i), s.Name, "has no Check function")
		}
	}
	return problems.Err()
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
