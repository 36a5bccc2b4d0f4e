package metering_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(spoolChildEnv); dir != "" {
		os.Exit(spoolChild(dir)) // a child process of TestIssue13_SpoolSurvivesKill9
	}
	goleak.VerifyTestMain(m)
}
