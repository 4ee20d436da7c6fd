package fltest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/fl"
)

func TestDropAfter(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe(DropAfter(2))
	require.NoError(t, a.Send(ctx, fl.Message{Type: "t.1"}))
	require.NoError(t, b.Send(ctx, fl.Message{Type: "t.2"}))
	err := a.Send(ctx, fl.Message{Type: "t.3"})
	require.ErrorIs(t, err, fl.ErrConnLost)
	// Both ends now see the loss, and in-flight messages are gone.
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrConnLost)
	_, err = a.Recv(ctx)
	require.ErrorIs(t, err, fl.ErrConnLost)
	require.ErrorIs(t, b.Send(ctx, fl.Message{Type: "t"}), fl.ErrConnLost)
}

func TestTamper(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe(Tamper(func(m fl.Message) fl.Message {
		if m.Type == "t.bit" {
			m.Payload[0] ^= 1
		}
		return m
	}))
	orig := []byte{0}
	require.NoError(t, a.Send(ctx, fl.Message{Type: "t.bit", Payload: orig}))
	require.NoError(t, b.Send(ctx, fl.Message{Type: "t.bit", Payload: orig}))
	for _, end := range []*PipeEnd{b, a} {
		got, err := fl.Expect(ctx, end, "t.bit")
		require.NoError(t, err)
		require.Equal(t, []byte{1}, got, "both directions")
	}
	require.Equal(t, []byte{0}, orig, "the sender's buffer is untouched")
	// Stats count what was delivered.
	require.Equal(t, uint64(2), a.Stats().SentMessages+b.Stats().SentMessages)
}
