#!/usr/bin/env bash
# Provides a Python virtualenv with the Pulumi Python SDK (PyPI), cached outside the repository
# and keyed by the SDK version, for berth's Python language host and the generated Python SDK.
# Prints the virtualenv's directory.
set -euo pipefail
PULUMI_PY_VERSION="${BERTH_PULUMI_PY_VERSION:-3.259.0}"
CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
VENV="$CACHE/python-pulumi-$PULUMI_PY_VERSION"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import pulumi, parver, setuptools, wheel' 2>/dev/null; then
  echo "berth setup: Python virtualenv with pulumi==$PULUMI_PY_VERSION" >&2
  # Debian ships venv's ensurepip in python3-venv, apart from python3.
  python3 -c 'import ensurepip, venv' 2>/dev/null || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2; }
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pulumi==$PULUMI_PY_VERSION" parver setuptools wheel >&2
fi
echo "$VENV"
