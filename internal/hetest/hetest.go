// Package hetest runs both parties' threshold key generation in one process,
// for the module's tests, examples and benchmarks. A deployment never does:
// each party runs its he.KeyGen on its own machine and the two exchange its
// rounds over the session (fl/joint.GenerateKeys).
package hetest

import "github.com/veil-fl/veil/he"

// LocalPair runs the whole key generation for both parties with the joint
// seed and returns both handles: a's with spec, b's with spec.Peer() (the
// holders mirrored).
func LocalPair(params he.Params, spec he.KeySpec, seed []byte) (a, b *he.Party, err error) {
	ka, err := he.NewKeyGen(params, spec, seed)
	if err != nil {
		return nil, nil, err
	}
	kb, err := he.NewKeyGen(params, spec.Peer(), seed)
	if err != nil {
		return nil, nil, err
	}
	a1, b1 := ka.Round1(), kb.Round1()
	a2, err := ka.Round2(b1)
	if err != nil {
		return nil, nil, err
	}
	b2, err := kb.Round2(a1)
	if err != nil {
		return nil, nil, err
	}
	if a, err = ka.Finish(b2); err != nil {
		return nil, nil, err
	}
	if b, err = kb.Finish(a2); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}
