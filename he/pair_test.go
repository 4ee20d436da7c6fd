package he

// localPair runs the whole key generation for both parties in this
// process, as each would on its own machine, and returns both handles.
func localPair(params Params, spec KeySpec, seed []byte) (a, b *Party, err error) {
	ka, err := NewKeyGen(params, spec, seed)
	if err != nil {
		return nil, nil, err
	}
	kb, err := NewKeyGen(params, spec.Peer(), seed)
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
