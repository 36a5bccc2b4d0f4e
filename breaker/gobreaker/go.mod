module github.com/antifragile-go/antifragile/breaker/gobreaker

go 1.26.0

require (
	github.com/antifragile-go/antifragile v0.0.0
	github.com/sony/gobreaker/v2 v2.4.0
	go.uber.org/goleak v1.3.0
)

replace github.com/antifragile-go/antifragile => ../..
