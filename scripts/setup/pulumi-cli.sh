#!/usr/bin/env bash
# Provides the Pulumi CLI. Uses one on PATH when present; otherwise builds it from Go modules
# (no Pulumi download site is reachable here) and caches the binary outside the repository,
# keyed by version, so a fresh clone on the same machine reuses it.
# Prints the directory that holds the `pulumi` binary.
set -euo pipefail

PULUMI_VERSION="${BERTH_PULUMI_VERSION:-v3.259.0}"
CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
BIN_DIR="$CACHE/pulumi-$PULUMI_VERSION/bin"

if [ -z "${BERTH_BUILD_PULUMI:-}" ] && command -v pulumi >/dev/null 2>&1; then
  dirname "$(command -v pulumi)"
  exit 0
fi
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
# The official Node.js, Python and Go language hosts cannot be had here (their Go modules are not
# served), so a build of ours gets berth's small implementations of them, the dynamic provider
# script and berth's provider plugin beside the binary: the CLI looks there before PATH, and
# without a warning. Copies, not links, so that several checkouts can share the cache (the scripts
# find their checkout via BERTH_ROOT).
install_plugins() {
  install -m 755 "$REPO/bin/plugins/pulumi-language-nodejs" "$REPO/bin/plugins/pulumi-resource-pulumi-nodejs" \
    "$REPO/bin/plugins/pulumi-language-python" "$REPO/bin/plugins/pulumi-language-go" "$REPO/bin/plugins/pulumi-resource-berth" "$BIN_DIR/"
}
if [ -x "$BIN_DIR/pulumi" ]; then
  install_plugins
  echo "$BIN_DIR"
  exit 0
fi

echo "berth setup: building the Pulumi CLI $PULUMI_VERSION from Go modules (first time only, ~10-20 min)" >&2
WORK="$CACHE/pulumi-$PULUMI_VERSION/build"
rm -rf "$WORK" && mkdir -p "$WORK" "$BIN_DIR"
cd "$WORK"
# GOTOOLCHAIN=auto fetches a newer Go through the module proxy when the local one is too old.
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=auto
go mod init berth.local/pulumi-cli >/dev/null 2>&1
# pkg/go.mod's non-relative replace lines must be repeated in the module that builds it.
go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" >/dev/null
PKG_MOD="$(go env GOMODCACHE)/cache/download/github.com/pulumi/pulumi/pkg/v3/@v/$PULUMI_VERSION.mod"
grep -E '^replace [^ ]+ => [^.]' "$PKG_MOD" >>go.mod || true
go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2
go build -trimpath -o "$BIN_DIR/pulumi.tmp" \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
mv "$BIN_DIR/pulumi.tmp" "$BIN_DIR/pulumi"
install_plugins
echo "$BIN_DIR"
