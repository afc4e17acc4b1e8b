#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: system packages, Node >= 22, the Pulumi CLI,
# npm dependencies, the compiled package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup/system.sh
source scripts/env.sh
if [ ! -d node_modules/@pulumi/pulumi ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "berth setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
echo "berth setup: compiling" >&2
npx tsc -p .
echo "berth setup: Python SDK from schema.json" >&2
bash scripts/python-sdk.sh >/dev/null
echo "berth setup: node $(node --version), pulumi $(pulumi version)" >&2
