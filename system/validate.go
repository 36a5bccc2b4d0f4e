package system

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
	"github.com/antifragile-go/antifragile/metering"
)

// Validate reports every problem of c as a *ValidationError whose Field is
// the JSON path, joined with errors.Join in the order of the sections (map
// entries sorted by name); nil when c is valid. It uses each package's own
// Validate and adds the checks of the system's own fields: the listen
// address, the token and its variable, the sink URL, the sinks' options. A
// wrong constitutional hash is one problem at "constitutional_hash"
// (wrapping the *antifragile.HashMismatchError), not one per component.
// Validate touches neither the network nor the file system.
func (c *Config) Validate() error {
	var p problems
	if c.ConstitutionalHash != "" {
		if err := antifragile.ValidateHashFor(c.ConstitutionalHash, "config"); err != nil {
			p.add(&ValidationError{Field: "constitutional_hash", Value: c.ConstitutionalHash, Err: err})
		}
	}
	c.validateOps(&p)
	p.domain("breakers.default.", c.Breakers.Default.Validate(), nil)
	for _, name := range slices.Sorted(maps.Keys(c.Breakers.Named)) {
		path := codec.MapPath("breakers.named", name)
		if name == "" {
			p.bad(path, nil, "a breaker name must not be empty")
		}
		p.domain(path+".", c.Breakers.Named[name].Validate(), nil)
	}
	p.domain("health.", c.Health.Validate(), healthField)
	p.domain("recovery.", c.Recovery.Validate(), nil)
	p.domain("chaos.", c.Chaos.Engine.Validate(), nil)
	c.validateMetering(&p)
	c.validateCluster(&p)
	p.domain("bus.", c.Bus.Validate(), nil)
	return errors.Join(p.errs...)
}

func (c *Config) validateOps(p *problems) {
	o := c.Ops
	if o.Listen != "" {
		if err := checkListen(o.Listen); err != nil {
			p.add(&ValidationError{Field: "ops.listen", Value: o.Listen, Err: err})
		}
	}
	if o.Token != "" {
		p.add(checkToken("ops.token", strings.TrimSpace(o.Token), ""))
	}
	if o.ReadToken != "" {
		p.add(checkToken("ops.read_token", strings.TrimSpace(o.ReadToken), ""))
	}
	for field, name := range map[string]string{"ops.token_env": o.TokenEnv, "ops.read_token_env": o.ReadTokenEnv} {
		if name != "" && !envName(name) {
			p.bad(field, name, "must be an environment variable name (letters, digits and _, not starting with a digit)")
		}
	}
	for i, s := range o.ReadyStatuses {
		if _, err := s.MarshalText(); err != nil {
			p.bad("ops.ready_statuses["+strconv.Itoa(i)+"]", s, "must be one of HEALTHY, DEGRADED, CRITICAL, UNKNOWN")
		}
	}
	negative(p, "ops.max_body_bytes", o.MaxBodyBytes)
	negative(p, "ops.read_header_timeout", o.ReadHeaderTimeout)
	negative(p, "ops.read_timeout", o.ReadTimeout)
	negative(p, "ops.idle_timeout", o.IdleTimeout)
	negative(p, "ops.shutdown_timeout", o.ShutdownTimeout)
	negative(p, "ops.body_timeout", o.BodyTimeout)
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "ops.max_body_bytes", o.MaxBodyBytes, MaxBodyBytes)
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"ops.read_header_timeout", o.ReadHeaderTimeout}, {"ops.read_timeout", o.ReadTimeout},
		{"ops.idle_timeout", o.IdleTimeout}, {"ops.shutdown_timeout", o.ShutdownTimeout}, {"ops.body_timeout", o.BodyTimeout}} {
		antifragile.AtMost(&bounds, d.field, d.v, MaxOpsTimeout)
	}
	antifragile.InRange(&bounds, "ops.max_connections", o.MaxConnections, 0, MaxMaxConnections, "")
	p.add(bounds.Err())
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		field := "ops.tls_key_file"
		if o.TLSCertFile == "" {
			field = "ops.tls_cert_file"
		}
		p.bad(field, "", "is required with the other of tls_cert_file and tls_key_file")
	}
}

// checkToken refuses a token with white space or control characters, or
// shorter than MinTokenLength, without ever echoing it; env names the
// variable it came from, if any.
func checkToken(field, token, env string) error {
	from := ""
	if env != "" {
		from = " ($" + env + ")"
	}
	if strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return antifragile.Invalid(field, nil, "the token%s must not contain spaces or control characters", from)
	}
	if len(token) < MinTokenLength {
		return antifragile.Invalid(field, nil, "the token%s must be at least %d characters (it has %d)", from, MinTokenLength, len(token))
	}
	return nil
}

// isLoopback reports whether a "host:port" listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AllowedHosts returns the Host names a server listening on Ops.Listen
// answers for (see OpsConfig.AllowedHosts): the configured ones, or the
// loopback names when it listens on loopback. System.Handler applies only
// the configured ones, since the system does not know where it is mounted;
// the daemon, which listens on Ops.Listen, applies these.
func (c *Config) AllowedHosts() []string {
	if len(c.Ops.AllowedHosts) > 0 || !isLoopback(c.ListenAddr()) {
		return c.Ops.AllowedHosts
	}
	hosts := []string{"127.0.0.1", "localhost", "::1"}
	if h, _, err := net.SplitHostPort(c.ListenAddr()); err == nil && !slices.Contains(hosts, h) {
		hosts = append(hosts, h)
	}
	return hosts
}

// checkListen accepts "host:port" with a numeric port in [0, 65535].
func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("must be host:port, such as 127.0.0.1:8080 (port 0 picks a free port)")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q must be a number within [0, 65535]", port)
	}
	return nil
}

func envName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func (c *Config) validateMetering(p *problems) {
	m := c.Metering
	p.domain("metering.", m.Meter.Validate(), nil)
	target, err := ParseSink(m.Sink)
	if err != nil {
		p.add(&ValidationError{Field: "metering.sink", Value: RedactSink(m.Sink), Err: err})
	} else if m.SpoolDir != "" && target.Kind == SinkMemory {
		p.bad("metering.spool_dir", m.SpoolDir, "needs a durable sink (file:, redis:// or nats://) to spool for")
	}
	validateNATSSink(p, m)
	negative(p, "metering.close_timeout", m.CloseTimeout)
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "metering.close_timeout", m.CloseTimeout, MaxOpsTimeout)
	antifragile.AtMost(&bounds, "metering.memory.max_windows", m.Memory.MaxWindows, metering.MaxMemoryWindows)
	antifragile.AtMost(&bounds, "metering.memory.max_series", m.Memory.MaxSeries, metering.MaxMemorySeries)
	antifragile.AtMost(&bounds, "metering.file.max_files", m.File.MaxFiles, metering.MaxFileMaxFiles)
	antifragile.InRange(&bounds, "metering.spool_max_bytes", m.SpoolMaxBytes, 0, metering.MaxSpoolMaxBytes, "")
	p.add(bounds.Err())
	negative(p, "metering.memory.max_windows", m.Memory.MaxWindows)
	negative(p, "metering.memory.max_series", m.Memory.MaxSeries)
	negative(p, "metering.file.max_files", m.File.MaxFiles)
	if t := m.Redis.BatchTTL; t < 0 || (t > 0 && t < time.Millisecond) {
		p.bad("metering.redis.batch_ttl", t, "must be 0 (24h) or at least 1ms")
	}
}

func (c *Config) validateCluster(p *problems) {
	cl := c.Cluster
	if !cl.Enabled() {
		return
	}
	p.domain("cluster.", cl.Member.Validate(), nil)
	if cl.NATS.URL != "" {
		p.bad("cluster.nats.url", cl.NATS.URL, "is cluster.url: set that instead")
	}
	n := cl.NATS
	n.URL = cl.URL
	p.domain("cluster.", n.Validate(), func(f string) string {
		if f == "url" {
			return f
		}
		return "nats." + f
	})
}

// problems collects the problems of a Config.
type problems struct{ errs []error }

func (p *problems) add(err error) {
	for _, e := range antifragile.Leaves(err) {
		p.errs = append(p.errs, e)
	}
}

func (p *problems) bad(field string, value any, format string, args ...any) {
	p.add(antifragile.Invalid(field, value, format, args...))
}

// negative reports v < 0.
func negative[T ~int | ~int64](p *problems, field string, v T) {
	if v < 0 {
		p.bad(field, v, "must not be negative")
	}
}

// domain adds the problems a package's Validate returned, each with its
// field renamed (rename may be nil) and prefixed with its section's path.
func (p *problems) domain(prefix string, err error, rename func(string) string) {
	for _, e := range antifragile.Leaves(err) {
		var ve *ValidationError
		var he *antifragile.HashMismatchError
		switch {
		case errors.As(e, &ve) && ve == e:
			field := ve.Field
			if rename != nil {
				field = rename(field)
			}
			p.add(&ValidationError{Field: prefix + field, Value: ve.Value, Err: ve.Err})
		case errors.As(e, &he):
			p.add(&ValidationError{Field: prefix + "constitutional_hash", Value: he.Got, Err: e})
		default:
			p.add(&ValidationError{Field: strings.TrimSuffix(prefix, "."), Err: e})
		}
	}
}

// healthField turns health's `weights["name"]` into the path form the
// codec uses for map keys (weights.name where the name allows it).
func healthField(field string) string {
	rest, ok := strings.CutPrefix(field, "weights[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return field
	}
	name, err := strconv.Unquote(strings.TrimSuffix(rest, "]"))
	if err != nil {
		return field
	}
	return codec.MapPath("weights", name)
}
