#!/usr/bin/env bash
# npm run bench -- <rollout>: set-up, local cluster, then the benchmark (results in bench/results/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BERTH_CLUSTER="${BERTH_CLUSTER:-bench}"
source scripts/env.sh
bash scripts/cluster.sh start
node dist/bench/index.js "$@"
