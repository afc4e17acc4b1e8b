#!/usr/bin/env bash
# Provides tools/gen-python-sdk (Pulumi's Python SDK generator as a library call: the CLI's
# gen-sdk needs a Python language host that is not served as a Go module). Built once with the
# same Pulumi modules as the CLI and cached outside the repository, keyed by the Pulumi version
# and the tool's source. Prints the path of the binary.
set -euo pipefail
PULUMI_VERSION="${BERTH_PULUMI_VERSION:-v3.259.0}"
CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SRC="$REPO/tools/gen-python-sdk/main.go"
KEY="$(sha256sum "$SRC" | cut -c1-12)"
DIR="$CACHE/gen-python-sdk-$PULUMI_VERSION-$KEY"
if [ -x "$DIR/gen-python-sdk" ]; then
  echo "$DIR/gen-python-sdk"
  exit 0
fi
echo "berth setup: building tools/gen-python-sdk against pulumi $PULUMI_VERSION (first time only, ~2 min)" >&2
WORK="$DIR/build"
rm -rf "$WORK" && mkdir -p "$WORK"
cp "$SRC" "$WORK/"
cd "$WORK"
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=auto
go mod init berth.local/gen-python-sdk >/dev/null 2>&1
go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" >/dev/null
PKG_MOD="$(go env GOMODCACHE)/cache/download/github.com/pulumi/pulumi/pkg/v3/@v/$PULUMI_VERSION.mod"
grep -E '^replace [^ ]+ => [^.]' "$PKG_MOD" >>go.mod || true
go get "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2
go mod tidy >&2
go build -trimpath -o "$DIR/gen-python-sdk.tmp" . >&2
mv "$DIR/gen-python-sdk.tmp" "$DIR/gen-python-sdk"
rm -rf "$WORK"
echo "$DIR/gen-python-sdk"
