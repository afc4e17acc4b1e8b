#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent and quiet: system packages, Node >= 22, the Pulumi
# CLI, npm dependencies, the compiled package. One line per step; the output goes to $BERTH_LOG.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/step.sh
step "system packages (apt)" bash scripts/setup/system.sh
step "Node >= 22" bash scripts/setup/node.sh
step "Pulumi CLI (first time: built from Go, minutes)" bash scripts/setup/pulumi-cli.sh
step "YAML language host (first time: built from Go)" bash scripts/setup/yaml-host.sh
source scripts/env.sh
npm_dependencies() {
  if [ ! -d node_modules/@pulumi/pulumi ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    echo "node_modules is up to date"
  fi
}
step "npm dependencies" npm_dependencies
# From an empty dist/: tsc leaves the compiled copy of a renamed or deleted file, which mocha would run.
compile() { rm -rf dist && npx tsc -p .; }
step "compile (tsc)" compile
step "Python SDK from schema.json" bash scripts/python-sdk.sh
step "Go SDK from schema.json (go build, go vet)" bash scripts/go-sdk.sh
step "Go language host (first time: built from Go)" bash scripts/setup/go-tool.sh language-go
step "S3 server (moto, for state in object storage)" bash scripts/setup/s3-server.sh
echo "node $(node --version), pulumi $(pulumi version)" >>"$BERTH_LOG"
