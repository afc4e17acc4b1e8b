#!/usr/bin/env bash
# npm test: set-up, local cluster, then every test (unit, integration, end-to-end through the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The suite runs on hosts of its own (cluster "test"): it never touches the demo's.
export BERTH_CLUSTER="${BERTH_CLUSTER:-test}"
source scripts/env.sh
bash scripts/cluster.sh start
if [ $# -eq 0 ]; then
  set -- 'dist/test/unit/**/*.test.js' 'dist/test/integration/**/*.test.js' 'dist/test/e2e/**/*.test.js'
fi
npx mocha "$@"
