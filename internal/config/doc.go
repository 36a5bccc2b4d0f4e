// Package config is the configuration file of a running antifragile system
// (the `antifragile serve` daemon): one JSON document describing the ops
// API, the circuit breakers, the health thresholds, the recovery policies
// per service, the chaos engine's caps, the metering sink and the agent
// bus.
//
//	{
//	  "ops": {"listen": "127.0.0.1:8080", "token_env": "ANTIFRAGILE_TOKEN"},
//	  "breakers": {
//	    "default": {"consecutive_failures": 5, "open_timeout": "30s"},
//	    "named": {"validator": {"failure_rate": 0.5, "minimum_calls": 20}}
//	  },
//	  "health": {"degraded_threshold": 0.7, "weights": {"payments": 3}},
//	  "recovery": {
//	    "max_concurrent": 2, "watch": true,
//	    "default_policy": {"max_retry_attempts": 5, "initial_delay": "1s"},
//	    "policies": {"validator": {"strategy": "linear_backoff", "max_delay": "10s"}}
//	  },
//	  "chaos": {"max_duration": "2m", "memory_cap_bytes": "128MiB", "stop_on_critical": true},
//	  "metering": {"sink": "file:/var/lib/antifragile/usage.jsonl", "flush_interval": "500ms"},
//	  "bus": {"mailbox_size": 1024, "publish_timeout": "30s"}
//	}
//
// Every field is optional; absent fields keep their defaults (Default: the
// ops API on loopback port 8080, metering into memory, and each package's
// own defaults for the rest). Durations are strings ("250ms"), sizes are
// bytes or strings with a unit ("128MiB"). Unknown fields are refused.
//
// Parse reports every problem at once, each a *ValidationError whose Field
// is the JSON path ("recovery.policies.validator.max_delay"), using each
// package's own Validate. The File's methods turn it into each package's
// Config: BreakerConfig, HealthConfig, RecoveryConfig and Policies,
// ChaosConfig, MeterConfig and SinkTarget, BusConfig.
//
//	f, err := config.Load("antifragile.json")
//	if err != nil {
//		return err // every problem, one per line
//	}
//	agg, err := health.New(f.HealthConfig(), reg)
//
// The ops token is never in the defaults: Token returns ops.token, or the
// environment variable named by ops.token_env (ANTIFRAGILE_TOKEN); with no
// token the write routes are disabled.
package config
