#!/usr/bin/env bash
# Generates berth's Python SDK from schema.json into dist/sdk/python (tools/gen-sdk) and
# installs it, without dependencies, into dist/sdk/python-site for the tests and examples
# (PYTHONPATH). Users install dist/sdk/python with pip instead. Prints the site directory.
set -euo pipefail
cd "$(dirname "$0")/.."
GEN="$(bash scripts/setup/go-tool.sh gen-sdk)"
PY="${BERTH_PYTHON:-$(bash scripts/setup/python.sh)/bin/python}"
rm -rf dist/sdk/python dist/sdk/python-site
"$GEN" python schema.json dist/sdk/python
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --target dist/sdk/python-site dist/sdk/python >&2
echo "$PWD/dist/sdk/python-site"
