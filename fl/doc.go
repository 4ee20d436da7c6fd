// Package fl is the session layer of Veil's two-party protocols: the
// Transport interface, messages and their checks (Expect, the JSON helpers),
// the handshake, session binding, aborts, the in-memory pipe, checkpoints
// (the Checkpoints interface the application implements, DirCheckpoints
// for files) and the resume agreement. It imports neither gRPC nor lattigo: the
// gRPC link is package fl/link, HE over a session (threshold key
// generation, joint decryption, the disclosure plan) package fl/joint, and
// the protocols (fl/align, fl/vlr, fl/boost, fl/woe, fl/score) run over any
// Transport.
//
// The protocols (sample alignment, vertical logistic regression,
// SecureBoost, federated and encrypted scoring) are party-side logic over the
// small Transport interface: send a Message (a type name and an opaque
// payload such as a serialised ciphertext), receive the next one, check its
// type with Expect. No protocol code opens a socket and no transport knows
// what a histogram is, so the same protocol runs over gRPC between two
// organisations and over an in-memory NewPipe in tests.
//
// Transports:
//
//   - NewPipe: two connected in-memory ends for tests and single-process
//     examples; PipeEnd.Sever cuts the connection, and package fl/fltest
//     adds faults (a drop after n messages, tampered messages).
//   - link.Dial, Listen, NewServer, Accept (package fl/link): gRPC over mutual TLS 1.3, one
//     bidirectional stream per session (service veil.v1.Party, see package
//     proto). Messages of any size up to link.GRPCOptions.MaxMessageSize (1 GiB by
//     default) travel in chunks of its ChunkSize (1 MiB by default), so
//     a 9 MiB Galois key or a 32 MB PSI batch needs no tuning of gRPC limits.
//     A server hands each session to a Handler in its own goroutine and also
//     serves the standard gRPC health service.
//   - LoadTLS reads a party's certificates from PEM files; fltest.NewPKI
//     makes a throwaway CA and per-party certificates for tests and
//     examples.
//
// Every session starts with Handshake: both parties check that they speak
// the same protocol version, have opposite roles (RoleActive holds the
// labels, RolePassive only features), use the same HE parameter set and, once
// known, the same aligned row count; they then agree on a joint random seed
// by commit-then-reveal, so neither chooses the common reference polynomial.
// A disagreement fails on both sides with a *MismatchError naming both
// values, matchable with errors.Is against ErrPeerVersion, ErrRoleConflict,
// ErrParamsMismatch or ErrRowsMismatch.
//
// Protocol code names its message types with a package prefix ("he.",
// "psi.", "vlr.", ...); the "veil." prefix belongs to the session layer. To
// give up on a protocol run, call Abort so that the peer's Expect fails with
// the reason instead of waiting. Every call that waits on the peer takes a
// context; give it a deadline.
package fl
