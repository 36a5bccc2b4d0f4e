package system

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/redis/go-redis/v9"
)

// SinkKind says which metering sink a sink URL names.
type SinkKind string

// The sink kinds.
const (
	// SinkMemory aggregates usage in memory only.
	SinkMemory SinkKind = "memory"
	// SinkFile appends events to a JSON Lines file.
	SinkFile SinkKind = "file"
	// SinkRedis appends events to a Redis stream.
	SinkRedis SinkKind = "redis"
	// SinkNATS stores batches in a NATS JetStream stream, with per-tenant
	// totals across every instance writing to it.
	SinkNATS SinkKind = "nats"
)

// SinkTarget is a parsed metering sink URL.
type SinkTarget struct {
	// Kind is the sink kind.
	Kind SinkKind
	// Path is the file of a SinkFile.
	Path string
	// Redis holds the client options of a SinkRedis (address, database,
	// credentials, TLS for rediss://), as go-redis's ParseURL gives them.
	Redis *redis.Options
	// NATS is the server URL of a SinkNATS ("nats://[user:password@]host:port",
	// or several comma-separated).
	NATS string
}

// ParseSink parses a metering sink URL: "memory" (or ""), "file:/abs/path"
// ("file:///abs/path" and "file:relative/path" too) or
// "redis://[user:password@]host:port/db" ("rediss://" for TLS) or
// "nats://[user:password@]host:port" (comma-separated for several
// servers). Errors never repeat a password.
func ParseSink(s string) (SinkTarget, error) {
	if s == "" || s == string(SinkMemory) {
		return SinkTarget{Kind: SinkMemory}, nil
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return SinkTarget{}, errors.New(`must be "memory", "file:/path/to/usage.jsonl", "redis://host:port/db" or "nats://host:port"`)
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(s)
		if err != nil {
			return SinkTarget{}, fmt.Errorf("not a file URL: %v", unwrapURLError(err))
		}
		if u.Host != "" && u.Host != "localhost" {
			return SinkTarget{}, fmt.Errorf("file URL names host %q: only local files are supported (file:/path or file:///path)", u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return SinkTarget{}, errors.New("file URL must not have a query or fragment (set metering.file instead)")
		}
		path := u.Path
		if u.Opaque != "" {
			path = u.Opaque
		}
		if path == "" {
			return SinkTarget{}, errors.New("file URL has no path: want file:/path/to/usage.jsonl")
		}
		return SinkTarget{Kind: SinkFile, Path: path}, nil
	case "redis", "rediss":
		opts, err := redis.ParseURL(s)
		if err != nil {
			return SinkTarget{}, fmt.Errorf("not a Redis URL (redis://host:port/db): %v", redactErr(err, s))
		}
		return SinkTarget{Kind: SinkRedis, Redis: opts}, nil
	case "nats":
		if err := checkNATSURLs(s); err != nil {
			return SinkTarget{}, err
		}
		return SinkTarget{Kind: SinkNATS, NATS: s}, nil
	default:
		return SinkTarget{}, fmt.Errorf(`unknown scheme %q: want "memory", "file:/path/to/usage.jsonl", "redis://host:port/db" or "nats://host:port"`, scheme)
	}
}

// checkNATSURLs checks each comma-separated server of a nats:// sink URL:
// nats:// with a host and a port, nothing after them.
func checkNATSURLs(s string) error {
	for one := range strings.SplitSeq(s, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil {
			return fmt.Errorf("not a NATS URL (nats://host:port): %v", redactErr(unwrapURLError(err), s))
		}
		switch {
		case !strings.EqualFold(u.Scheme, "nats"):
			return fmt.Errorf("NATS server %q: want nats://host:port", u.Redacted())
		case u.Hostname() == "" || u.Port() == "":
			return fmt.Errorf("NATS server %q has no host and port: want nats://host:port", u.Redacted())
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			return fmt.Errorf("NATS server %q must not have a path, query or fragment (set metering.nats instead)", u.Redacted())
		}
	}
	return nil
}

// SinkTarget parses Metering.Sink (see ParseSink).
func (c *Config) SinkTarget() (SinkTarget, error) { return ParseSink(c.Metering.Sink) }

// RedactSink returns s with any password replaced by "xxxxx", for logs and
// error messages; each server of a comma-separated list is redacted.
func RedactSink(s string) string {
	if strings.Count(s, "://") < 2 {
		return redactOne(s)
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

// redactOne is RedactSink for one URL.
func redactOne(s string) string {
	u, err := url.Parse(s)
	if err == nil {
		return u.Redacted()
	}
	// Unparsable: mask whatever follows the first ':' of the user info.
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	auth, tail, hasTail := strings.Cut(rest, "/")
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(auth[:at], ":")
	if !hasPass {
		return s
	}
	out := scheme + "://" + user + ":xxxxx" + auth[at:]
	if hasTail {
		out += "/" + tail
	}
	return out
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactErr keeps a password that appears in s out of err's message.
func redactErr(err error, s string) error {
	u, perr := url.Parse(s)
	if perr != nil {
		return unwrapURLError(perr)
	}
	msg := err.Error()
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return errors.New(msg)
}

// validateNATSSink checks metering.nats: its own fields (natssink's
// Validate, with their paths under metering.nats), and that neither the
// url nor bill_all is set there, since metering.sink and
// metering.bill_all say them.
func validateNATSSink(p *problems, m MeteringConfig) {
	if m.NATS.URL != "" {
		p.bad("metering.nats.url", RedactSink(m.NATS.URL), "is metering.sink: set that instead")
	}
	if m.NATS.BillAll {
		p.bad("metering.nats.bill_all", true, "is metering.bill_all: set that instead")
	}
	p.domain("metering.nats.", m.NATS.Validate(), nil)
}

// openNATSSink opens the nats:// sink: its own connection to the URL
// (reconnecting in the background, so that the instance starts and meters
// into its queue while NATS is down), folding its totals while the system
// runs (see Run).
func (s *System) openNATSSink(t SinkTarget) (metering.Sink, error) {
	cfg := s.cfg.Metering.NATS
	cfg.URL, cfg.BillAll, cfg.Logger = t.NATS, s.cfg.Metering.BillAll, s.log
	ns, err := natssink.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("nats sink: %w", err)
	}
	s.jsink = ns
	s.sink = ns.Close
	return ns, nil
}

// NATSSink returns the nats:// metering sink, or nil for another sink.
func (s *System) NATSSink() *natssink.Sink { return s.jsink }

// clusterUsage serves GET /cluster/usage from the nats:// sink's totals.
type clusterUsage struct{ sink *natssink.Sink }

// ClusterUsage folds what is new and reads every tenant's totals.
func (c clusterUsage) ClusterUsage(ctx context.Context) (api.ClusterUsage, error) {
	agg, err := c.sink.Aggregates(ctx)
	if err != nil {
		return api.ClusterUsage{}, err
	}
	return api.ClusterUsage{
		Stream: c.sink.Config().Stream, Usage: agg.Usage, FoldedThrough: agg.FoldedThrough, LastSeq: agg.LastSeq,
	}, nil
}

// clusterUsageSource returns the source of GET /cluster/usage: nil unless
// the sink is nats://.
func (s *System) clusterUsageSource() ops.ClusterUsageSource {
	if s.jsink == nil {
		return nil
	}
	return clusterUsage{s.jsink}
}
