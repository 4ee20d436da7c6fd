// Package proto holds Veil's wire schema and generates its Go code: the
// messages (veil/v1/veil.proto) into package veilpb, which imports no gRPC,
// and the service (veil/v1/party.proto) into package veilgrpc.
//
// The schema defines one service, veil.v1.Party, with a single bidirectional
// streaming RPC per protocol session. Messages of any size travel as a
// header frame (type, sequence number, length) followed by bounded payload
// chunks, so multi-megabyte keys and ciphertexts stay under gRPC's per-message
// limit. It also defines the handshake payloads (Hello, Reveal, Confirm, Abort).
// Package fl/link owns the framing rules; package fl encodes the handshake payloads.
//
// The generated files are committed, so building and testing never need
// protoc. To regenerate after editing the schema:
//
//	apt-get install -y protobuf-compiler   # protoc, once
//	go generate ./proto/...
//
// The protoc-gen-go and protoc-gen-go-grpc plugins are the versions pinned by
// the tool directives in go.mod; gen.sh builds them with `go tool`.
package proto

//go:generate sh gen.sh
