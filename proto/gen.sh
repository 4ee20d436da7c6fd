#!/bin/sh
# Regenerates veilpb (the messages, veil/v1/veil.proto) and veilgrpc (the
# service, veil/v1/party.proto). Run through `go generate ./proto/...`.
# Needs protoc on PATH (Debian: apt-get install -y protobuf-compiler); the Go
# plugins are the versions pinned by the tool directives in go.mod.
set -eu
cd "$(dirname "$0")"
if ! command -v protoc >/dev/null 2>&1; then
	echo "gen.sh: protoc not found; install it (apt-get install -y protobuf-compiler)" >&2
	exit 1
fi
# go tool -n builds the pinned plugin and prints where the binary is.
gen_go=$(go tool -n protoc-gen-go)
gen_grpc=$(go tool -n protoc-gen-go-grpc)
protoc -I . \
	--plugin=protoc-gen-go="$gen_go" \
	--go_out=. --go_opt=module=github.com/veil-fl/veil/proto \
	veil/v1/veil.proto veil/v1/party.proto
protoc -I . \
	--plugin=protoc-gen-go-grpc="$gen_grpc" \
	--go-grpc_out=. --go-grpc_opt=module=github.com/veil-fl/veil/proto \
	veil/v1/party.proto
