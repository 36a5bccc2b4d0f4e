package system

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

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
}

// ParseSink parses a metering sink URL: "memory" (or ""), "file:/abs/path"
// ("file:///abs/path" and "file:relative/path" too) or
// "redis://[user:password@]host:port/db" ("rediss://" for TLS). Errors
// never repeat a password.
func ParseSink(s string) (SinkTarget, error) {
	if s == "" || s == string(SinkMemory) {
		return SinkTarget{Kind: SinkMemory}, nil
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return SinkTarget{}, errors.New(`must be "memory", "file:/path/to/usage.jsonl" or "redis://host:port/db"`)
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
	default:
		return SinkTarget{}, fmt.Errorf(`unknown scheme %q: want "memory", "file:/path/to/usage.jsonl" or "redis://host:port/db"`, scheme)
	}
}

// SinkTarget parses Metering.Sink (see ParseSink).
func (c *Config) SinkTarget() (SinkTarget, error) { return ParseSink(c.Metering.Sink) }

// RedactSink returns s with any password replaced by "xxxxx", for logs and
// error messages.
func RedactSink(s string) string {
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
