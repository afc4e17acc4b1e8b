#!/usr/bin/env bash
# Provides Pulumi's YAML language host, `pulumi-language-yaml`, for YAML programs that use berth's
# plugin. No Pulumi download site is reachable here, so it is built from its Go module, as the CLI
# is, and cached outside the repository keyed by version. Prints the directory that holds it
# (scripts/env.sh puts it on PATH, where the CLI looks for language hosts it does not bundle).
set -euo pipefail

YAML_VERSION="${BERTH_PULUMI_YAML_VERSION:-v1.25.0}"
CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
BIN_DIR="$CACHE/pulumi-language-yaml-$YAML_VERSION/bin"

if [ ! -x "$BIN_DIR/pulumi-language-yaml" ]; then
  echo "berth setup: building the YAML language host $YAML_VERSION from Go modules (first time only, ~1 min)" >&2
  BUILD="$CACHE/pulumi-language-yaml-$YAML_VERSION/build"
  rm -rf "$BUILD" && mkdir -p "$BUILD" "$BIN_DIR"
  # GOTOOLCHAIN=auto fetches a newer Go through the module proxy when the local one is too old.
  # Built into a scratch directory and moved: an interrupted build never leaves a binary to trust.
  GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=auto GOBIN="$BUILD" \
    go install -trimpath "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$YAML_VERSION" >&2
  mv "$BUILD/pulumi-language-yaml" "$BIN_DIR/"
  rm -rf "$BUILD"
fi
echo "$BIN_DIR"
