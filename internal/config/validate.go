package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/antifragile-go/antifragile"
)

// Validate reports every problem of f as a *ValidationError whose Field is
// the JSON path, joined with errors.Join in the order of the document's
// sections (map entries sorted by name); nil when f is valid. It uses each
// package's own Validate (breaker, health, recovery, chaos, metering) and
// adds the checks of the file's own fields: the listen address, the token
// and its variable, the sink URL, the sinks' options and the bus. A wrong
// constitutional hash is one problem at "constitutional_hash" (wrapping the
// *antifragile.HashMismatchError), not one per component. Validate does not
// touch the network or the file system.
func (f *File) Validate() error {
	var p problems
	if f.ConstitutionalHash != "" {
		if err := antifragile.ValidateHashFor(f.ConstitutionalHash, "config file"); err != nil {
			p.add(&ValidationError{Field: "constitutional_hash", Value: f.ConstitutionalHash, Err: err})
		}
	}
	g := *f // the hash is checked once, above
	g.ConstitutionalHash = ""
	g.validateOps(&p)
	g.validateBreakers(&p)
	p.domain("health.", g.HealthConfig().Validate(), healthField)
	p.domain("recovery.", g.RecoveryConfig().Validate(), nil)
	for _, name := range sortedKeys(g.Recovery.Policies) {
		path := mapPath("recovery.policies", name)
		if name == "" {
			p.bad(path, nil, "a service name must not be empty")
		}
		p.domain(path+".", g.Recovery.Policies[name].policy("").Validate(), nil)
	}
	p.domain("chaos.", g.ChaosConfig().Validate(), chaosField)
	g.validateMetering(&p)
	negative(&p, "bus.mailbox_size", g.Bus.MailboxSize)
	negative(&p, "bus.publish_timeout", g.Bus.PublishTimeout)
	return errors.Join(p.errs...)
}

func (f *File) validateOps(p *problems) {
	o := f.Ops
	if o.Listen != "" {
		if err := checkListen(o.Listen); err != nil {
			p.add(&ValidationError{Field: "ops.listen", Value: o.Listen, Err: err})
		}
	}
	if strings.IndexFunc(o.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		p.bad("ops.token", nil, "must not contain spaces or control characters") // never echo a secret
	}
	if o.TokenEnv != "" && !envName(o.TokenEnv) {
		p.bad("ops.token_env", o.TokenEnv, "must be an environment variable name (letters, digits and _, not starting with a digit)")
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

func (f *File) validateBreakers(p *problems) {
	check := func(path string, b Breaker) {
		if b.Window != "" && b.Window != "count" && b.Window != "time" {
			p.bad(path+".window", b.Window, `must be "count" or "time"`)
		}
		p.domain(path+".", b.config("").Validate(), nil)
	}
	check("breakers.default", f.Breakers.Default)
	for _, name := range sortedKeys(f.Breakers.Named) {
		path := mapPath("breakers.named", name)
		if name == "" {
			p.bad(path, nil, "a breaker name must not be empty")
		}
		check(path, f.Breakers.Named[name])
	}
}

func (f *File) validateMetering(p *problems) {
	m := f.Metering
	p.domain("metering.", f.MeterConfig().Validate(), nil)
	if _, err := ParseSink(m.Sink); err != nil {
		p.add(&ValidationError{Field: "metering.sink", Value: RedactSink(m.Sink), Err: err})
	}
	negative(p, "metering.close_timeout", m.CloseTimeout)
	negative(p, "metering.memory.max_windows", m.Memory.MaxWindows)
	negative(p, "metering.memory.max_series", m.Memory.MaxSeries)
	negative(p, "metering.file.max_files", m.File.MaxFiles)
	if t := m.Redis.BatchTTL; t < 0 || (t > 0 && t.D() < time.Millisecond) {
		p.bad("metering.redis.batch_ttl", t, "must be 0 (24h) or at least 1ms")
	}
}

// problems collects the problems of a File.
type problems struct{ errs []error }

func (p *problems) add(err error) { p.errs = append(p.errs, err) }

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
// field renamed (rename may be nil) and prefixed to a JSON path of the
// file.
func (p *problems) domain(prefix string, err error, rename func(string) string) {
	for _, e := range flatten(err) {
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

// flatten returns the leaves of a tree of errors.Join errors.
func flatten(err error) []error { return antifragile.Leaves(err) }

// healthField turns health's `weights["name"]` into this package's path
// form for map keys.
func healthField(field string) string {
	rest, ok := strings.CutPrefix(field, "weights[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return field
	}
	name, err := strconv.Unquote(strings.TrimSuffix(rest, "]"))
	if err != nil {
		return field
	}
	return mapPath("weights", name)
}

// chaosField maps chaos.Config's field names to the file's.
func chaosField(field string) string {
	if field == "memory_cap" {
		return "memory_cap_bytes"
	}
	return field
}
