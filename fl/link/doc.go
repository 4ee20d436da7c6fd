// Package link is the gRPC transport of Veil's sessions: Dial, DialRetry,
// Listen, NewServer and Accept give fl.Transport ends over mutual TLS 1.3,
// one bidirectional stream per session (service veil.v1.Party, package
// proto/veilgrpc), messages of any size cut into chunk frames and checked
// on arrival (order, length, size limit, aborts). A server hands each
// session to an fl.Handler in its own goroutine, with the client's verified
// certificate in the context (fl.PeerIdentity), and serves the standard
// gRPC health service. It is the only package of Veil, besides the
// generated proto/veilgrpc, that imports gRPC; it knows nothing of HE.
package link
