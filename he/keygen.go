package he

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// ErrKeySpecMismatch is returned when the peer's key-generation message was
// made for other parameters or other evaluation keys.
var ErrKeySpecMismatch = errors.New("he: peer key-generation message does not match the local key spec")

// KeySpec says which collective evaluation keys a key generation produces.
type KeySpec struct {
	// Relinearization asks for a relinearisation key (ciphertext products).
	Relinearization bool
	// Rotations lists the slot rotations the kernels use (see XtdRotations).
	Rotations []int
	// Pack asks for the Galois keys that pack sparse coefficient results
	// (the histogram kernel).
	Pack bool
	// Conjugate asks for the complex-conjugation key (CombinePairs).
	Conjugate bool
	// ConjugateAtTop asks for the complex-conjugation key at the top level,
	// whatever GaloisLevel (it implies Conjugate): for separating paired
	// chunks before the sigmoid (UnpairChunks), as well as below.
	ConjugateAtTop bool
	// GaloisLevel is the ciphertext level of the Galois keys: rotations at
	// or below it only, for keys that are smaller to generate, send and
	// hold. 0 means the top level.
	GaloisLevel int
	// RelinHolder and GaloisHolder say which parties evaluate with the
	// relinearisation key and with the Galois keys, seen from this party
	// (the peer's spec says the mirror, Peer). The last shares of a key
	// travel to its holders only, so a key one party holds costs half its
	// bytes; the other party's Party lacks it. A relinearisation key one
	// party holds is built in one round from the other's shares of its key
	// share and of its square (see oneHolder): the holder sends nothing
	// for it, a quarter of lattigo's two rounds both ways. The zero value:
	// both.
	RelinHolder, GaloisHolder Holder
}

// Holder says which parties of the pair hold a collective evaluation key,
// seen from one of them.
type Holder uint8

const (
	// HeldByBoth: both parties evaluate with the key.
	HeldByBoth Holder = iota
	// HeldBySelf: this party alone (the peer's spec says HeldByPeer).
	HeldBySelf
	// HeldByPeer: the peer alone (the peer's spec says HeldBySelf).
	HeldByPeer
)

func (h Holder) String() string {
	switch h {
	case HeldByBoth:
		return "both"
	case HeldBySelf:
		return "this party"
	case HeldByPeer:
		return "the peer"
	}
	return fmt.Sprintf("holder(%d)", uint8(h))
}

// mirror is h seen from the peer.
func (h Holder) mirror() Holder {
	switch h {
	case HeldBySelf:
		return HeldByPeer
	case HeldByPeer:
		return HeldBySelf
	}
	return h
}

// self says whether this party holds the key; peer whether the peer does.
func (h Holder) self() bool { return h != HeldByPeer }
func (h Holder) peer() bool { return h != HeldBySelf }

// Peer returns the spec the peer uses with this one: the same keys, the
// holders mirrored.
func (spec KeySpec) Peer() KeySpec {
	spec.RelinHolder, spec.GaloisHolder = spec.RelinHolder.mirror(), spec.GaloisHolder.mirror()
	return spec
}

// checkHolders refuses holders outside the three values.
func (spec KeySpec) checkHolders() error {
	if spec.RelinHolder > HeldByPeer || spec.GaloisHolder > HeldByPeer {
		return fmt.Errorf("he: key holders %s and %s: want HeldByBoth, HeldBySelf or HeldByPeer", spec.RelinHolder, spec.GaloisHolder)
	}
	return nil
}

// galoisKeyParams returns the evaluation-key parameters of spec's Galois
// key for element el.
func (spec KeySpec) galoisKeyParams(p Params, el uint64) []rlwe.EvaluationKeyParameters {
	if spec.ConjugateAtTop && el == p.ckks.GaloisElementForComplexConjugation() {
		return nil
	}
	if spec.GaloisLevel <= 0 || spec.GaloisLevel >= p.MaxLevel() {
		return nil
	}
	lq, lp := spec.GaloisLevel, p.ckks.MaxLevelP()
	return []rlwe.EvaluationKeyParameters{{LevelQ: &lq, LevelP: &lp}}
}

// galoisElements returns the sorted, de-duplicated Galois elements of spec.
func (spec KeySpec) galoisElements(p Params) []uint64 {
	var els []uint64
	for _, k := range spec.Rotations {
		k %= p.Slots()
		if k < 0 {
			k += p.Slots()
		}
		if k != 0 {
			els = append(els, p.ckks.GaloisElementForRotation(k))
		}
	}
	if spec.Pack {
		els = append(els, rlwe.GaloisElementsForPack(p.ckks, p.ckks.LogN())...)
	}
	if spec.Conjugate || spec.ConjugateAtTop {
		els = append(els, p.ckks.GaloisElementForComplexConjugation())
	}
	slices.Sort(els)
	return slices.Compact(els)
}

// KeyGen is one party's side of the two-party threshold key generation. It
// produces and consumes messages and never touches the network:
//
//	r1 := kg.Round1()                 // send r1, receive the peer's r1
//	r2, err := kg.Round2(peerR1)      // send r2, receive the peer's r2
//	party, err := kg.Finish(peerR2)
//
// Both parties must start from the same Params, KeySpec and seed (the joint
// seed of the session handshake, which fixes the common reference polynomials).
// The secret-key share never leaves the KeyGen or the Party it becomes.
type KeyGen struct {
	params Params
	spec   KeySpec
	galEls []uint64
	sk     *rlwe.SecretKey

	ckg    mhe.PublicKeyGenProtocol
	ckgCRP mhe.PublicKeyGenCRP
	rkg    mhe.RelinearizationKeyGenProtocol
	rkgCRP mhe.RelinearizationKeyGenCRP
	gkg    mhe.GaloisKeyGenProtocol
	gkgCRP []mhe.GaloisKeyGenCRP
	// The relinearisation key of one holder (oneHolder): key-switching
	// shares of s and s^2 under common reference polynomials.
	evkg     mhe.EvaluationKeyGenProtocol
	relinCRP [2]mhe.EvaluationKeyGenCRP
	rlk      *rlwe.RelinearizationKey

	ephSk     *rlwe.SecretKey
	ownGalois []mhe.GaloisKeyGenShare // this party's Galois shares, sent or not
	r1        *KeyGenRound1
	rlkAggR1  mhe.RelinearizationKeyGenShare
	ownRelin2 *mhe.RelinearizationKeyGenShare
	pk        *rlwe.PublicKey
	gks       []*rlwe.GaloisKey
	r2        *KeyGenRound2
	step      int
}

// KeyGenRound1 is the first key-generation message: the public-key share, the
// first relinearisation round and, when the receiver holds Galois keys, the
// Galois-key shares (Galois is empty otherwise).
type KeyGenRound1 struct {
	ParamSet string
	// RelinHolder and GaloisHolder are the sender's KeySpec's.
	RelinHolder, GaloisHolder Holder
	GaloisEls                 []uint64
	PublicKey                 mhe.PublicKeyGenShare
	Relin                     *mhe.RelinearizationKeyGenShare
	// RelinSquare is, when only the receiver holds the relinearisation
	// key, the sender's key-switching shares of its key share s_i and of
	// s_i^2 (see KeySpec.RelinHolder); Relin is then nil.
	RelinSquare []mhe.EvaluationKeyGenShare
	Galois      []mhe.GaloisKeyGenShare
}

// KeyGenRound2 is the second message: the second relinearisation round of
// a key both parties hold (empty otherwise: no key, or one holder's, built
// from round 1).
type KeyGenRound2 struct {
	ParamSet string
	Relin    *mhe.RelinearizationKeyGenShare
}

// NewKeyGen starts a key generation with a fresh secret-key share.
func NewKeyGen(params Params, spec KeySpec, seed []byte) (*KeyGen, error) {
	if len(seed) < 16 {
		return nil, fmt.Errorf("he: key generation seed has %d bytes, want at least 16", len(seed))
	}
	if err := spec.checkHolders(); err != nil {
		return nil, err
	}
	crs, err := sampling.NewKeyedPRNG(seed)
	if err != nil {
		return nil, fmt.Errorf("he: common reference string: %w", err)
	}
	kg := &KeyGen{
		params: params,
		spec:   spec,
		galEls: spec.galoisElements(params),
		sk:     rlwe.NewKeyGenerator(params.ckks).GenSecretKeyNew(),
		ckg:    mhe.NewPublicKeyGenProtocol(params.ckks),
		gkg:    mhe.NewGaloisKeyGenProtocol(params.ckks),
	}
	kg.ckgCRP = kg.ckg.SampleCRP(crs)
	switch {
	case kg.oneHolder():
		kg.evkg = mhe.NewEvaluationKeyGenProtocol(params.ckks)
		for i := range kg.relinCRP {
			kg.relinCRP[i] = kg.evkg.SampleCRP(crs)
		}
	case kg.twoRounds():
		kg.rkg = mhe.NewRelinearizationKeyGenProtocol(params.ckks)
		kg.rkgCRP = kg.rkg.SampleCRP(crs)
	}
	for _, el := range kg.galEls {
		kg.gkgCRP = append(kg.gkgCRP, kg.gkg.SampleCRP(crs, spec.galoisKeyParams(params, el)...))
	}
	return kg, nil
}

// Round1 returns this party's first message.
func (kg *KeyGen) Round1() *KeyGenRound1 {
	if kg.r1 != nil {
		return kg.r1
	}
	r1 := &KeyGenRound1{ParamSet: kg.params.ID(), RelinHolder: kg.spec.RelinHolder, GaloisHolder: kg.spec.GaloisHolder, GaloisEls: kg.galEls, PublicKey: kg.ckg.AllocateShare()}
	kg.ckg.GenShare(kg.sk, kg.ckgCRP, &r1.PublicKey)
	if kg.oneHolder() && kg.spec.RelinHolder == HeldByPeer {
		r1.RelinSquare = kg.squareShares()
	}
	if kg.twoRounds() {
		eph, s1, _ := kg.rkg.AllocateShare()
		kg.rkg.GenShareRoundOne(kg.sk, kg.rkgCRP, eph, &s1)
		kg.ephSk, r1.Relin = eph, &s1
	}
	kg.ownGalois = make([]mhe.GaloisKeyGenShare, len(kg.galEls))
	parallelFor(len(kg.galEls), func(lo, hi int) {
		gkg := kg.gkg.ShallowCopy()
		for i := lo; i < hi; i++ {
			kg.ownGalois[i] = gkg.AllocateShare(kg.spec.galoisKeyParams(kg.params, kg.galEls[i])...)
			// GenShare fails only for a Galois element outside the group,
			// which galoisElements never produces.
			if err := gkg.GenShare(kg.sk, kg.galEls[i], kg.gkgCRP[i], &kg.ownGalois[i]); err != nil {
				panic(err)
			}
		}
	})
	if kg.spec.GaloisHolder.peer() {
		r1.Galois = kg.ownGalois
	}
	kg.r1 = r1
	return r1
}

// Round2 consumes the peer's first message, derives the collective public and
// Galois keys, and returns this party's second message.
func (kg *KeyGen) Round2(peer *KeyGenRound1) (*KeyGenRound2, error) {
	own := kg.Round1()
	if peer == nil || peer.ParamSet != kg.params.ID() {
		return nil, fmt.Errorf("%w: parameter set %q, peer %q", ErrKeySpecMismatch, kg.params.ID(), peerSet(peer))
	}
	if err := kg.checkPeerHolders(peer.RelinHolder, peer.GaloisHolder); err != nil {
		return nil, err
	}
	if !slices.Equal(peer.GaloisEls, kg.galEls) || len(peer.Galois) != kg.peerGaloisShares() || (peer.Relin != nil) != kg.twoRounds() || len(peer.RelinSquare) != kg.peerSquareShares() {
		return nil, fmt.Errorf("%w: local %d Galois keys (relinearisation %v), peer %d (relinearisation %v)",
			ErrKeySpecMismatch, len(kg.galEls), kg.spec.Relinearization, len(peer.GaloisEls), peer.Relin != nil || peer.RelinSquare != nil)
	}
	p := kg.params.ckks
	agg := kg.ckg.AllocateShare()
	kg.ckg.AggregateShares(own.PublicKey, peer.PublicKey, &agg)
	kg.pk = rlwe.NewPublicKey(p)
	kg.ckg.GenPublicKey(agg, kg.ckgCRP, kg.pk)

	kg.gks = make([]*rlwe.GaloisKey, len(peer.Galois))
	var firstErr error
	for i := range peer.Galois {
		el := kg.galEls[i]
		if peer.Galois[i].GaloisElement != el {
			return nil, fmt.Errorf("%w: Galois share %d is for element %d, want %d", ErrKeySpecMismatch, i, peer.Galois[i].GaloisElement, el)
		}
		sum := kg.gkg.AllocateShare(kg.spec.galoisKeyParams(kg.params, el)...)
		if err := kg.gkg.AggregateShares(kg.ownGalois[i], peer.Galois[i], &sum); err != nil && firstErr == nil {
			firstErr = err
		}
		kg.gks[i] = rlwe.NewGaloisKey(p, kg.spec.galoisKeyParams(kg.params, el)...)
		if err := kg.gkg.GenGaloisKey(sum, kg.gkgCRP[i], kg.gks[i]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("he: Galois keys: %w", firstErr)
	}

	if kg.peerSquareShares() > 0 {
		rlk, err := kg.relinFromSquares(peer.RelinSquare)
		if err != nil {
			return nil, err
		}
		kg.rlk = rlk
	}
	r2 := &KeyGenRound2{ParamSet: kg.params.ID()}
	if kg.twoRounds() {
		_, aggR1, s2 := kg.rkg.AllocateShare()
		kg.rkg.AggregateShares(*own.Relin, *peer.Relin, &aggR1)
		kg.rkg.GenShareRoundTwo(kg.ephSk, kg.sk, aggR1, &s2)
		kg.rlkAggR1, kg.ownRelin2, r2.Relin = aggR1, &s2, &s2
	}
	kg.ownGalois = nil
	kg.r2 = r2
	kg.step = 2
	return r2, nil
}

// Finish consumes the peer's second message and returns this party's handle:
// its secret-key share and the collective keys.
func (kg *KeyGen) Finish(peer *KeyGenRound2) (*Party, error) {
	if kg.step != 2 {
		return nil, errors.New("he: KeyGen.Finish called before Round2")
	}
	if peer == nil || peer.ParamSet != kg.params.ID() || (peer.Relin != nil) != kg.twoRounds() {
		return nil, fmt.Errorf("%w: second round", ErrKeySpecMismatch)
	}
	rlk := kg.rlk
	if kg.twoRounds() {
		_, _, agg := kg.rkg.AllocateShare()
		kg.rkg.AggregateShares(*kg.ownRelin2, *peer.Relin, &agg)
		rlk = rlwe.NewRelinearizationKey(kg.params.ckks)
		kg.rkg.GenRelinearizationKey(kg.rlkAggR1, agg, rlk)
	}
	party := newParty(kg.params, kg.sk, kg.pk, rlwe.NewMemEvaluationKeySet(rlk, kg.gks...))
	kg.sk, kg.ephSk, kg.ownRelin2, kg.rlk = nil, nil, nil, nil
	kg.step = 3
	return party, nil
}

// checkPeerHolders refuses a peer whose holders are not the mirror of this
// party's.
func (kg *KeyGen) checkPeerHolders(relin, galois Holder) error {
	if relin.mirror() != kg.spec.RelinHolder || galois.mirror() != kg.spec.GaloisHolder {
		return fmt.Errorf("%w: the peer's relinearisation key is held by %s and its Galois keys by %s (as it sees them), this party's by %s and %s",
			ErrKeySpecMismatch, relin, galois, kg.spec.RelinHolder, kg.spec.GaloisHolder)
	}
	return nil
}

// peerGaloisShares is the number of Galois-key shares the peer sends: all
// of them when this party holds the keys, none otherwise.
func (kg *KeyGen) peerGaloisShares() int {
	if kg.spec.GaloisHolder.self() {
		return len(kg.galEls)
	}
	return 0
}

// twoRounds says whether the relinearisation key is lattigo's two-round
// one, which both parties hold.
func (kg *KeyGen) twoRounds() bool {
	return kg.spec.Relinearization && kg.spec.RelinHolder == HeldByBoth
}

// oneHolder says whether one party alone holds the relinearisation key.
// It is then built in one round instead of lattigo's two: the other party
// sends key-switching shares of its key share s_c and of s_c^2 (squareShares),
// and the holder, who knows its own share s_b, assembles the key of
// s^2 = s_b^2 + 2 s_b s_c + s_c^2 under s = s_b + s_c (relinFromSquares).
// The shares are those of lattigo's evaluation-key generation (mhe), under
// common reference polynomials: -a s_c + s_c w + e, an RLWE sample of s_c
// (a - w is uniform), and -a' s_c + s_c^2 w + e', a relinearisation key of
// s_c alone, public in single-key CKKS under the usual circular-security
// assumption, as the joint key is. The holder receives nothing else about
// s_c; the other party receives nothing at all. It sends a third of the
// bytes of lattigo's two rounds with one holder (three shares of this size:
// each party's first, the other party's second) and spares a round trip;
// the key and its noise are those of a key of s
// (TestKeyGenHolders, and the sigmoid tests, which hold it so).
func (kg *KeyGen) oneHolder() bool {
	return kg.spec.Relinearization && kg.spec.RelinHolder != HeldByBoth
}

// peerSquareShares is the number of key-switching shares the peer sends
// for a relinearisation key this party alone holds.
func (kg *KeyGen) peerSquareShares() int {
	if kg.oneHolder() && kg.spec.RelinHolder == HeldBySelf {
		return len(kg.relinCRP)
	}
	return 0
}

// squareShares returns this party's key-switching shares of s_i (under the
// first common polynomials) and of s_i^2 (the second), for the peer that
// holds the relinearisation key.
func (kg *KeyGen) squareShares() []mhe.EvaluationKeyGenShare {
	sq := kg.square()
	defer zeroKey(sq)
	out := make([]mhe.EvaluationKeyGenShare, 2)
	for i, in := range []*rlwe.SecretKey{kg.sk, sq} {
		out[i] = kg.evkg.AllocateShare()
		// GenShare fails only for shapes AllocateShare and SampleCRP give.
		if err := kg.evkg.GenShare(in, kg.sk, kg.relinCRP[i], &out[i]); err != nil {
			panic(err)
		}
	}
	return out
}

// square returns s_i^2 as a secret key (NTT and Montgomery form, as lattigo
// holds keys).
func (kg *KeyGen) square() *rlwe.SecretKey {
	sq := rlwe.NewSecretKey(kg.params.ckks)
	kg.params.ckks.RingQP().MulCoeffsMontgomery(kg.sk.Value, kg.sk.Value, sq.Value)
	return sq
}

// zeroKey overwrites a secret key no longer needed.
func zeroKey(sk *rlwe.SecretKey) {
	sk.Value.Q.Zero()
	sk.Value.P.Zero()
}

// relinFromSquares assembles the relinearisation key from the peer's
// shares G1 of s_c (polynomials a1) and G2 of s_c^2 (a2): with this party's
// share B of s_b^2 under a2, the key is
//
//	(G2 + B + 2 s_b (G1 - a1 s_b), a2 + 2 s_b a1)
//
// whose decryption under s = s_b + s_c is (s_c^2 + s_b^2 + 2 s_b s_c) w plus
// the noise e2 + e_b + 2 s_b e1 (each coefficient near 2^10, which the key
// switching divides by P).
func (kg *KeyGen) relinFromSquares(peer []mhe.EvaluationKeyGenShare) (*rlwe.RelinearizationKey, error) {
	sq := kg.square()
	defer zeroKey(sq)
	own := kg.evkg.AllocateShare()
	if err := kg.evkg.GenShare(sq, kg.sk, kg.relinCRP[1], &own); err != nil {
		return nil, fmt.Errorf("he: relinearisation key: %w", err)
	}
	rqp := kg.params.ckks.RingQP()
	rlk := rlwe.NewRelinearizationKey(kg.params.ckks)
	g1, g2 := peer[0].Value, peer[1].Value
	a1, a2 := kg.relinCRP[0].Value, kg.relinCRP[1].Value
	for _, g := range []mhe.EvaluationKeyGenShare{peer[0], peer[1]} {
		if len(g.Value) != len(rlk.Value) || len(g.Value[0]) != len(rlk.Value[0]) || g.LevelQ() != rlk.LevelQ() || g.LevelP() != rlk.LevelP() {
			return nil, fmt.Errorf("%w: a relinearisation share of %d digits at levels %d and %d, want %d at %d and %d",
				ErrKeySpecMismatch, len(g.Value), g.LevelQ(), g.LevelP(), len(rlk.Value), rlk.LevelQ(), rlk.LevelP())
		}
	}
	t := rqp.NewPoly()
	for i := range rlk.Value {
		for j := range rlk.Value[i] {
			b, a := rlk.Value[i][j][0], rlk.Value[i][j][1]
			// t = 2 s_b (G1 - a1 s_b): the peer's share of s_c under s,
			// times 2 s_b.
			t.Copy(g1[i][j][0])
			rqp.MulCoeffsMontgomeryThenSub(a1[i][j], kg.sk.Value, t)
			rqp.MulCoeffsMontgomery(t, kg.sk.Value, t)
			rqp.Add(t, t, b)
			rqp.Add(b, g2[i][j][0], b)
			rqp.Add(b, own.Value[i][j][0], b)
			rqp.MulCoeffsMontgomery(a1[i][j], kg.sk.Value, a)
			rqp.Add(a, a, a)
			rqp.Add(a, a2[i][j], a)
		}
	}
	return rlk, nil
}

func peerSet(r *KeyGenRound1) string {
	if r == nil {
		return "<none>"
	}
	return r.ParamSet
}
