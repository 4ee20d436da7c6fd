package vlr

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/he"
	"github.com/veil-fl/veil/model"
)

// revealState is a party's state in the RevealGradients protocol: its own
// weights in the clear, updated from its own decrypted gradients.
type revealState struct {
	plan       *joint.Plan
	params     he.Params
	party      *he.Party
	pr         *prepared
	w          []float64 // [weights..., intercept] on the bank's side
	init       []float64
	optim      model.Optimizer
	sig, soft  he.Poly
	lossNeeded bool
}

// revealKeys generates the keys of the RevealGradients protocol: Linear14
// with its flooding sized for the training (revealSet), or refuses a
// training past its limits, which the peer, computing the same, refuses
// too.
func revealKeys(ctx context.Context, t fl.Transport, seed []byte, o Options, rows, bankCols, centerCols int, ko joint.KeyOptions) (he.Params, *he.Party, error) {
	set, err := revealSet(o, rows, bankCols, centerCols)
	if err != nil {
		return he.Params{}, nil, fl.Fail(ctx, t, err)
	}
	params, err := he.NewParams(set)
	if err != nil {
		return params, nil, err
	}
	party, err := joint.GenerateKeysWith(ctx, t, params, keySpec(params, rows, bankCols, centerCols, o.BatchSize, o.lossNeeded()), seed, ko)
	return params, party, err
}

// testInitSeed, set by tests that compare two trainings, makes the initial
// weights a function of it and of label.
var testInitSeed []byte

// randomInit returns n secret random values of standard deviation scale
// (ChaCha8 keyed from crypto/rand), or zeros under the attack tests' hook.
func randomInit(n int, scale float64, label string) ([]float64, error) {
	out := make([]float64, n)
	if zeroInit {
		return out, nil
	}
	var seed [32]byte
	if testInitSeed != nil {
		seed = sha256.Sum256(append(append([]byte(nil), testInitSeed...), label...))
	} else if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("vlr: initial weights: %w", err)
	}
	r := rand.New(rand.NewChaCha8(seed))
	for i := range out {
		out[i] = r.NormFloat64() * scale
	}
	return out, nil
}

func newRevealState(party *he.Party, o Options, data Data, active bool) (*revealState, error) {
	s := &revealState{params: party.Params(), party: party, lossNeeded: o.lossNeeded()}
	var err error
	if s.sig, err = o.Sigmoid(); err != nil {
		return nil, err
	}
	if s.soft, err = o.Softplus(); err != nil {
		return nil, err
	}
	if err := checkSquares(data, batches(data.Rows(), o)); err != nil {
		return nil, err
	}
	if s.pr, err = prepare(party, data.X, data.Cols, batches(data.Rows(), o), active); err != nil {
		return nil, err
	}
	dim := data.Cols
	if active {
		dim++
	}
	if s.w, err = randomInit(dim, o.InitScale, fmt.Sprintf("reveal %v", active)); err != nil {
		return nil, err
	}
	s.init = append([]float64(nil), s.w...)
	if s.optim, err = model.NewOptimizer(o.Optimizer, dim); err != nil {
		return nil, err
	}
	if active {
		s.optim.SetUnregularized(data.Cols) // the intercept
	}
	return s, nil
}

func (s *revealState) save(st *ckptState) error {
	ost, err := model.SaveOptimizer(s.optim)
	if err != nil {
		return err
	}
	st.Weights, st.Optimizer = append([]float64(nil), s.w...), ost
	return nil
}

func (s *revealState) restore(st *ckptState) error {
	if err := st.check(st.Epoch, len(s.w)); err != nil {
		return err
	}
	if err := model.RestoreOptimizer(s.optim, st.Optimizer); err != nil {
		return fmt.Errorf("%w: %w", fl.ErrCheckpoint, err)
	}
	copy(s.w, st.Weights)
	return nil
}

// epochActive runs the bank's side of one RevealGradients epoch and returns
// the loss sum (NaN when the loss is not computed).
func (s *revealState) epochActive(ctx context.Context, t fl.Transport, opt Options, data Data) (float64, error) {
	party := s.party
	var lossSum *he.Vector
	for b, rows := range s.pr.rows {
		payload, err := fl.Expect(ctx, t, TypePowers)
		if err != nil {
			return 0, err
		}
		powers, err := unmarshalVectors(s.params, payload, opt.Degree)
		for k := 0; err == nil && k < len(powers); k++ {
			err = joint.CheckVector(s.params, powers[k], fmt.Sprintf("power %d", k+1), joint.VectorWant{Layout: he.SlotReal, Len: len(rows), Level: s.params.MaxLevel()})
		}
		if err != nil {
			return 0, fl.Fail(ctx, t, fmt.Errorf("%w: powers from the center: %w", ErrProtocol, err))
		}
		ub := partialScores(data.X, data.Cols, rows, s.w[:data.Cols], s.w[data.Cols])
		co := s.sig.Shifted(ub)
		constant := make([]float64, len(rows))
		for k, i := range rows {
			constant[k] = co[0][k] - data.Y[i]
		}
		d, err := party.Combine(powers, co[1:], constant)
		if err == nil {
			// d is a function of the center's ciphertexts and the bank's
			// scores and labels: fresh randomness before it leaves.
			err = party.Rerandomize(d)
		}
		if err != nil {
			return 0, fl.Fail(ctx, t, revealLimit(err, b))
		}
		msg, err := marshalVectors(s.params, []*he.Vector{d})
		if err != nil {
			return 0, err
		}
		if err := t.Send(ctx, fl.Message{Type: TypeResidual, Payload: msg}); err != nil {
			return 0, err
		}
		if s.lossNeeded {
			// loss_i = softplus(u_b + u_c) - y_i (u_b + u_c)
			lco := s.soft.Shifted(ub)
			for k, i := range rows {
				lco[0][k] -= data.Y[i] * ub[k]
				lco[1][k] -= data.Y[i]
			}
			lv, err := party.Combine(powers, lco[1:], lco[0])
			if err != nil {
				return 0, fl.Fail(ctx, t, revealLimit(err, b))
			}
			sum, err := party.SumSlots(lv)
			if err != nil {
				return 0, err
			}
			if lossSum == nil {
				lossSum = sum
			} else if lossSum, err = party.Add(lossSum, sum); err != nil {
				return 0, err
			}
		}
		g, err := party.MulTransposed(s.pr.mats[b], d)
		if err != nil {
			return 0, err
		}
		// The center's gradient first (the bank helps), then the bank's.
		if err := joint.HelpDecrypt(ctx, t, party, s.plan, StepCenterGradient); err != nil {
			return 0, err
		}
		grad, err := joint.DecryptWithPeer(ctx, t, party, g)
		if err != nil {
			return 0, err
		}
		for j := range grad {
			grad[j] /= float64(len(rows))
		}
		if gradHook != nil {
			gradHook(fl.RoleActive, grad)
		}
		if err := s.optim.Step(s.w, grad); err != nil {
			return 0, err
		}
	}
	if lossSum == nil {
		return math.NaN(), nil
	}
	v, err := joint.DecryptWithPeer(ctx, t, party, lossSum)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// epochPassive runs the center's side of one RevealGradients epoch.
func (s *revealState) epochPassive(ctx context.Context, t fl.Transport, opt Options, data Data) error {
	party := s.party
	for b, rows := range s.pr.rows {
		uc := partialScores(data.X, data.Cols, rows, s.w, 0)
		powers := make([]*he.Vector, opt.Degree)
		pw := append([]float64(nil), uc...)
		for k := range powers {
			var err error
			if powers[k], err = party.Encrypt(pw); err != nil {
				return err
			}
			for i := range pw {
				pw[i] *= uc[i]
			}
		}
		msg, err := marshalVectors(s.params, powers)
		if err != nil {
			return err
		}
		if err := t.Send(ctx, fl.Message{Type: TypePowers, Payload: msg}); err != nil {
			return err
		}
		payload, err := fl.Expect(ctx, t, TypeResidual)
		if err != nil {
			return err
		}
		ds, err := unmarshalVectors(s.params, payload, 1)
		if err == nil {
			err = joint.CheckVector(s.params, ds[0], "residual", joint.VectorWant{Layout: he.SlotReal, Len: len(rows), Level: joint.AnyLevel})
		}
		if err != nil {
			return fl.Fail(ctx, t, fmt.Errorf("%w: residual from the bank: %w", ErrProtocol, err))
		}
		g, err := party.MulTransposed(s.pr.mats[b], ds[0])
		if err != nil {
			return fl.Fail(ctx, t, err)
		}
		grad, err := joint.DecryptWithPeer(ctx, t, party, g)
		if err != nil {
			return err
		}
		if err := joint.HelpDecrypt(ctx, t, party, s.plan, StepBankGradient); err != nil {
			return err
		}
		for j := range grad {
			grad[j] /= float64(len(rows))
		}
		if gradHook != nil {
			gradHook(fl.RolePassive, grad)
		}
		if err := s.optim.Step(s.w, grad); err != nil {
			return err
		}
	}
	if s.lossNeeded {
		return joint.HelpDecrypt(ctx, t, party, s.plan, StepLoss)
	}
	return nil
}
