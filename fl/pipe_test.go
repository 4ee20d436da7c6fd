package fl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPipeOrderAndCopy(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe()
	payload := []byte("ciphertext")
	require.NoError(t, a.Send(ctx, Message{Type: "t.one", Payload: payload}))
	payload[0] = 'X' // the pipe must have copied it
	require.NoError(t, a.Send(ctx, Message{Type: "t.two"}))
	require.NoError(t, b.Send(ctx, Message{Type: "t.back", Payload: []byte{1}}))

	m, err := b.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, Message{Type: "t.one", Payload: []byte("ciphertext")}, m)
	got, err := Expect(ctx, b, "t.two")
	require.NoError(t, err)
	require.Nil(t, got, "an empty payload arrives as nil")
	got, err = Expect(ctx, a, "t.back")
	require.NoError(t, err)
	require.Equal(t, []byte{1}, got)
}

func TestPipeRejectsBadType(t *testing.T) {
	a, _ := NewPipe()
	require.Error(t, a.Send(context.Background(), Message{}))
	long := make([]byte, MaxTypeLength+1)
	for i := range long {
		long[i] = 'x'
	}
	require.Error(t, a.Send(context.Background(), Message{Type: string(long)}))
}

func TestExpectMismatch(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe()
	require.NoError(t, a.Send(ctx, Message{Type: "psi.batch"}))
	_, err := Expect(ctx, b, "he.galois-key")
	var ue *UnexpectedMessageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "he.galois-key", ue.Want)
	require.Equal(t, "psi.batch", ue.Got)
	require.ErrorContains(t, err, `"he.galois-key"`)
	require.ErrorContains(t, err, `"psi.batch"`)

	require.NoError(t, Abort(ctx, a, errors.New("out of memory")))
	_, err = Expect(ctx, b, "he.galois-key")
	require.ErrorIs(t, err, ErrPeerAborted)
	require.ErrorContains(t, err, "out of memory")
}

func TestPipeRecvHonoursContext(t *testing.T) {
	a, b := NewPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := b.Recv(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = b.Recv(ctx2)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, a.Send(ctx2, Message{Type: "t"}), context.Canceled)

	// The pipe still works afterwards.
	require.NoError(t, a.Send(context.Background(), Message{Type: "t"}))
	_, err = Expect(context.Background(), b, "t")
	require.NoError(t, err)
}

func TestPipeSendBlocksWhenFull(t *testing.T) {
	a, _ := NewPipe(PipeBuffer(1))
	require.NoError(t, a.Send(context.Background(), Message{Type: "t"}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, a.Send(ctx, Message{Type: "t"}), context.DeadlineExceeded)
}

func TestPipeClose(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe()
	require.NoError(t, a.Send(ctx, Message{Type: "t.last"}))
	require.NoError(t, a.Close())
	require.NoError(t, a.Close(), "Close is idempotent")

	// What was sent before Close is still delivered, then ErrClosed.
	_, err := Expect(ctx, b, "t.last")
	require.NoError(t, err)
	_, err = b.Recv(ctx)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorContains(t, err, "by peer")
	require.ErrorIs(t, b.Send(ctx, Message{Type: "t"}), ErrClosed)
	_, err = a.Recv(ctx)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, a.Send(ctx, Message{Type: "t"}), ErrClosed)
}

func TestPipeCloseWakesWaitingRecv(t *testing.T) {
	a, b := NewPipe()
	errc := make(chan error, 1)
	go func() {
		_, err := b.Recv(context.Background())
		errc <- err
	}()
	require.NoError(t, a.Close())
	require.ErrorIs(t, <-errc, ErrClosed)
}

func TestPipeSeverWakesWaitingRecv(t *testing.T) {
	a, b := NewPipe()
	errc := make(chan error, 1)
	go func() {
		_, err := b.Recv(context.Background())
		errc <- err
	}()
	a.Sever()
	require.ErrorIs(t, <-errc, ErrConnLost)
}

func TestPipeStats(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe()
	msgs := []Message{
		{Type: "t.empty"},
		{Type: "t.small", Payload: make([]byte, 100)},
		{Type: "t.chunked", Payload: make([]byte, 2*DefaultChunkSize+1)},
	}
	var want uint64
	for i, m := range msgs {
		want += WireSize(m, uint64(i+1), DefaultChunkSize)
		require.NoError(t, a.Send(ctx, m))
		_, err := b.Recv(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, Stats{SentMessages: 3, SentBytes: want}, a.Stats())
	require.Equal(t, Stats{RecvMessages: 3, RecvBytes: want}, b.Stats())
	require.Greater(t, want, uint64(2*DefaultChunkSize+101))
}

func TestPipeConcurrent(t *testing.T) {
	ctx := context.Background()
	a, b := NewPipe(PipeBuffer(2))
	const senders, each = 4, 50
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := a.Send(ctx, Message{Type: fmt.Sprintf("t.%d", s), Payload: []byte{byte(i)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	next := make(map[string]byte)
	for range senders * each {
		m, err := b.Recv(ctx)
		require.NoError(t, err)
		require.Equal(t, next[m.Type], m.Payload[0], "per-sender order kept")
		next[m.Type]++
	}
	wg.Wait()
	require.Equal(t, uint64(senders*each), b.Stats().RecvMessages)
}
