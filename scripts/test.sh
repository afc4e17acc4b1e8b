#!/usr/bin/env bash
# npm test [-- mocha args]: set-up; the fast stage (lint, unit tests); the local cluster and the
# real-host stage (integration and end-to-end); then the README's walk-through through the demo CLI
# (last: it must not see leftovers of the others, and the others must not see its stack).
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite runs on hosts of its own (cluster "test"): it never touches the demo's.
export BERTH_CLUSTER="${BERTH_CLUSTER:-test}"
source scripts/lib/step.sh
t0=$SECONDS
bash scripts/setup.sh
source scripts/env.sh
if [ $# -gt 0 ]; then
  step "local cluster $BERTH_CLUSTER (hosts, registry, SLBs)" bash scripts/cluster.sh start
  exec npx mocha "$@"
fi
# Fast stage (the build ran in set-up): lint and the unit tests, no host needed. A broken build, a
# lint finding or a failing unit test stops here, within minutes.
step "lint (ESLint: rules and layers; Prettier: format)" npm run --silent lint
npx mocha 'dist/test/unit/**/*.test.js'
echo "berth: fast stage passed after $(((SECONDS - t0) / 60)) m $(((SECONDS - t0) % 60)) s" >&2
# Real-host stage. One mocha process, one cluster: two processes on two clusters were 20% faster on
# 2 cores but failed more tests (health checks time out), see the README's "CI budget".
step "local cluster $BERTH_CLUSTER (hosts, registry, SLBs)" bash scripts/cluster.sh start
status=0
npx mocha 'dist/test/integration/**/*.test.js' 'dist/test/e2e/**/*.test.js' || status=$?
npx mocha 'dist/test/walkthrough/**/*.test.js' || status=$?
echo "berth: npm test took $(((SECONDS - t0) / 60)) m $(((SECONDS - t0) % 60)) s (set-up log: $BERTH_LOG)" >&2
exit "$status"
