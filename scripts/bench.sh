#!/usr/bin/env bash
# npm run bench [-- <name>...]: set-up, the benchmarks' own local cluster, then every benchmark (or
# the named ones); results in bench/results/. The cluster is stopped afterwards, so nothing is left.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BERTH_CLUSTER="${BERTH_CLUSTER:-bench}"
source scripts/env.sh
trap 'bash scripts/cluster.sh stop' EXIT
bash scripts/cluster.sh start
node dist/bench/index.js "$@"
