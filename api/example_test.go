package api_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/recovery"
)

func ExampleDecodeStrict() {
	for _, body := range []string{
		`{"strategy":"linear_backoff","priority":1,"policy":{"max_retry_attempts":3,"initial_delay":"500ms"}}`,
		`{"strategy":"linear_backoff","urgent":true}`,
		`{"policy":{"initial_delay":"soon"}}`,
	} {
		var req api.ScheduleRequest
		if err := api.DecodeStrict(strings.NewReader(body), &req); err != nil {
			var ve *api.ValidationError
			errors.As(err, &ve)
			fmt.Println("refused:", ve.Field, "-", err)
			continue
		}
		strategy, priority, policy, err := req.Args(recovery.ExponentialBackoff)
		if err != nil {
			var ve *api.ValidationError
			errors.As(err, &ve)
			fmt.Println("refused:", ve.Field, "-", err)
			continue
		}
		fmt.Println(strategy, priority, policy.MaxRetryAttempts, policy.InitialDelay)
	}
	// Output:
	// linear_backoff 1 3 500ms
	// refused: urgent - invalid urgent: unknown field
	// refused: policy.initial_delay - invalid policy.initial_delay soon: must be a duration such as "250ms" or "1s"
}
