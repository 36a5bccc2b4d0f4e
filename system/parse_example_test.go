package system_test

import (
	"fmt"

	"github.com/antifragile-go/antifragile/system"
)

func ExampleParse() {
	f, err := system.Parse([]byte(`{
		"ops": {"listen": "127.0.0.1:9090"},
		"breakers": {"default": {"open_timeout": "10s"}, "named": {"validator": {"failure_rate": 0.5}}},
		"recovery": {"policies": {"validator": {"strategy": "linear_backoff"}}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	b := f.BreakerConfig("validator")
	fmt.Println(f.ListenAddr(), b.OpenTimeout, b.FailureRate, f.Recovery.Policies["validator"].Strategy)
	// Output: 127.0.0.1:9090 10s 0.5 linear_backoff
}

func ExampleParse_problems() {
	_, err := system.Parse([]byte(`{
		"ops": {"listen": "everywhere", "shutdown_timeout": 5},
		"recovery": {"policies": {"validator": {"jitter": 2}}}
	}`))
	fmt.Println(err)
	// Output:
	// invalid ops.shutdown_timeout 5: must be a duration string such as "250ms" or "1m30s", not a number (a bare number has no unit)
	// invalid ops.listen everywhere: must be host:port, such as 127.0.0.1:8080 (port 0 picks a free port)
	// invalid recovery.policies.validator.jitter 2: must be within [0, 1]
}
