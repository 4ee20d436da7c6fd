package joint

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/he"
)

// Message types of the threshold key generation and joint decryption.
const (
	TypeKeyGen1 = "he.keygen.1"
	TypeKeyGen2 = "he.keygen.2"
	// TypeDecrypt carries a vector the sender asks the peer to help decrypt;
	// TypeShare carries the helper's flooded decryption share back.
	TypeDecrypt = "he.decrypt"
	TypeShare   = "he.share"
	// TypeDecryptSum carries the c1 components of a vector whose sum the
	// sender asks the peer to help decrypt; TypeSumShare the helper's
	// flooded share of the one coefficient that holds the sum
	// (he.DecryptSumPartialShare).
	TypeDecryptSum = "he.decrypt-sum"
	TypeSumShare   = "he.sum-share"
)

// StepKeys names key generation in KeyOptions.Progress, and KeyStages is
// the number of stages it counts there: round 1 exchanged, round 2
// exchanged, the collective keys finished. Stages are the unit because
// each is one call into he, which reports nothing finer.
const (
	StepKeys  = "keys"
	KeyStages = 3
)

// KeyOptions are one party's local settings of a key generation; the
// messages are the same with any.
type KeyOptions struct {
	// Progress, if set, is told how far key generation is: step StepKeys,
	// done of KeyStages, first with done 0 and last with done == total
	// once the keys are finished (a failed run stops short). It runs on
	// the caller's goroutine, between messages.
	Progress func(step string, done, total int)
	// Logger receives the start and end at Debug level, with the
	// parameter set and the time, nothing of the keys (nil: no logging).
	Logger *slog.Logger
}

// GenerateKeys runs he's two-party threshold key generation over the session:
// both parties call it with the same parameters and key spec and the joint
// seed of the handshake. Each gets its own he.Party holding its secret-key
// share and the collective keys; no secret share crosses the wire.
func GenerateKeys(ctx context.Context, t fl.Transport, params he.Params, spec he.KeySpec, seed []byte) (*he.Party, error) {
	return GenerateKeysWith(ctx, t, params, spec, seed, KeyOptions{})
}

// GenerateKeysWith is GenerateKeys reporting its progress and start and
// end as o asks.
func GenerateKeysWith(ctx context.Context, t fl.Transport, params he.Params, spec he.KeySpec, seed []byte, o KeyOptions) (_ *he.Party, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	log.Debug("keys: start", "params", params.ID())
	defer func() {
		msg := "keys: done"
		if err != nil {
			msg = "keys: failed"
		}
		log.Debug(msg, "params", params.ID(), "seconds", time.Since(start).Seconds())
	}()
	progress := func(done int) {
		if o.Progress != nil {
			o.Progress(StepKeys, done, KeyStages)
		}
	}
	progress(0)
	kg, err := he.NewKeyGen(params, spec, seed)
	if err != nil {
		return nil, err
	}
	// Send and receive concurrently: each round-1 message can be many MiB and
	// a transport may not buffer a whole one while the peer sends its own.
	peer1, err := fl.Swap(ctx, t, fl.Message{Type: TypeKeyGen1, Payload: kg.MarshalRound1()}, TypeKeyGen1)
	if err != nil {
		return nil, fmt.Errorf("fl: key generation round 1: %w", err)
	}
	r1, err := kg.UnmarshalRound1(peer1)
	if err != nil {
		return nil, failKeys(ctx, t, err)
	}
	progress(1)
	if _, err := kg.Round2(r1); err != nil {
		return nil, failKeys(ctx, t, err)
	}
	own2, err := kg.MarshalRound2()
	if err != nil {
		return nil, err
	}
	peer2, err := fl.Swap(ctx, t, fl.Message{Type: TypeKeyGen2, Payload: own2}, TypeKeyGen2)
	if err != nil {
		return nil, fmt.Errorf("fl: key generation round 2: %w", err)
	}
	r2, err := kg.UnmarshalRound2(peer2)
	if err != nil {
		return nil, failKeys(ctx, t, err)
	}
	progress(2)
	party, err := kg.Finish(r2)
	if err != nil {
		return nil, err
	}
	progress(KeyStages)
	return party, nil
}

func failKeys(ctx context.Context, t fl.Transport, err error) error {
	_ = fl.Abort(ctx, t, err)
	return fmt.Errorf("fl: key generation: %w", err)
}

// DecryptWithPeer decrypts v for this party: it sends v to the peer, which
// must be running HelpDecrypt, and combines the flooded share that comes back
// with its own key share. Only this party learns the values.
func DecryptWithPeer(ctx context.Context, t fl.Transport, p *he.Party, v *he.Vector) ([]float64, error) {
	p.DropToDecryptLevel(v)
	// v was computed from ciphertexts the helper may have made and this
	// party's private plaintexts: fresh randomness before it leaves.
	if err := p.Rerandomize(v); err != nil {
		return nil, err
	}
	data, err := p.Params().MarshalVector(v)
	if err != nil {
		return nil, err
	}
	if err := t.Send(ctx, fl.Message{Type: TypeDecrypt, Payload: data}); err != nil {
		return nil, err
	}
	b, err := fl.Expect(ctx, t, TypeShare)
	if err != nil {
		return nil, err
	}
	share, err := p.Params().UnmarshalDecryptionShare(b)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("fl: decryption share from peer: %w", err))
	}
	vals, err := p.Decrypt(v, share)
	if err != nil {
		return nil, fl.Fail(ctx, t, fmt.Errorf("fl: decryption share from peer: %w", err))
	}
	return vals, nil
}

// HelpDecrypt is the helping side of DecryptWithPeer: it receives the vector
// the peer asks to decrypt, checks it against the plan's declaration of
// step (receiver: the peer, as the plan's holder sees it; layout, length,
// level, scale, count), and returns its flooded share. A vector the plan
// does not declare is refused with ErrUndeclared, and the peer is told why.
func HelpDecrypt(ctx context.Context, t fl.Transport, p *he.Party, plan *Plan, step string) error {
	v, err := recvToDecrypt(ctx, t, p, plan, step, TypeDecrypt, p.Params().UnmarshalVector, false)
	if err != nil {
		return err
	}
	share, err := p.DecryptShare(v)
	if err != nil {
		return err
	}
	data, err := p.Params().MarshalDecryptionShare(share)
	if err != nil {
		return err
	}
	return t.Send(ctx, fl.Message{Type: TypeShare, Payload: data})
}

// recvToDecrypt receives a message of type typ holding a vector to help
// decrypt (or sum, which reveals one value), decodes it and admits it
// against the plan's declaration of step; on any error the peer is told.
func recvToDecrypt(ctx context.Context, t fl.Transport, p *he.Party, plan *Plan, step, typ string, decode func([]byte) (*he.Vector, error), sum bool) (*he.Vector, error) {
	b, err := fl.Expect(ctx, t, typ)
	if err != nil {
		return nil, err
	}
	v, err := decode(b)
	if err == nil {
		err = plan.admitVector(p.Params(), step, v, sum)
	}
	if err != nil {
		_ = fl.Abort(ctx, t, err)
		return nil, fmt.Errorf("fl: vector to decrypt from peer: %w", err)
	}
	return v, nil
}

// DecryptSumWithPeer is DecryptWithPeer for a vector of which this party
// may learn the sum of the values only: it sends the c1 components alone
// (rounded by he.SlotDropBits' keyed bits, rerandomized first), keeps the
// c0, and the peer, running HelpDecryptSum, returns the flooded constant
// coefficient of its decryption share and nothing else
// (he.DecryptSumPartialShare): a polynomial out, a few bytes back.
func DecryptSumWithPeer(ctx context.Context, t fl.Transport, p *he.Party, v *he.Vector) (float64, error) {
	p.DropToDecryptLevel(v)
	if err := p.Rerandomize(v); err != nil {
		return 0, err
	}
	data, err := p.Params().MarshalVectorRounded(v, -1, he.SlotDropBits(p.Params()).C1)
	if err != nil {
		return 0, err
	}
	if err := t.Send(ctx, fl.Message{Type: TypeDecryptSum, Payload: data}); err != nil {
		return 0, err
	}
	b, err := fl.Expect(ctx, t, TypeSumShare)
	if err != nil {
		return 0, err
	}
	share, err := p.Params().UnmarshalPartialDecryption(b)
	var sum float64
	if err == nil {
		sum, err = p.DecryptSumPartial(v, share)
	}
	if err != nil {
		return 0, fl.Fail(ctx, t, fmt.Errorf("fl: sum share from peer: %w", err))
	}
	return sum, nil
}

// HelpDecryptSum is the helping side of DecryptSumWithPeer: the peer's c1
// components are checked against the plan's declaration of step (and
// refused when rounded past he.SlotDropBits), and the share floods the
// sum with noise of standard deviation sigma (coefficient domain).
func HelpDecryptSum(ctx context.Context, t fl.Transport, p *he.Party, plan *Plan, step string, sigma float64) error {
	// The c1 alone, rounded no more than SlotDropBits allows.
	limit := he.Rounding{C0: -1, C1: he.SlotDropBits(p.Params()).C1}
	decode := func(b []byte) (*he.Vector, error) { return p.Params().UnmarshalVectorRoundedWithin(b, limit) }
	// A sum's decryption reveals one value, whatever the vector's length:
	// its observer hears so.
	v, err := recvToDecrypt(ctx, t, p, plan, step, TypeDecryptSum, decode, true)
	if err != nil {
		return err
	}
	share, err := p.DecryptSumPartialShare(v, sigma)
	if err != nil {
		return err
	}
	data, err := p.Params().MarshalPartialDecryption(share)
	if err != nil {
		return err
	}
	return t.Send(ctx, fl.Message{Type: TypeSumShare, Payload: data})
}
