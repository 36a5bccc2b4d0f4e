// Package browsertest starts Debian's headless Chromium for tests and drives
// it with chromedp. Each Start launches a fresh browser process with a fresh
// temporary profile, and stops it (and removes the profile) when the test
// ends. Where no chromium binary is on PATH the test is skipped with a
// message saying so — unless the CI environment variable is set: CI
// installs it (apt-get install chromium), so there a missing browser fails
// the test instead of skipping it.
//
//	srv := httptest.NewServer(handler)
//	t.Cleanup(srv.Close)
//	ctx := browsertest.Start(t, browsertest.Config{})
//	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
//		t.Fatal(err)
//	}
//	browsertest.Screenshot(t, ctx, "page.png")
package browsertest
