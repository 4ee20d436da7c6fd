// Package veilpb is the Go code generated from veil/v1/veil.proto by
// protoc-gen-go and protoc-gen-go-grpc. Do not edit the .pb.go files; change
// the schema and run `go generate ./proto/...` (see package proto).
package veilpb
