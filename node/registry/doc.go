// Package registry stores model halves on disk, one folder per version:
// <dir>/<owner>/<name>/<version>/ on the credit center, where owner is the
// bank's certificate name, and <dir>/<name>/<version>/ on a bank (owner "").
// A version folder holds meta.json (Meta: the kind, when it was created,
// the training id both halves share, the digests of the job's config and
// of the aligned ids, the peer, the columns used, the bank's test metrics)
// and the half's files.
//
// Each party keeps only its own half: the registry stores what it is given
// and reveals nothing to the peer. A scoring session names a model and
// version; each side reads its Meta and both compare the training ids (and
// digests) before any record is scored, so halves of different trainings
// are never combined.
//
// Writes are atomic: a version is written whole into a temporary folder,
// its files and the folder synced, then renamed into place; a version that
// exists is never overwritten (Put returns ErrExists), and two writers
// asking for the next free version each get their own. Reads check what
// they read (names, the meta's own owner, name and version), so a damaged
// or hand-edited folder is an error, never a panic.
package registry
