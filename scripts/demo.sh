#!/usr/bin/env bash
# npm run demo [-- up|preview|destroy --image v2 --replicas 5]: set-up, local cluster, pulumi up of the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
export BERTH_CLUSTER="${BERTH_CLUSTER:-demo}"
source scripts/lib/step.sh
bash scripts/setup.sh
source scripts/env.sh
step "local cluster $BERTH_CLUSTER (hosts, registry, SLBs)" bash scripts/cluster.sh start
node dist/scripts/demo.js "$@"
