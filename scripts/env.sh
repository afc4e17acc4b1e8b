# Sourced by every script: puts Node >= 22 and the Pulumi CLI on PATH and
# selects a local file state backend. Run scripts/setup.sh first on a fresh machine.
BERTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BERTH_ROOT
export BERTH_CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
BERTH_NODE_BIN="$(bash "$BERTH_ROOT/scripts/setup/node.sh")"
BERTH_PULUMI_BIN="$(bash "$BERTH_ROOT/scripts/setup/pulumi-cli.sh")"
export BERTH_PULUMI_BIN
# Pulumi's YAML language host: the CLI finds language hosts it does not bundle on PATH.
BERTH_YAML_HOST_BIN="$(bash "$BERTH_ROOT/scripts/setup/yaml-host.sh")"
# The Python that berth's Python language host and Python programs run on (pulumi SDK installed).
BERTH_PYTHON="$(bash "$BERTH_ROOT/scripts/setup/python.sh")/bin/python"
export BERTH_PYTHON
# An S3-compatible server (moto) for the tests that keep Pulumi state in object storage.
BERTH_S3_SERVER_BIN="$(bash "$BERTH_ROOT/scripts/setup/s3-server.sh")/moto_server"
export BERTH_S3_SERVER_BIN
export PATH="$BERTH_NODE_BIN:$BERTH_PULUMI_BIN:$BERTH_YAML_HOST_BIN:$PATH"
# Each local cluster (BERTH_CLUSTER: demo, test, bench, ...) keeps its stacks in its own state
# directory, so the tests' stacks never lock or touch the demo's.
export BERTH_CLUSTER="${BERTH_CLUSTER:-demo}"
if [ "$BERTH_CLUSTER" = demo ]; then BERTH_STATE_DIR="$BERTH_CACHE/state"; else BERTH_STATE_DIR="$BERTH_CACHE/state-$BERTH_CLUSTER"; fi
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$BERTH_STATE_DIR}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-berth-local}"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=1
mkdir -p "$BERTH_STATE_DIR"
