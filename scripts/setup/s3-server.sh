#!/usr/bin/env bash
# Provides an S3-compatible server for the tests that keep Pulumi state in object storage: moto's
# server mode (PyPI; no MinIO or other S3 server is packaged in Debian or npm here), in a virtualenv
# cached outside the repository and keyed by version. Prints the directory of `moto_server`.
set -euo pipefail
MOTO_VERSION="${BERTH_MOTO_VERSION:-5.2.5}"
CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
VENV="$CACHE/moto-$MOTO_VERSION"
if [ ! -x "$VENV/bin/moto_server" ]; then
  echo "berth setup: S3 server (moto[server]==$MOTO_VERSION)" >&2
  python3 -c 'import ensurepip, venv' 2>/dev/null || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2; }
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
echo "$VENV/bin"
