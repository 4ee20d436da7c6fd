package node

import (
	"crypto/x509"
	"log/slog"
	"path/filepath"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/mpc/psi"
)

// psiStore returns the center's PSI store of table (center.yaml
// psi_store, a subfolder a table): one for the trainings and the scorings
// of the table, so that a bank's cache of it serves both, each bank's set
// encoded once per key epoch and kept across sessions and restarts.
func (c *Center) psiStore(table string) *psi.CenterStore {
	c.psiMu.Lock()
	defer c.psiMu.Unlock()
	if c.psiStores == nil {
		c.psiStores = map[string]*psi.CenterStore{}
	}
	s := c.psiStores[table]
	if s == nil {
		s = &psi.CenterStore{Center: c.ownName(), Dir: filepath.Join(c.cfg.PSIStore, table)}
		c.psiStores[table] = s
	}
	return s
}

// ownName is the center's name as a bank's certificate check sees it (the
// epochs of its PSI store are bound to it; a bank's center_name must be
// the same).
func (c *Center) ownName() string {
	if len(c.tlsID.Certificate.Certificate) > 0 {
		if cert, err := x509.ParseCertificate(c.tlsID.Certificate.Certificate[0]); err == nil {
			return fl.IdentityOf(cert).Name
		}
	}
	return CenterName
}

// openPSICache opens a bank's cache of the center's table (job.yaml and
// score.yaml psi_cache, a subfolder a table). A stored cache that fails
// its checks is dropped (logged): the session then receives the whole set.
func openPSICache(dir, table, center, bank string, log *slog.Logger) *psi.Cache {
	cache, discarded := psi.OpenCache(filepath.Join(dir, table), center, bank)
	if discarded != nil {
		log.Warn("the PSI cache was not trusted; the center's set comes whole", "table", table, "err", discarded)
	}
	return cache
}
