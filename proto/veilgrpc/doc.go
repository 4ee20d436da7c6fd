// Package veilgrpc is the Go code generated from veil/v1/party.proto (the
// veil.v1.Party service) by protoc-gen-go and protoc-gen-go-grpc. Do not edit
// the .pb.go files; change the schema and run `go generate ./proto/...`.
package veilgrpc
