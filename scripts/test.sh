#!/usr/bin/env bash
# npm test [-- mocha args]: set-up, local cluster, then every test: unit, integration and
# end-to-end, then the README's walk-through through the demo CLI (last: it must not see leftovers
# of the others, and the others must not see its stack).
# BERTH_TEST_JOBS=N (default 1) splits the integration and end-to-end files over N mocha processes,
# each on a cluster of its own (BERTH_CLUSTER, then BERTH_CLUSTER2...): see the README for when that helps.
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite runs on hosts of its own (cluster "test"): it never touches the demo's.
export BERTH_CLUSTER="${BERTH_CLUSTER:-test}"
source scripts/lib/step.sh
t0=$SECONDS
bash scripts/setup.sh
source scripts/env.sh
jobs="${BERTH_TEST_JOBS:-1}"
lane_cluster() { if [ "$1" -eq 0 ]; then echo "$BERTH_CLUSTER"; else echo "$BERTH_CLUSTER$(($1 + 1))"; fi; }
for ((lane = 0; lane < jobs; lane++)); do
  step "local cluster $(lane_cluster $lane) (hosts, registry, SLBs)" env BERTH_CLUSTER="$(lane_cluster $lane)" bash scripts/cluster.sh start
done
if [ $# -gt 0 ]; then
  exec npx mocha "$@"
fi

# lane N FILE...: mocha on lane N's own cluster and Pulumi state; its output goes to the terminal
# once it is done, so that lanes do not interleave.
lane() {
  local n=$1 out rc=0
  shift
  out=$(mktemp)
  env -u PULUMI_BACKEND_URL BERTH_CLUSTER="$(lane_cluster "$n")" bash -c 'source scripts/env.sh && exec npx mocha "$@"' mocha "$@" >"$out" 2>&1 || rc=$?
  echo "==> lane $((n + 1)) of $jobs (cluster $(lane_cluster "$n")): $*"
  cat "$out"
  rm -f "$out"
  return $rc
}

status=0
npx mocha 'dist/test/unit/**/*.test.js' || status=$?
mapfile -t files < <(find dist/test/integration dist/test/e2e -name '*.test.js' | sort)
if [ "$jobs" -le 1 ]; then
  npx mocha "${files[@]}" || status=$?
else
  # Round robin over the sorted files: new files join a lane by themselves.
  pids=()
  for ((n = 0; n < jobs; n++)); do
    mine=()
    for ((i = n; i < ${#files[@]}; i += jobs)); do mine+=("${files[$i]}"); done
    lane "$n" "${mine[@]}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
fi
npx mocha 'dist/test/walkthrough/**/*.test.js' || status=$?
echo "berth: npm test took $(((SECONDS - t0) / 60)) m $(((SECONDS - t0) % 60)) s (set-up log: $BERTH_LOG)" >&2
exit "$status"
