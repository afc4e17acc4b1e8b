#!/usr/bin/env bash
# npm run bench -- <rollout>: set-up, local cluster, then the benchmark (results in bench/results/).
set -euo pipefail
cd "$(dirname "$0")/.."
export BERTH_CLUSTER="${BERTH_CLUSTER:-bench}"
source scripts/lib/step.sh
bash scripts/setup.sh
source scripts/env.sh
step "local cluster $BERTH_CLUSTER (hosts, registry, SLBs)" bash scripts/cluster.sh start
node dist/bench/index.js "$@"
