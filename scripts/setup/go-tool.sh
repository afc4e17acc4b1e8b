#!/usr/bin/env bash
# Provides one of berth's Go tools, tools/<name> (gen-sdk: Pulumi's SDK generators as library
# calls; language-go: berth's Go language host), built with the same Pulumi modules as the CLI and
# cached outside the repository, keyed by the Pulumi version and the tool's source.
# Usage: go-tool.sh <name>. Prints the path of the binary.
set -euo pipefail
NAME="$1"
PULUMI_VERSION="${BERTH_PULUMI_VERSION:-v3.259.0}"
CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SRC="$REPO/tools/$NAME"
KEY="$(cat "$SRC"/*.go | sha256sum | cut -c1-12)"
DIR="$CACHE/$NAME-$PULUMI_VERSION-$KEY"
if [ -x "$DIR/$NAME" ]; then
  echo "$DIR/$NAME"
  exit 0
fi
echo "berth setup: building tools/$NAME against pulumi $PULUMI_VERSION (first time only, ~2 min)" >&2
WORK="$DIR/build"
rm -rf "$WORK" && mkdir -p "$WORK"
cp "$SRC"/*.go "$WORK/"
cd "$WORK"
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=auto
go mod init "berth.local/$NAME" >/dev/null 2>&1
# pkg/go.mod's non-relative replace lines must be repeated in the module that builds it.
go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" >/dev/null
PKG_MOD="$(go env GOMODCACHE)/cache/download/github.com/pulumi/pulumi/pkg/v3/@v/$PULUMI_VERSION.mod"
grep -E '^replace [^ ]+ => [^.]' "$PKG_MOD" >>go.mod || true
go get "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2
go mod tidy >&2
go build -trimpath -ldflags "-X main.pulumiVersion=$PULUMI_VERSION" -o "$DIR/$NAME.tmp" . >&2
mv "$DIR/$NAME.tmp" "$DIR/$NAME"
rm -rf "$WORK"
echo "$DIR/$NAME"
