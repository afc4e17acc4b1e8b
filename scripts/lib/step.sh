# Sourced by the entry scripts (demo, test, bench, CI): `step WHAT CMD...` runs one set-up step
# with its output in a log file and prints one line: what, and how long it took. On a failure it
# prints the step's last lines and the log's path, and exits with the step's status.
# The log: BERTH_LOG, by default ~/.cache/berth/logs/<cluster>.log, started afresh by each entry
# script (BERTH_LOG is exported, so nested scripts append to the same log).
if [ -z "${BERTH_LOG:-}" ]; then
  BERTH_LOG="${BERTH_CACHE:-$HOME/.cache/berth}/logs/${BERTH_CLUSTER:-demo}.log"
  mkdir -p "$(dirname "$BERTH_LOG")"
  : >"$BERTH_LOG"
fi
export BERTH_LOG

step() {
  local what=$1 from rc=0 t0 ms
  shift
  from=$(($(wc -l <"$BERTH_LOG") + 1))
  printf '==> %s: %s (%s)\n' "$what" "$*" "$(date '+%F %T')" >>"$BERTH_LOG"
  # The name first, the time when done: a long step shows what is being waited for.
  printf 'berth: %-52s' "$what" >&2
  t0=$(date +%s%N)
  "$@" >>"$BERTH_LOG" 2>&1 </dev/null || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  if [ "$rc" -eq 0 ]; then
    printf '%4d.%d s\n' $((ms / 1000)) $((ms % 1000 / 100)) >&2
    return 0
  fi
  printf 'FAILED after %d.%d s (exit %d); its last lines:\n' $((ms / 1000)) $((ms % 1000 / 100)) "$rc" >&2
  tail -n +"$from" "$BERTH_LOG" | tail -n 25 | sed 's/^/    /' >&2
  printf 'berth: full log: %s\n' "$BERTH_LOG" >&2
  exit "$rc"
}
