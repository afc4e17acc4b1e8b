#!/usr/bin/env bash
# npm run plugin:package: the provider plugin as a tarball for
#   pulumi plugin install resource berth <version> --file <tarball>
# It holds the launcher at its root, the compiled engines and components (no tests, benchmarks or
# SDKs), schema.json and the production dependencies; where it runs, it needs Node >= 22 on PATH.
# Prints the tarball's path.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -p 'require("./schema.json").version')"
arch="$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
out="$PWD/dist/pulumi-resource-berth-v$version-linux-$arch.tar.gz"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp package.json package-lock.json schema.json "$stage/"
mkdir -p "$stage/dist"
cp -r dist/index.js dist/provider dist/components "$stage/dist/"
# The checkout's modules, pruned to production ones: no network needed.
cp -r node_modules "$stage/"
(cd "$stage" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >&2)
cat >"$stage/pulumi-resource-berth" <<'LAUNCHER'
#!/bin/sh
# berth's provider plugin as `pulumi plugin install` unpacks it: the engines lie beside this script.
exec node "$(dirname "$(readlink -f "$0")")/dist/provider/plugin/main.js" "$@"
LAUNCHER
chmod +x "$stage/pulumi-resource-berth"
tar -czf "$out" -C "$stage" .
echo "$out"
