package system

import (
	"encoding/json"
	"errors"
	"os"
	"strings"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// EnvVar is an environment variable that overrides one config setting.
type EnvVar struct {
	// Name is the variable, such as ANTIFRAGILE_LISTEN.
	Name string
	// Field is the JSON path of the setting it overrides, such as
	// "ops.listen".
	Field string
	// Kind is how its value is read: "string", "list" (comma-separated
	// strings), "bool" or "number".
	Kind string
}

// EnvVars are the settings an operator changes per deployment without
// editing the config file. Tokens are read from the variables that
// ops.token_env and ops.read_token_env name (ANTIFRAGILE_TOKEN and
// ANTIFRAGILE_READ_TOKEN by default), not from this list.
var EnvVars = []EnvVar{
	{"ANTIFRAGILE_LISTEN", "ops.listen", "string"},
	{"ANTIFRAGILE_ALLOWED_HOSTS", "ops.allowed_hosts", "list"},
	{"ANTIFRAGILE_TLS_CERT_FILE", "ops.tls_cert_file", "string"},
	{"ANTIFRAGILE_TLS_KEY_FILE", "ops.tls_key_file", "string"},
	{"ANTIFRAGILE_METERING_SINK", "metering.sink", "string"},
	{"ANTIFRAGILE_SPOOL_DIR", "metering.spool_dir", "string"},
	{"ANTIFRAGILE_CLUSTER_URL", "cluster.url", "string"},
	{"ANTIFRAGILE_CLUSTER_NAME", "cluster.name", "string"},
	{"ANTIFRAGILE_INSTANCE", "cluster.instance", "string"},
	{"ANTIFRAGILE_CHAOS_MAX_DURATION", "chaos.max_duration", "string"},
	{"ANTIFRAGILE_STOP_ON_CRITICAL", "chaos.stop_on_critical", "bool"},
}

// ApplyEnv overrides the settings of c that the variables of EnvVars set,
// reading each with getenv (nil means c.Getenv, or os.Getenv); a variable
// that is unset or empty changes nothing. It then validates c. A value of
// the wrong kind or an invalid setting is a *ValidationError whose Field
// names the variable and the setting ("$ANTIFRAGILE_LISTEN (ops.listen)").
// On an error c may hold some of the overrides.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if getenv == nil {
		getenv = c.Getenv
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	var p antifragile.Problems
	applied := map[string]string{} // field → variable
	for _, v := range EnvVars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			continue
		}
		doc, err := envDocument(v, val)
		if err != nil {
			p.Invalid(envField(v), val, "%v", err)
			continue
		}
		if err := codec.Decode(doc, c); err != nil {
			for _, e := range antifragile.Leaves(err) {
				p.Add(renameField(e, v))
			}
			continue
		}
		applied[v.Field] = v.Name
	}
	if err := p.Err(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		var out antifragile.Problems
		for _, e := range antifragile.Leaves(err) {
			var ve *ValidationError
			if errors.As(e, &ve) {
				if name, ok := applied[ve.Field]; ok {
					e = &ValidationError{Field: "$" + name + " (" + ve.Field + ")", Value: ve.Value, Err: ve.Err}
				}
			}
			out.Add(e)
		}
		return out.Err()
	}
	return nil
}

// envDocument returns the JSON document that sets v's field to val.
func envDocument(v EnvVar, val string) ([]byte, error) {
	var leaf any
	switch v.Kind {
	case "list":
		var items []string
		for s := range strings.SplitSeq(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		leaf = items
	case "bool":
		switch strings.ToLower(val) {
		case "1", "true", "yes", "on":
			leaf = true
		case "0", "false", "no", "off":
			leaf = false
		default:
			return nil, errors.New("must be true or false (1/0, yes/no, on/off)")
		}
	case "number":
		leaf = json.Number(val)
	default:
		leaf = val
	}
	keys := strings.Split(v.Field, ".")
	for i := len(keys) - 1; i >= 0; i-- {
		leaf = map[string]any{keys[i]: leaf}
	}
	return json.Marshal(leaf)
}

// envField is how a problem of v names its place.
func envField(v EnvVar) string { return "$" + v.Name + " (" + v.Field + ")" }

// renameField returns e, a problem of decoding v's value, naming v.
func renameField(e error, v EnvVar) error {
	var ve *ValidationError
	if !errors.As(e, &ve) {
		return e
	}
	return &ValidationError{Field: envField(v), Value: ve.Value, Err: ve.Err}
}
