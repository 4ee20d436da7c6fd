package main

import (
	"crypto/rand"
	"io"
	"math/big"
)

// paillier is a textbook Paillier public key (g = n+1), implemented only as
// the comparison baseline of encrypt_per_value: FATE and SecretFlow encrypt
// with Paillier (or OU) one value per ciphertext. Not for use.
type paillier struct {
	n, n2 *big.Int
}

func newPaillier(bits int, rnd io.Reader) (*paillier, error) {
	p, err := rand.Prime(rnd, bits/2)
	if err != nil {
		return nil, err
	}
	q, err := rand.Prime(rnd, bits/2)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).Mul(p, q)
	return &paillier{n: n, n2: new(big.Int).Mul(n, n)}, nil
}

// encrypt returns (1 + m n) r^n mod n^2 for a random r.
func (k *paillier) encrypt(m int64, rnd io.Reader) (*big.Int, error) {
	r, err := rand.Int(rnd, k.n)
	if err != nil {
		return nil, err
	}
	c := new(big.Int).Exp(r, k.n, k.n2)
	gm := new(big.Int).Mul(big.NewInt(m), k.n)
	gm.Add(gm, big.NewInt(1))
	c.Mul(c, gm)
	return c.Mod(c, k.n2), nil
}
