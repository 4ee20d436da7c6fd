package job_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/job"
)

// TestHandshakeParams: the job's handshake names the sets its protocols
// export, each once, after the job's version (v4: the unbalanced
// alignment by default, whose messages a v3 peer does not know); a
// peer naming another version or other sets is refused at the handshake.
func TestHandshakeParams(t *testing.T) {
	got := job.HandshakeParams()
	require.Equal(t, "veil-job/v5:hist13,linear14,shared15", got)
	version, ids, ok := strings.Cut(got, ":")
	require.True(t, ok)
	require.Equal(t, "veil-job/v5", version)
	list := strings.Split(ids, ",")
	for name, p := range map[string]he.Params{
		"boost": boost.Params(), "woe": woe.Params(),
		"vlr": vlr.Params(vlr.Options{}), "vlr RevealGradients": vlr.Params(vlr.Options{RevealGradients: true}),
	} {
		require.Contains(t, list, p.ID(), name)
	}
	require.Equal(t, he.Shared15.ID, vlr.Params(vlr.Options{}).ID(), "vlr's default is the secret-shared protocol")
	require.Equal(t, he.Linear14.ID, vlr.Params(vlr.Options{RevealGradients: true}).ID())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := fl.NewPipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		_, err := fl.Handshake(ctx, b, fl.Hello{Role: fl.RolePassive, Params: "veil-job/v2:hist13,linear14"})
		done <- err
	}()
	_, err := job.RunActive(ctx, a, job.Spec{})
	require.ErrorIs(t, err, fl.ErrParamsMismatch, "the job opens its session with HandshakeParams")
	var me *fl.MismatchError
	require.ErrorAs(t, err, &me)
	require.Equal(t, got, me.Local)
	require.ErrorIs(t, <-done, fl.ErrParamsMismatch)
}
