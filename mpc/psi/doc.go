// Package psi aligns two parties' id columns with Diffie-Hellman private set
// intersection over the ristretto255 group, so that a bank and a credit center
// can join their tables row by row without showing each other the ids they do
// not share.
//
// # Three protocols
//
// The package holds three private set intersections with one contract
// (each party's rows of the intersection in one common order, and a
// [Result.Digest] both compute over it), among which fl/align chooses:
//
//   - ECDH ([Party], below): both sets blinded afresh, two scalar
//     multiplications an id a party; the balanced mode's fallback and its
//     option (align.ECDH).
//   - KKRT ([KKRTSender], [KKRTReceiver]; kkrt.go): KKRT16's OT-extension
//     PSI, symmetric-key work an id (about 5 CPU-seconds for 10^6 ids a
//     side against about 260 for ECDH) and about 116 bytes an id on the
//     wire; fl/align's balanced mode by default, when both sets are fresh.
//     Its receiver learns the intersection first; a cuckoo failure
//     ([ErrCuckoo]) makes fl/align run ECDH instead when both parties
//     accept it.
//   - Unbalanced ([CenterSet], [Cache], [Query]; below): a credit center's
//     large set encoded once per key epoch and cached by the bank, which
//     also remembers the center's answers for its own ids, so that a
//     session costs O(the bank's new ids); fl/align's mode for a center's
//     table (the training job's and the scoring service's default).
//
// # Protocol
//
// Each party holds a set of distinct, non-empty ids and a secret scalar drawn
// fresh by [NewParty] (k_A for party A, k_B for party B). H maps an id to a
// group element with hash_to_ristretto255 (RFC 9380, suite
// ristretto255_XMD:SHA-512_R255MAP_RO_, with a Veil-specific domain separation
// tag). The protocol is symmetric and has two rounds:
//
//  1. [Party.Blind]: each party sends H(x)^k for each of its ids x, in a secret
//     random order (a [Blinded] [Message]).
//  2. [Party.Exchange]: each party raises every point it received to its own
//     key and sends the results back in the order received (a [Reblinded]
//     [Message]).
//  3. [Party.Finish]: each party now holds H(x)^(k_A k_B) for its own ids (from
//     the peer's reply, in its own order) and for the peer's ids (which it
//     computed itself, in the peer's secret order). Equal values are shared ids.
//
// Both parties sort the shared values' encodings to put the intersection in one
// common order, so that row i of party A's aligned table and row i of party
// B's refer to the same id ([Result.Rows]), and both compute the same
// [Result.Digest] over that order, which they may compare to confirm the
// alignment.
//
// Package psi does no network I/O (only the unbalanced mode's stores keep
// files): the caller moves the messages, which encode with
// [Message.MarshalBinary] to a 16-byte header followed by 32 bytes per id
// (1,000,000 ids make a 32 MB message; each party sends two messages). The
// encoding is flat, so a transport may cut it into chunks of any size and join
// them before [Message.UnmarshalBinary].
//
// # What each party learns
//
// Each party learns the number of ids the peer holds, the size of the
// intersection, and which of its own rows are in it, in the common order.
// It learns nothing about the peer's ids outside the intersection, nor where
// the shared ids sit in the peer's table.
//
// # Security
//
// The protocol is secure against semi-honest (honest-but-curious) parties under
// the decisional Diffie-Hellman assumption in ristretto255, with H modelled as a
// random oracle. It is not secure against a malicious peer: a peer that deviates
// can make the intersection come out wrong (for example by replying with
// other points), though it cannot learn more ids than it puts in its own set.
// Keys live only in a [Party], are drawn from crypto/rand unless the caller
// supplies another source, and are wiped by [Party.Finish]; use a Party for one
// run only. Scalar multiplication is constant-time.
//
// Group arithmetic is github.com/gtank/ristretto255 v0.1.2 (field arithmetic
// in amd64 assembly). On the 2-core development machine, one core: scalar
// multiplication 41.5 µs against 54.2 µs for github.com/cloudflare/circl's
// group.Ristretto255; hash to the group 8.2 µs against 8.7; encoding and
// decoding about 4 µs in both. gtank also rejects non-canonical encodings,
// which circl v1.6.5 accepts. Hashing, scalar multiplication and decoding run
// on runtime.GOMAXPROCS goroutines.
//
// Scalar multiplication is over three quarters of the cost: each party does
// two per id (one to blind its own ids, one to reblind the peer's), so
// 1,000,000 ids on each side cost 4,000,000 of them, about 170 CPU-seconds
// with this library, and the whole run (BenchmarkPSI1M) about 260
// CPU-seconds, over two minutes on 2 cores.
//
// # Unbalanced mode: the center's set encoded once per epoch
//
// A credit center holds about 800,000 ids and aligns a bank's 30,000-200,000
// against them in every session. [CenterSet] encodes the center's ids once per
// key epoch, H(x)^alpha under a long-lived key alpha of its own for each bank,
// in slots ordered by the encodings (which say nothing of the center's table);
// the bank keeps them in a [Cache] (32 bytes an id: 25.6 MB for 800,000) with
// the epoch's id. A session then costs O(bank's ids):
//
//  1. The bank sends its [CacheState]; the center answers with an [Update]
//     ([CenterSet.UpdateFor]): nothing new if the cache is current, only the
//     encodings of ids added and the slots of ids removed since the cache's
//     version, or the whole set for an empty cache or one of another epoch,
//     center or bank. [Cache.Apply] checks it (valid points, no repeats, the
//     announced digest of the whole set).
//  2. [Query.Ask]: the bank sends the number of its ids and H(b)^beta under
//     a fresh key beta, in a secret order, for those of its ids b whose
//     answer its cache does not remember for the epoch (an [Ask]; all of
//     them in the epoch's first session, none in a later one with the same
//     ids).
//  3. [CenterSet.Reblind]: the center returns H(b)^(beta alpha), in that
//     order (no reply when nothing was asked).
//  4. [Query.Finish]: the bank removes beta, remembers each H(b)^alpha in
//     the cache (its memo), and looks every id's H(b)^alpha up in the
//     cache; it sends the matched slots, in increasing order (a
//     [SlotList]), and [CenterSet.Match] gives the center its rows of them.
//     Both list their rows in increasing slot order, and compute the same
//     [Result.Digest] over the matched slots' encodings.
//
// The memo. The center's answer for an id, H(b)^alpha, is fixed for the
// epoch: it is the OPRF output of the bank's own id under the epoch's key,
// which the bank's first query of that id gave it. The cache keeps it (32
// bytes for a hash of the id and 32 for the answer, in the cache's file,
// under the same integrity check and epoch), so a later session of the
// epoch asks the center only for the ids it has not asked before and costs
// lookups for the rest. The memo is dropped with the epoch: a whole set
// (a new key) replaces the cache and empties it. Against a set that
// changed within the epoch the remembered answers are looked up in the
// updated cache, so an id the center added since is found, and one it
// removed is not, without asking.
//
// A session costs the bank two scalar multiplications an id it asks
// (blind, unblind) and the center one; the bytes are 32 an id asked each
// way, 4 a matched id, and the update. The ids already asked in the epoch
// cost a hash and two map lookups each. Encoding the center's set costs one hash and one multiplication an
// id, once per epoch and bank (about 20 s for 800,000 ids on 2 idle cores).
// Measured on the 2-core machine under other load (bench/psi_unbalanced.go),
// 200,000 bank ids against 800,000, without the memo: a later session 38.3
// CPU-seconds for both parties (68 s wall in one process, 95 s in two over
// gRPC), against 131.5 for the balanced protocol (244 s); the first of an
// epoch 95.8 CPU-seconds; 6.8 MB to the center and 6.4 MB back, plus 25.6
// MB once per epoch. Scalar multiplication is three quarters of it
// (BenchmarkUnbalancedSession: about 200 CPU-µs a bank id asked under that
// load). With the memo (bench/psi_unbalanced.go, one process, load about
// 3): a later session with the same 200,000 ids 0.7 s wall and 0.8
// CPU-seconds for both parties (the center's sync of its 800,000 ids and
// the bank's lookups; 0.9 s in two processes over gRPC), 0.4 MB to the
// center (the matched slots) and 228 bytes back; one with 20,000 ids new
// to the epoch 2.5 s and 4.4 CPU-seconds (6.2 s in two processes), 1.0 MB
// to the center and 0.64 MB back; the first of an epoch 67 s and 95
// CPU-seconds; in the same run the balanced ECDH PSI 65 s and 130
// CPU-seconds, and the balanced KKRT PSI 1.1 s and 1.8 CPU-seconds with
// 17 MB to the center and 24 MB back. At load 8 to 13 the later session
// took 6.0 s wall for 1.1 CPU-seconds. So against KKRT the unbalanced
// mode saves bytes (0.4 MB against 41 MB a session) and a little CPU in
// later sessions, and costs an epoch's encoding (about 95 CPU-seconds)
// in the first.
//
// What each party learns. The bank learns which of the ids it submits the
// center holds, and the number of the center's ids (the cache's size); the
// center learns the number of the bank's ids and, from the slot list, which of
// its rows are in the intersection, as in the balanced protocol, where both
// learn the intersection. What caching changes: the bank holds the
// alpha-encodings of all the center's ids for the epoch, so it can test
// whether any id it submits in a later session of the epoch is the center's,
// which that session's result tells it anyway; it cannot test an id without
// the center (computing H(y)^alpha needs alpha: the one-more Diffie-Hellman
// assumption), so the ids it may submit (a scoring service's quota) bound what
// it learns. It also sees the churn of the center's set within the epoch (how
// many ids came and went, and whether an id it tests came since it cached).
// The memo changes neither party's knowledge of ids: the bank keeps
// answers it was given (a curious bank could keep them without it), and
// with them it can check, after each update of the epoch, whether an id it
// asked about earlier has come or gone without submitting it again, which
// the churn above already lets it follow for ids it submits; it learns no
// id it has not asked about. The center learns, besides the number of the
// bank's ids in each session (the [Ask]'s count, as before), how many of
// them the bank asks for the first time this epoch: a measure of the
// bank's new customers since its earlier sessions of the epoch. In a
// scoring service the quota of ids (a session's count) bounds how many ids
// a session may ask and match; its count of scorings is charged on the
// rows the center learns from the slot list, which lists every matched id,
// remembered or asked, so the memo does not let a bank get a row scored
// uncharged.
// A cache is bound to its bank and center: the epoch id is a hash of both
// names and the epoch's nonce, and each bank has its own alpha, so a bank
// cannot use another bank's cache (the encodings differ), and a cache of
// another epoch or center is detected and replaced by the whole set.
//
// The key alpha lives in the center's [CenterStore] (in memory, and in files
// of the store's own folder, mode 0600, with an integrity check), and is
// replaced on the store's schedule (RotateEvery, default 30 days) or at once
// ([CenterStore.Rotate]). The same semi-honest model as above applies: a bank
// that lists slots it did not match makes the center take rows the bank does
// not hold (the bank does not learn which ids they are), and a center that
// replies under another key makes the intersection empty.
package psi
