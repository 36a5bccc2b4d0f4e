package daemon_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/system"
)

func ExampleDaemon_Run() {
	cfg, err := system.Parse([]byte(`{"ops": {"listen": "127.0.0.1:0"}, "breakers": {"named": {"validator": {}}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := daemon.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- d.Run(ctx) }()
	<-d.Ready()

	resp, err := http.Get(d.URL() + "/livez")
	if err != nil {
		fmt.Println(err)
	} else {
		resp.Body.Close()
		fmt.Println("GET /livez:", resp.StatusCode)
	}

	stop() // what SIGINT does in `antifragile serve`
	fmt.Println("Run:", <-result)
	// Output:
	// GET /livez: 200
	// Run: <nil>
}
