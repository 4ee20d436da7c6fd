package align_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/he"
)

// partyOutcome is what one party ends with.
type partyOutcome struct {
	sess  *fl.Session
	rows  []int
	party *he.Party
	got   []float64 // what was decrypted to this party
	err   error
}

// runParty is one side of the whole session: handshake, PSI, key generation,
// then one joint decryption to the center and one to the bank.
func runParty(ctx context.Context, t fl.Transport, role fl.Role, ids []string, secret []float64) partyOutcome {
	var o partyOutcome
	params := he.MustParams(he.Hist13)
	if o.sess, o.err = fl.Handshake(ctx, t, fl.Hello{Role: role, Params: params.ID()}); o.err != nil {
		return o
	}
	res, err := align.Align(ctx, t, ids)
	if o.err = err; err != nil {
		return o
	}
	o.rows = res.Rows
	if o.party, o.err = joint.GenerateKeys(ctx, t, params, he.KeySpec{}, o.sess.Seed[:]); o.err != nil {
		return o
	}
	// The bank's secret goes to the center, then the center's to the bank.
	for _, receiver := range []fl.Role{fl.RolePassive, fl.RoleActive} {
		if role == receiver {
			b, err := fl.Expect(ctx, t, "test.vector")
			if o.err = err; err != nil {
				return o
			}
			v, err := params.UnmarshalVector(b)
			if o.err = err; err != nil {
				return o
			}
			if o.got, o.err = joint.DecryptWithPeer(ctx, t, o.party, v); o.err != nil {
				return o
			}
		} else {
			v, err := o.party.EncryptCoeffs(secret, 64)
			if o.err = err; err != nil {
				return o
			}
			b, err := params.MarshalVector(v)
			if o.err = err; err != nil {
				return o
			}
			if o.err = t.Send(ctx, fl.Message{Type: "test.vector", Payload: b}); o.err != nil {
				return o
			}
			plan := joint.NewPlan(joint.Disclosure{Step: "test.vector", To: receiver, Layout: he.Coeff, Len: len(secret), Level: joint.AnyLevel, Vectors: 1}).HeldBy(ctx, role)
			if o.err = joint.HelpDecrypt(ctx, t, o.party, plan, "test.vector"); o.err != nil {
				return o
			}
		}
	}
	return o
}

// TestEndToEndGRPC: two parties over real gRPC on loopback with mutual TLS
// run the handshake, align synthetic enterprises by PSI (the intersection is
// exactly the true overlap, in one common order), generate threshold keys,
// and decrypt one vector to each party.
func TestEndToEndGRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bankTable, centerTable, err := dataset.Synthesize(dataset.SynthOptions{Rows: 3000, Seed: 11})
	require.NoError(t, err)
	pki, err := fltest.NewPKI("bank", "center")
	require.NoError(t, err)

	bankSecret, centerSecret := []float64{1, 2, 3.5}, []float64{-7, 0.25}
	centerOut := make(chan partyOutcome, 1)
	srv, addr, err := link.Listen("127.0.0.1:0", func(ctx context.Context, tr fl.Transport) error {
		o := runParty(ctx, tr, fl.RolePassive, centerTable.IDs, centerSecret)
		centerOut <- o
		return o.err
	}, link.GRPCOptions{TLS: pki.ServerTLS("center", "bank")})
	require.NoError(t, err)
	defer srv.Close()

	tr, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: pki.ClientTLS("bank", "center")})
	require.NoError(t, err)
	defer tr.Close()
	bank := runParty(ctx, tr, fl.RoleActive, bankTable.IDs, bankSecret)
	require.NoError(t, bank.err)
	center := <-centerOut
	require.NoError(t, center.err)

	require.Equal(t, bank.sess.Seed, center.sess.Seed)
	// The intersection is exactly the true overlap, row for row.
	wantB, wantC := dataset.Align(bankTable, centerTable)
	require.Len(t, bank.rows, len(wantB))
	require.Len(t, center.rows, len(wantB))
	for i := range bank.rows {
		require.Equal(t, bankTable.IDs[bank.rows[i]], centerTable.IDs[center.rows[i]])
	}
	gotB := slices.Clone(bank.rows)
	slices.Sort(gotB)
	require.Equal(t, wantB, gotB)
	_ = wantC
	// One decryption to each party.
	require.InDeltaSlice(t, bankSecret, center.got, 1e-4)
	require.InDeltaSlice(t, centerSecret, bank.got, 1e-4)
	st := tr.Stats()
	t.Logf("aligned %d of %d/%d enterprises; bank sent %.1f MiB in %d messages, received %.1f MiB",
		len(bank.rows), bankTable.Rows(), centerTable.Rows(), float64(st.SentBytes)/(1<<20), st.SentMessages, float64(st.RecvBytes)/(1<<20))
}
