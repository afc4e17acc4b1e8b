#!/usr/bin/env bash
# Generates berth's Go SDK from schema.json into dist/sdk/go (tools/gen-sdk), a module (path: the
# schema's language.go.modulePath) that Go programs use through a `replace` of that path by this
# directory. Tidies it, which downloads its dependencies into GOMODCACHE so that later builds work
# offline, and checks it with `go build` and `go vet`. Prints the directory.
set -euo pipefail
cd "$(dirname "$0")/.."
GEN="$(bash scripts/setup/go-tool.sh gen-sdk)"
rm -rf dist/sdk/go
"$GEN" go schema.json dist/sdk/go
cd dist/sdk/go
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=auto
# The go line of the Pulumi Go SDK it builds on, not the local toolchain's, which tidy would write.
go mod tidy >&2
go mod edit -go="$(go list -m -f '{{.GoVersion}}' github.com/pulumi/pulumi/sdk/v3)"
go mod tidy >&2
# -trimpath as berth's Go language host builds programs: their first build then finds the SDK's dependencies compiled.
go build -trimpath ./... >&2
go vet ./... >&2
echo "$PWD"
