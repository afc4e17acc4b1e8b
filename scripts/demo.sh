#!/usr/bin/env bash
# npm run demo [-- up|preview|destroy --image v2 --replicas 5]: set-up, local cluster, pulumi up of the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
bash scripts/cluster.sh start
node dist/scripts/demo.js "$@"
