// Package veilpb is the Go code generated from veil/v1/veil.proto (the
// messages) by protoc-gen-go; the service is in package veilgrpc. Do not edit the .pb.go files; change
// the schema and run `go generate ./proto/...` (see package proto).
package veilpb
