package metrics_test

import (
	"context"
	"fmt"
	"net"

	"github.com/veil-fl/veil/node/metrics"
)

// The node's use: one Metrics for the process, served on its own listener;
// SessionStarted when a session is admitted, End when it ends, Refused for a
// session turned away.
func Example() {
	m, err := metrics.New(metrics.Options{Banks: []string{"bank-a"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the config's metrics: 127.0.0.1:9464
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()

	s := m.SessionStarted("bank-a", "score")
	// ... the session runs ...
	s.End(metrics.Result{Outcome: metrics.OutcomeOK, BytesSent: 4 << 20, BytesReceived: 1 << 20, RowsScored: 30000})
	m.Refused("bank-a", "busy")

	stop()
	fmt.Println(<-done)
	// Output: <nil>
}
