#!/usr/bin/env bash
# Local berth cluster on one machine. Several can run side by side, each named by BERTH_CLUSTER
# (default "demo") and numbered K (demo 0, test 1, bench 2, any other name 10..209):
#   - bridge berthK (10.231.K.1/24) in the root namespace;
#   - N "hosts": network namespace berth-h$i (cluster demo) or bK-h$i (others), 10.231.K.$((10+i)),
#     each with its own dockerd;
#   - a registry (Debian docker-registry) at 10.231.K.1:5000 with the demo images;
#   - a CA of the cluster and a registry certificate it signed (for the rotation's bucket registries),
#     the CA in each host's trust store;
#   - two HAProxy SLBs (master-worker) whose configs other code extends; listeners go on 127.0.K.1.
# So the test suite (cluster "test") and benchmarks (cluster "bench") never touch the demo's hosts.
# Usage: scripts/cluster.sh start|stop [--purge]|status|clean|path
# Env: BERTH_CLUSTER, BERTH_HOSTS (default 3), BERTH_REBUILD_IMAGES=1 (rebuild and push the demo images).
# Runtime files: /run/berth[-NAME]; data: /var/lib/berth[-NAME]; logs: /var/log/berth[-NAME].
# Traffic stays on loopback and 10.231.K.0/24.
set -euo pipefail

readonly CLUSTER="${BERTH_CLUSTER:-demo}"
[[ "$CLUSTER" =~ ^[a-z][a-z0-9]{0,11}$ ]] || { echo "berth cluster: BERTH_CLUSTER must be 1-12 lowercase letters/digits, got '$CLUSTER'" >&2; exit 2; }
cluster_index() {
  case "$1" in
    demo) echo 0 ;;
    test) echo 1 ;;
    bench) echo 2 ;;
    *) echo $((10 + $(cksum <<<"$1" | cut -d' ' -f1) % 200)) ;;
  esac
}
readonly K=$(cluster_index "$CLUSTER")
if [[ $K == 0 ]]; then readonly SUFFIX="" HOST_PREFIX=berth-h; else readonly SUFFIX="-$CLUSTER" HOST_PREFIX="b$K-h"; fi
readonly RUN_DIR=/run/berth$SUFFIX
readonly DATA_DIR=/var/lib/berth$SUFFIX
readonly LOG_DIR=/var/log/berth$SUFFIX
readonly LOCK_FILE=/run/lock/berth-cluster$SUFFIX.lock
readonly NETNS_DIR=/var/run/netns
readonly BRIDGE=berth$K
readonly SUBNET=10.231.$K
readonly BRIDGE_ADDR=$SUBNET.1
readonly NET_PREFIX=24
readonly SLB_ADDRESS=127.0.$K.1
readonly REGISTRY="$BRIDGE_ADDR:5000"
# Plain-HTTP registries, each by host:port: the demo images' and the two the credential tests run.
# Any other registry (the rotation's bucket registries, behind a stable address or at their own
# ports) must present a certificate the host trusts.
readonly INSECURE_REGISTRIES=("$REGISTRY" "$BRIDGE_ADDR:5001" "$BRIDGE_ADDR:5002")
readonly SYSTEM_CERT_DIR=/etc/ssl/certs
readonly IMAGE_REPO=berth-demo
readonly IMAGE_TAGS=(v1 v2 unhealthy)
readonly SLBS=(slb1 slb2)
readonly ZONES=(zone-a zone-b zone-c)
readonly DEADLINE=60          # seconds to wait for any daemon to answer
readonly SELFTEST_PORT=18081
readonly BUSYBOX=/bin/busybox # from Debian busybox-static: must be static to run FROM scratch

# start: BERTH_HOSTS or 3. status/clean: BERTH_HOSTS or as many as the running cluster has.
HOSTS="${BERTH_HOSTS:-3}"

# The docker CLI must talk only to the socket we name.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

log() { echo "berth cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Naming

host_ns() { echo "$HOST_PREFIX$1"; }             # netns name, also the root-side veth name
host_addr() { echo "$SUBNET.$((10 + $1))"; }
host_run() { echo "$RUN_DIR/h$1"; }
host_data() { echo "$DATA_DIR/h$1"; }
host_sock() { echo "$RUN_DIR/h$1/docker.sock"; }
host_log() { echo "$LOG_DIR/h$1-dockerd.log"; }
host_zone() { echo "${ZONES[$((($1 - 1) % ${#ZONES[@]}))]}"; }
slb_run() { echo "$RUN_DIR/$1"; }
slb_cfg() { echo "$DATA_DIR/$1/haproxy.cfg"; }
slb_log() { echo "$LOG_DIR/$1-haproxy.log"; }
registry_cfg() { echo "$DATA_DIR/registry/config.yml"; }
pki_dir() { echo "$DATA_DIR/pki"; }
host_trust() { echo "$(host_data "$1")-trust"; } # the host's own CA directory (its OS trust store)
image_ref() { echo "$REGISTRY/$IMAGE_REPO:$1"; }

# docker CLI against host $1.
dk() {
  local i=$1
  shift
  docker -H "unix://$(host_sock "$i")" "$@"
}

# Escapes a literal for use in an extended regular expression.
re_escape() { sed 's/[][\.*^$()+?{}|]/\\&/g' <<<"$1"; }

# ---------------------------------------------------------------------------------------------
# Small Node helpers: there is no nc/socat on these machines, Node is.

# sock_cmd SOCKET COMMAND: sends one command to a HAProxy CLI socket, prints the answer.
# The master CLI answers only after the client half-closes, hence end() right after writing.
sock_cmd() {
  node -e '
    const net = require("net");
    const [path, cmd] = process.argv.slice(1);
    const s = net.createConnection(path, () => s.end(cmd + "\n"));
    let out = "";
    s.on("data", (d) => (out += d));
    s.on("close", () => { process.stdout.write(out); process.exit(0); });
    s.on("error", (e) => { console.error(e.message); process.exit(1); });
    setTimeout(() => { console.error("timeout"); process.exit(2); }, 5000);
  ' "$1" "$2"
}

# http_get URL: prints the body; fails unless the status is 2xx (like curl -f).
http_get() {
  node -e '
    const http = require("http");
    const req = http.get(process.argv[1], { timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => { process.stdout.write(body); process.exit(res.statusCode < 300 ? 0 : 22); });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => { console.error(e.message); process.exit(1); });
  ' "$1"
}

# registry_has_tags TAG...: succeeds when the demo repository in the registry has every tag.
registry_has_tags() {
  http_get "http://$REGISTRY/v2/$IMAGE_REPO/tags/list" 2>/dev/null | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d));
    process.stdin.on("end", () => {
      let tags = [];
      try { tags = JSON.parse(s).tags || []; } catch (e) {}
      process.exit(process.argv.slice(1).every((t) => tags.includes(t)) ? 0 : 1);
    });
  ' "$@"
}

# ---------------------------------------------------------------------------------------------
# Processes. Daemons are found through /proc by an argument only they have (their own socket or
# config path), so a missing or stale pidfile never makes us lose or misidentify one.

# proc_pids EXE ARG_ERE: pids whose executable is named EXE and one of whose arguments matches.
proc_pids() {
  local exe=$1 arg_re=$2 f pid
  { grep -lzxE -- "$arg_re" /proc/[0-9]*/cmdline 2>/dev/null || true; } | while read -r f; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */"$exe"* ]] && alive "$pid"; then
      echo "$pid"
    fi
  done
}

dockerd_pids() { proc_pids dockerd "$(re_escape "unix://$(host_sock "$1")")"; }
registry_pids() { proc_pids docker-registry "$(re_escape "$(registry_cfg)")"; }
haproxy_pids() { proc_pids haproxy "$(re_escape "$(slb_cfg "$1")")"; }

# alive PID: the process exists and is not a zombie (our init reaps orphans slowly).
alive() {
  local state
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# with_descendants PID...: the pids and all their descendants (children of killed daemons, such
# as containerd shims, must not be left behind).
with_descendants() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
    { sub(/ \(.*\) /, " x "); parent[$1] = $4 }
    END {
      n = split(roots, queue, " ")
      for (k = 1; k <= n; k++) seen[queue[k]] = 1
      for (k = 1; k <= n; k++)
        for (p in parent) if (parent[p] == queue[k] && !(p in seen)) { seen[p] = 1; queue[++n] = p }
      for (k = 1; k <= n; k++) print queue[k]
    }'
}

# terminate WHAT TIMEOUT PID...: TERM, wait up to TIMEOUT seconds, then KILL them and their
# descendants.
terminate() {
  local what=$1 timeout=$2 pid left
  shift 2
  [[ $# -gt 0 ]] || return 0
  log "stopping $what (pid $*)"
  kill -TERM "$@" 2>/dev/null || true
  local end=$((SECONDS + timeout))
  while :; do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    [[ ${#left[@]} -eq 0 ]] && return 0
    [[ $SECONDS -ge $end ]] && break
    sleep 0.1
  done
  log "$what did not exit within ${timeout}s: killing it"
  # shellcheck disable=SC2046
  kill -KILL $(with_descendants "${left[@]}") 2>/dev/null || true
  end=$((SECONDS + 10))
  for pid in "${left[@]}"; do
    while alive "$pid" && [[ $SECONDS -lt $end ]]; do sleep 0.1; done
  done
}

# wait_for WHAT LOGFILE PIDS_CMD CHECK...: polls CHECK until it succeeds, for up to $DEADLINE
# seconds; fails early (with the log tail) when PIDS_CMD (a command line, word-split) finds the
# daemon gone. Until the launcher has exec'd the daemon (through nsenter, runuser...) PIDS_CMD finds
# nothing: while the process launch started for LOGFILE lives, the daemon counts as starting.
wait_for() {
  local what=$1 logfile=$2 pids_cmd=$3
  shift 3
  local end=$((SECONDS + DEADLINE))
  until "$@" >/dev/null 2>&1; do
    if [[ -z "$($pids_cmd)" ]] && ! alive "${LAUNCHED[$logfile]:-0}"; then
      log "$what exited; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      die "$what did not start"
    fi
    if [[ $SECONDS -ge $end ]]; then
      log "$what did not answer within ${DEADLINE}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      die "$what did not start"
    fi
    sleep 0.2
  done
}

# launch LOGFILE CMD...: starts a daemon in its own session so that it outlives this script.
# fd 9 (our lock) is closed so the daemon does not hold the lock forever; stdio goes to the log
# so a caller reading our output does not wait for the daemon. LAUNCHED[LOGFILE] keeps its pid.
declare -A LAUNCHED=()
launch() {
  local logfile=$1
  shift
  (cd / && exec setsid "$@" </dev/null >>"$logfile" 2>&1 9>&-) &
  LAUNCHED[$logfile]=$!
}

# umount_under DIR: unmounts whatever a killed dockerd left under DIR (deepest first).
umount_under() {
  local dir=$1 mp
  awk '{print $5}' /proc/self/mountinfo | { grep -E "^$(re_escape "$dir")(/|$)" || true; } |
    sort -r | while read -r mp; do
      umount -l "$mp" 2>/dev/null || log "warning: could not unmount $mp"
    done
}

# ---------------------------------------------------------------------------------------------
# Network

# Root-namespace FORWARD rules. With br_netfilter loaded, bridged frames between hosts traverse
# the root FORWARD chain, which a root dockerd sets to DROP: accept them. And should the root
# namespace forward (a root dockerd enables ip_forward), hosts' traffic must still never leave the
# bridge (only loopback and 10.231.K.0/24 may see test traffic): drop it.
readonly FORWARD_RULES=("-i $BRIDGE -o $BRIDGE -j ACCEPT" "-i $BRIDGE ! -o $BRIDGE -j DROP")

ensure_forward_rules() {
  command -v iptables >/dev/null || return 0
  local rule
  for rule in "${FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086
    iptables -w -C FORWARD $rule 2>/dev/null ||
      iptables -w -I FORWARD 1 $rule ||
      log "warning: could not add iptables rule: FORWARD $rule"
  done
}

remove_forward_rules() {
  command -v iptables >/dev/null || return 0
  local rule
  for rule in "${FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086
    while iptables -w -D FORWARD $rule 2>/dev/null; do :; done
  done
}

ensure_bridge() {
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$BRIDGE_ADDR/$NET_PREFIX" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  ensure_forward_rules
}

# ifindex of the veth peer ("eth0@if12" -> 12), or nothing.
peer_index() { sed -nE 's/^[0-9]+: [^@]+@if([0-9]+):.*/\1/p'; }
link_index() { sed -nE 's/^([0-9]+): .*/\1/p'; }

# ensure_host_net I: netns, veth pair (root side on the bridge), address, default route.
ensure_host_net() {
  local i=$1 ns veth
  ns=$(host_ns "$i")
  veth=$ns
  if [[ ! -e "$NETNS_DIR/$ns" ]]; then
    log "creating netns $ns"
    ip netns add "$ns"
  fi
  # The pair is right only if the netns' eth0 is the peer of our root-side veth (a recreated
  # netns, or a deleted root side, breaks that).
  local root_idx ns_peer
  root_idx=$(ip -o link show dev "$veth" 2>/dev/null | link_index || true)
  ns_peer=$(ip -n "$ns" -o link show dev eth0 2>/dev/null | peer_index || true)
  if [[ -z "$root_idx" || "$root_idx" != "$ns_peer" ]]; then
    log "creating veth $veth <-> $ns:eth0"
    ip link del "$veth" 2>/dev/null || true
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    # A new eth0 has a new MAC: forget the old one, or the first connections go nowhere until the
    # stale neighbor entry is probed again (seconds).
    ip neigh flush to "$(host_addr "$i")" 2>/dev/null || true
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$(host_addr "$i")/$NET_PREFIX" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "$BRIDGE_ADDR"
}

# ---------------------------------------------------------------------------------------------
# dockerd per host

dockerd_answers() { dk "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Is the dockerd (pid $2) of host $1 in the host's current netns? Not after the netns was
# recreated: it must then be restarted.
dockerd_in_netns() {
  local ns_file
  ns_file="$NETNS_DIR/$(host_ns "$1")"
  [[ "$(stat -L -c %i "$ns_file" 2>/dev/null)" == "$(stat -L -c %i "/proc/$2/ns/net" 2>/dev/null)" ]]
}

# ensure_dockerd I [DOCKERD_ARG...]: starts host I's dockerd (with any extra arguments) unless a
# right one runs; does not wait for it.
ensure_dockerd() {
  local i=$1 pids
  pids=$(dockerd_pids "$i")
  if [[ -n "$pids" ]]; then
    if ! dockerd_in_netns "$i" "${pids%%$'\n'*}"; then
      log "dockerd of h$i runs in a stale network namespace: restarting it"
    elif ! tr '\0' '\n' <"/proc/${pids%%$'\n'*}/environ" | grep -xF "SSL_CERT_DIR=$SYSTEM_CERT_DIR:$(host_trust "$i")" >/dev/null; then
      # Started by an older cluster.sh (the whole subnet an insecure registry, no cluster CA).
      log "dockerd of h$i runs with older options: restarting it"
    else
      return 0
    fi
    stop_dockerd "$i"
  fi
  # A dockerd killed earlier may have left its containerd (and shims) in the netns; a fresh
  # dockerd would fight them over the same state directory.
  kill_netns_leftovers "$i"
  mkdir -p "$(host_run "$i")" "$(host_data "$i")"
  # dockerd refuses to start while its pidfile names a live pid, and waits for (rather than
  # starts) its containerd while containerd.pid does; a killed daemon lingers as a zombie here
  # (our init reaps slowly). None of this host's processes runs now: those files are stale.
  rm -f "$(host_sock "$i")" "$(host_run "$i")/docker.pid" "$(host_run "$i")/exec/containerd/containerd.pid"
  log "starting dockerd for h$i ($(host_addr "$i"))"
  # NO_PROXY: pulls from our registry must never go through a proxy.
  # SSL_CERT_DIR: the system's CAs and the host's own trust directory, which holds the cluster CA
  # (dockerd reads it once, at start), so registries it signed are trusted at any port.
  trust_cluster_ca "$i"
  launch "$(host_log "$i")" env -u AWS_CA_BUNDLE \
    SSL_CERT_DIR="$SYSTEM_CERT_DIR:$(host_trust "$i")" \
    NO_PROXY="$BRIDGE_ADDR,$SUBNET.0/24${NO_PROXY:+,$NO_PROXY}" \
    no_proxy="$BRIDGE_ADDR,$SUBNET.0/24${no_proxy:+,$no_proxy}" \
    nsenter --net="$NETNS_DIR/$(host_ns "$i")" \
    dockerd \
    --host "unix://$(host_sock "$i")" \
    --data-root "$(host_data "$i")" \
    --exec-root "$(host_run "$i")/exec" \
    --pidfile "$(host_run "$i")/docker.pid" \
    "${INSECURE_REGISTRIES[@]/#/--insecure-registry=}" \
    --containerd-namespace "$(host_ns "$i")" \
    --containerd-plugins-namespace "$(host_ns "$i")-plugins" \
    "${@:2}"
  # (--containerd-*namespace keeps hosts apart should a system containerd be shared.)
}

# trust_cluster_ca I: the cluster CA in host I's trust directory, as a team's configuration
# management installs its CA on every node (update-ca-certificates).
trust_cluster_ca() {
  mkdir -p "$(host_trust "$1")"
  cp "$(pki_dir)/ca.crt" "$(host_trust "$1")/berth-$CLUSTER-ca.crt"
}

wait_dockerd() {
  wait_for "dockerd h$1" "$(host_log "$1")" "dockerd_pids $1" dockerd_answers "$1"
}

# kill_netns_leftovers I: kills every process still in host I's netns (containerd, shims,
# docker-proxy of a dead dockerd) with their descendants (container processes). No TERM first:
# they are orphans whose dockerd is gone, and httpd as a container's PID 1 ignores TERM anyway.
kill_netns_leftovers() {
  local ns pids pid
  ns=$(host_ns "$1")
  [[ -e "$NETNS_DIR/$ns" ]] || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [[ -n "$pids" ]] || return 0
  # shellcheck disable=SC2086
  pids=$(with_descendants $pids)
  log "killing leftover processes of $ns (pid" $pids")"
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  local end=$((SECONDS + 10))
  for pid in $pids; do
    while alive "$pid" && [[ $SECONDS -lt $end ]]; do sleep 0.1; done
  done
}

# remove_containers I [FILTER...]: removes host I's containers (those docker ps FILTERs select).
remove_containers() {
  local i=$1 ids
  shift
  ids=$(timeout 30 docker -H "unix://$(host_sock "$i")" ps -aq "$@" 2>/dev/null || true)
  [[ -n "$ids" ]] || return 0
  log "removing $(wc -w <<<"$ids") container(s) on h$i"
  # shellcheck disable=SC2086
  timeout 120 docker -H "unix://$(host_sock "$i")" rm -f -v $ids >/dev/null ||
    log "warning: could not remove every container on h$i"
}

stop_dockerd() {
  local i=$1
  # shellcheck disable=SC2046
  terminate "dockerd h$i" 30 $(dockerd_pids "$i")
}

# stop_host I: containers, dockerd, leftovers, mounts, netns, veth.
stop_host() {
  local i=$1
  if [[ -n "$(dockerd_pids "$i")" ]] && dockerd_answers "$i"; then
    remove_containers "$i"
  fi
  stop_dockerd "$i"
  kill_netns_leftovers "$i"
  umount_under "$(host_run "$i")"
  umount_under "$(host_data "$i")"
  if [[ -e "$NETNS_DIR/$(host_ns "$i")" ]]; then
    log "deleting netns $(host_ns "$i")"
    ip netns del "$(host_ns "$i")" || true
  fi
  ip link del "$(host_ns "$i")" 2>/dev/null || true
  rm -rf --one-file-system "$(host_run "$i")"
}

# Host numbers that exist in any form (netns, veth, run dir, dockerd), for stop and for trimming
# hosts beyond BERTH_HOSTS.
existing_hosts() {
  {
    # (|| true: under pipefail one failing source must not end this subshell early)
    { ip netns list 2>/dev/null || true; } | sed -nE "s/^$HOST_PREFIX([0-9]+)( .*)?\$/\\1/p"
    { ip -o link show 2>/dev/null || true; } | sed -nE "s/^[0-9]+: $HOST_PREFIX([0-9]+)[@:].*/\\1/p"
    { find "$RUN_DIR" -maxdepth 1 -name 'h[0-9]*' -printf '%f\n' 2>/dev/null || true; } | sed -nE 's/^h([0-9]+)$/\1/p'
    local pid re
    re="$(re_escape "unix://$RUN_DIR")/h([0-9]+)/docker\.sock"
    for pid in $(proc_pids dockerd "$re"); do
      { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | sed -nE "s#^$re\$#\\1#p" || true
    done
  } | sort -nu
}

# ---------------------------------------------------------------------------------------------
# PKI: the cluster's CA, and a registry certificate it signs for the bridge address (where the
# load balancers listen) and every host's address (where bucket registries answer at their own
# ports). Made once; the certificate again when the hosts change.

registry_cert_sans() {
  local i sans="IP:$BRIDGE_ADDR"
  for ((i = 1; i <= HOSTS; i++)); do sans+=",IP:$(host_addr "$i")"; done
  echo "$sans"
}

ensure_pki() {
  local dir sans
  dir=$(pki_dir)
  sans=$(registry_cert_sans)
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [[ ! -f "$dir/ca.crt" || ! -f "$dir/ca.key" ]]; then
    log "creating the CA of cluster $CLUSTER"
    quietly openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=berth $CLUSTER CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" || die "could not create the cluster CA"
    rm -f "$dir/registry.crt"
  fi
  [[ -f "$dir/registry.crt" && -f "$dir/registry.key" && "$(cat "$dir/registry.sans" 2>/dev/null)" == "$sans" ]] && return 0
  log "issuing the registry certificate ($sans)"
  quietly openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=berth $CLUSTER registry" \
    -keyout "$dir/registry.key" -out "$dir/registry.csr" || die "could not create the registry key"
  quietly openssl x509 -req -in "$dir/registry.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 825 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans") -out "$dir/registry.crt" ||
    die "could not issue the registry certificate"
  rm -f "$dir/registry.csr"
  echo "$sans" >"$dir/registry.sans"
}

# ---------------------------------------------------------------------------------------------
# Registry

write_registry_config() {
  mkdir -p "$DATA_DIR/registry/data"
  cat >"$(registry_cfg)" <<EOF
# Written by scripts/cluster.sh
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $DATA_DIR/registry/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

registry_answers() { http_get "http://$REGISTRY/v2/" >/dev/null 2>&1; }

ensure_registry() {
  if [[ -n "$(registry_pids)" ]]; then
    if registry_answers; then return 0; fi
    # Alive but deaf (e.g. the bridge address vanished under it): restart.
    stop_registry
  fi
  command -v docker-registry >/dev/null || die "docker-registry not found (run scripts/setup/system.sh)"
  write_registry_config
  log "starting registry at $REGISTRY"
  # The s3 driver code panics at start when AWS_CA_BUNDLE is set (it is on these machines).
  launch "$LOG_DIR/registry.log" env -u AWS_CA_BUNDLE docker-registry serve "$(registry_cfg)"
  echo $! >"$RUN_DIR/registry.pid"
  wait_for registry "$LOG_DIR/registry.log" registry_pids registry_answers
}

stop_registry() {
  # shellcheck disable=SC2046
  terminate registry 10 $(registry_pids)
}

# ---------------------------------------------------------------------------------------------
# Demo images (FROM scratch: nothing can be pulled here)

# write_image_context DIR VERSION: Dockerfile, busybox and the web root of one demo image.
write_image_context() {
  local dir=$1 version=$2
  mkdir -p "$dir/www/cgi-bin"
  cp "$BUSYBOX" "$dir/busybox"
  cat >"$dir/Dockerfile" <<EOF
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY www /www
COPY serve /bin/serve
LABEL org.berth.demo.version="$version"
EXPOSE 80
CMD ["/bin/serve"]
EOF
  # busybox httpd as PID 1 ignores SIGTERM (no handler), so every stop would wait out the grace
  # period; a real app exits on SIGTERM, and so does this one.
  cat >"$dir/serve" <<'EOF'
#!/bin/sh
httpd -f -p 80 -h /www &
pid=$!
trap 'kill $pid; exit 0' TERM INT
wait $pid
EOF
  chmod 755 "$dir/serve"
  printf 'berth-demo %s' "$version" >"$dir/www/index.html"
  # The "unhealthy" image has no /health, so HTTP checks get 404.
  [[ "$version" == unhealthy ]] || printf 'ok' >"$dir/www/health"
  # Slow endpoint (for drain tests): sleeps $SLOW_SECONDS (container env) or 2 s; a numeric query
  # string (/cgi-bin/slow?5) overrides both.
  cat >"$dir/www/cgi-bin/slow" <<EOF
#!/bin/sh
seconds="\${SLOW_SECONDS:-2}"
case "\$QUERY_STRING" in ''|*[!0-9.]*) ;; *) seconds="\$QUERY_STRING" ;; esac
sleep "\$seconds"
printf 'Content-Type: text/plain\r\n\r\n'
printf 'berth-demo $version slow'
EOF
  cat >"$dir/www/cgi-bin/version" <<EOF
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf '$version %s' "\$(hostname)"
EOF
  chmod 755 "$dir/www/cgi-bin/slow" "$dir/www/cgi-bin/version"
}

# quietly CMD...: runs CMD, shows its output only if it fails.
quietly() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -n 30 >&2
    return 1
  fi
}

build_images() {
  [[ -x "$BUSYBOX" ]] || die "$BUSYBOX not found (Debian busybox-static; run scripts/setup/system.sh)"
  local ctx tag
  mkdir -p "$DATA_DIR"
  ctx=$(mktemp -d "$DATA_DIR/build.XXXXXX")
  for tag in "${IMAGE_TAGS[@]}"; do
    log "building $(image_ref "$tag")"
    write_image_context "$ctx/$tag" "$tag"
    quietly env DOCKER_BUILDKIT=0 docker -H "unix://$(host_sock 1)" build -t "$(image_ref "$tag")" "$ctx/$tag" ||
      { rm -rf "$ctx"; die "building $(image_ref "$tag") failed (is $BUSYBOX static?)"; }
    log "pushing $(image_ref "$tag")"
    quietly dk 1 push "$(image_ref "$tag")" || { rm -rf "$ctx"; die "pushing $(image_ref "$tag") failed"; }
  done
  rm -rf "$ctx"
}

# Runs v1 on h1 with a published port and fetches / through the host address.
selftest_image() {
  local name=berth-selftest url body=""
  url="http://$(host_addr 1):$SELFTEST_PORT/"
  dk 1 rm -f "$name" >/dev/null 2>&1 || true
  quietly dk 1 run -d --name "$name" -p "$SELFTEST_PORT:80" "$(image_ref v1)" || die "self-test container did not start"
  local end=$((SECONDS + 20))
  until body=$(http_get "$url" 2>/dev/null) && [[ "$body" == "berth-demo v1" ]]; do
    if [[ $SECONDS -ge $end ]]; then
      dk 1 rm -f "$name" >/dev/null 2>&1 || true
      die "self-test: $url answered '${body}', expected 'berth-demo v1'"
    fi
    sleep 0.2
  done
  dk 1 rm -f "$name" >/dev/null
  log "self-test passed: $url -> $body"
}

# Bump when the demo images change, so registries that hold older ones get rebuilt images.
readonly IMAGE_REVISION=2
ensure_images() {
  local stamp=$DATA_DIR/registry/demo-images.revision
  if [[ "${BERTH_REBUILD_IMAGES:-0}" != 1 ]] && [[ "$(cat "$stamp" 2>/dev/null)" == "$IMAGE_REVISION" ]] &&
    registry_has_tags "${IMAGE_TAGS[@]}"; then
    return 0
  fi
  build_images
  registry_has_tags "${IMAGE_TAGS[@]}" || die "registry does not list the pushed tags"
  selftest_image
  echo "$IMAGE_REVISION" >"$stamp"
}

# ---------------------------------------------------------------------------------------------
# HAProxy SLBs

# haproxy_base_config WHAT SOCKET_DIR: an HAProxy's base config, its admin socket in SOCKET_DIR.
# Other code appends managed sections between "# berth:begin <name>" and "# berth:end <name>".
haproxy_base_config() {
  cat <<EOF
# HAProxy config of berth $1, base part written by berth's cluster scripts.
# Sections managed by berth follow, each between its begin and end marker lines.
global
    stats socket $2/admin.sock level admin expose-fd listeners
    stats timeout 30s

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 5s
EOF
}

# Start never rewrites an existing file: berth's sections stay.
base_slb_config() { haproxy_base_config "SLB $1" "$(slb_run "$1")"; }

# write_base_slb_config SLB: atomically (a reader never sees half a file).
write_base_slb_config() {
  local cfg
  cfg=$(slb_cfg "$1")
  mkdir -p "$(dirname "$cfg")"
  base_slb_config "$1" >"$cfg.tmp"
  mv "$cfg.tmp" "$cfg"
}

slb_worker_pid() { sock_cmd "$(slb_run "$1")/admin.sock" "show info" 2>/dev/null | sed -n 's/^Pid: //p'; }
slb_answers() { [[ -n "$(slb_worker_pid "$1")" ]]; }

check_slb_config() {
  local out
  out=$(haproxy -c -f "$(slb_cfg "$1")" 2>&1) || { printf '%s\n' "$out" >&2; die "invalid config $(slb_cfg "$1")"; }
}

# ensure_slb SLB: starts it unless it runs; does not wait for it.
ensure_slb() {
  local slb=$1
  if [[ -n "$(haproxy_pids "$slb")" ]]; then
    if slb_answers "$slb"; then return 0; fi
    stop_slb "$slb"
  fi
  mkdir -p "$(slb_run "$slb")"
  [[ -f "$(slb_cfg "$slb")" ]] || write_base_slb_config "$slb"
  check_slb_config "$slb"
  rm -f "$(slb_run "$slb")/admin.sock" "$(slb_run "$slb")/master.sock"
  log "starting $slb"
  # Master-worker in the foreground of its own session (rather than -D) so that its notices and
  # reload errors land in the log file.
  launch "$(slb_log "$slb")" haproxy -W -S "$(slb_run "$slb")/master.sock" \
    -f "$(slb_cfg "$slb")" -p "$(slb_run "$slb")/haproxy.pid"
}

wait_slb() {
  wait_for "$1" "$(slb_log "$1")" "haproxy_pids $1" slb_answers "$1"
}

# reload_slb SLB: seamless reload through the master CLI, then waits for the new worker.
reload_slb() {
  local slb=$1 old new
  check_slb_config "$slb"
  old=$(slb_worker_pid "$slb" || true)
  [[ -n "$old" ]] || die "$slb does not answer (run: $0 start)"
  sock_cmd "$(slb_run "$slb")/master.sock" reload >/dev/null || die "$slb: reload command failed"
  local end=$((SECONDS + 15))
  until new=$(slb_worker_pid "$slb") && [[ -n "$new" && "$new" != "$old" ]]; do
    if [[ $SECONDS -ge $end ]]; then
      tail -n 20 "$(slb_log "$slb")" >&2 || true
      die "$slb: no new worker after reload"
    fi
    sleep 0.1
  done
  log "$slb reloaded (worker $old -> $new)"
}

stop_slb() {
  # Master and workers share the command line; TERM to all stops them at once.
  # shellcheck disable=SC2046
  terminate "$1" 10 $(haproxy_pids "$1")
}

# ---------------------------------------------------------------------------------------------
# cluster.json

write_cluster_json() {
  local tmp="$RUN_DIR/cluster.json.tmp"
  node -e '
    const [cluster, n, registry, repo, runDir, dataDir, zones, slbs, tags, subnet, prefix, slbAddress, pkiDir] = process.argv.slice(1);
    const zs = zones.split(" ");
    const hosts = [];
    for (let i = 1; i <= Number(n); i++) {
      hosts.push({ name: `h${i}`, docker: `unix://${runDir}/h${i}/docker.sock`,
        address: `${subnet}.${10 + i}`, zone: zs[(i - 1) % zs.length],
        netns: `/var/run/netns/${prefix}${i}`, pidFile: `${runDir}/h${i}/docker.pid` });
    }
    const images = {};
    for (const t of tags.split(" ")) images[t] = `${registry}/${repo}:${t}`;
    const slbList = slbs.split(" ").map((s) => ({ name: s,
      adminSocket: `${runDir}/${s}/admin.sock`, masterSocket: `${runDir}/${s}/master.sock`,
      configPath: `${dataDir}/${s}/haproxy.cfg`, address: slbAddress }));
    // The cluster CA, and the registry certificate and key it signed (for bucket registries).
    const pki = { ca: `${pkiDir}/ca.crt`, certificate: `${pkiDir}/registry.crt`, key: `${pkiDir}/registry.key` };
    process.stdout.write(JSON.stringify({ cluster, hosts, registry, images, slbs: slbList, pki }, null, 2) + "\n");
  ' "$CLUSTER" "$HOSTS" "$REGISTRY" "$IMAGE_REPO" "$RUN_DIR" "$DATA_DIR" "${ZONES[*]}" "${SLBS[*]}" "${IMAGE_TAGS[*]}" \
    "$SUBNET" "$HOST_PREFIX" "$SLB_ADDRESS" "$(pki_dir)" >"$tmp"
  mv "$tmp" "$RUN_DIR/cluster.json"
}

# ---------------------------------------------------------------------------------------------
# Subcommands

require_binaries() {
  local b missing=()
  for b in ip nsenter dockerd docker haproxy docker-registry node setsid flock iptables; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  [[ -x "$BUSYBOX" ]] || missing+=("$BUSYBOX")
  [[ ${#missing[@]} -eq 0 ]] || die "missing: ${missing[*]} (run scripts/setup/system.sh)"
}

validate_hosts() {
  [[ "$HOSTS" =~ ^[0-9]+$ && "$HOSTS" -ge 1 && "$HOSTS" -le 200 ]] || die "BERTH_HOSTS must be 1..200, got '$HOSTS'"
}

# Without BERTH_HOSTS, status and clean look at the hosts the last start described.
hosts_of_running_cluster() {
  local n
  [[ -z "${BERTH_HOSTS:-}" && -f "$RUN_DIR/cluster.json" ]] || return 0
  n=$(grep -cE '"name": "h[0-9]+"' "$RUN_DIR/cluster.json" || true)
  [[ "$n" -gt 0 ]] && HOSTS=$n
  return 0
}

# Serialises start/stop/clean: two concurrent runs would race on netns and daemons.
take_lock() {
  mkdir -p "$(dirname "$LOCK_FILE")"
  exec 9>"$LOCK_FILE"
  flock -w 600 9 || die "another cluster.sh holds $LOCK_FILE"
}

cmd_start() {
  validate_hosts
  require_binaries
  take_lock
  local t0=$SECONDS i slb
  mkdir -p "$RUN_DIR" "$DATA_DIR" "$LOG_DIR"
  # Hosts beyond BERTH_HOSTS (from an earlier, larger start) would not be in cluster.json.
  for i in $(existing_hosts); do
    if [[ "$i" -gt "$HOSTS" ]]; then
      log "removing h$i (beyond BERTH_HOSTS=$HOSTS)"
      stop_host "$i"
    fi
  done
  ensure_bridge
  ensure_pki
  # Start everything first, then wait: the daemons come up in parallel.
  for ((i = 1; i <= HOSTS; i++)); do
    ensure_host_net "$i"
    ensure_dockerd "$i"
  done
  for slb in "${SLBS[@]}"; do ensure_slb "$slb"; done
  ensure_registry
  for ((i = 1; i <= HOSTS; i++)); do wait_dockerd "$i"; done
  for slb in "${SLBS[@]}"; do wait_slb "$slb"; done
  ensure_images
  write_cluster_json
  log "cluster up: $HOSTS host(s), registry $REGISTRY, ${SLBS[*]} ($((SECONDS - t0)) s); see $RUN_DIR/cluster.json"
}

cmd_stop() {
  local purge=0 i slb
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "usage: $0 stop [--purge]" ;;
  esac
  take_lock
  for i in $(existing_hosts); do stop_host "$i"; done
  # The remote-node test hosts (scripts/remote-hosts.sh), if a test left them.
  for i in tls ssh; do [[ ! -e "$NETNS_DIR/$(host_ns "$i")" ]] || stop_host "$i"; done
  for slb in "${SLBS[@]}"; do
    stop_slb "$slb"
    rm -rf "${DATA_DIR:?}/$slb"
  done
  stop_registry
  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    log "deleting bridge $BRIDGE"
    ip link del "$BRIDGE"
  fi
  remove_forward_rules
  rm -rf --one-file-system "$RUN_DIR"
  if [[ $purge == 1 && -d "$DATA_DIR" ]]; then
    umount_under "$DATA_DIR"
    if awk '{print $5}' /proc/self/mountinfo | grep -E "^$(re_escape "$DATA_DIR")(/|$)" >/dev/null; then
      die "mounts remain under $DATA_DIR; not purging"
    fi
    log "purging $DATA_DIR"
    rm -rf --one-file-system "$DATA_DIR"
  fi
  log "cluster stopped"
}

# strip_berth_sections SLB: removes the sections berth manages (between its begin and end
# markers) from the SLB's config, atomically; succeeds only when it changed the file.
strip_berth_sections() {
  local cfg
  cfg=$(slb_cfg "$1")
  awk '/^# berth:begin /{skip=1} !skip{print} /^# berth:end /{skip=0}' "$cfg" >"$cfg.tmp"
  if cmp -s "$cfg" "$cfg.tmp"; then
    rm -f "$cfg.tmp"
    return 1
  fi
  mv "$cfg.tmp" "$cfg"
}

# clean: removes what berth manages (containers labelled berth.managed=true, the berth sections of
# each SLB config) and nothing else, leaving the cluster running: the tests' clean slate.
cmd_clean() {
  hosts_of_running_cluster
  validate_hosts
  take_lock
  local i slb
  for ((i = 1; i <= HOSTS; i++)); do
    dockerd_answers "$i" || die "dockerd h$i does not answer (run: $0 start)"
    remove_containers "$i" --filter label=berth.managed=true
  done
  for slb in "${SLBS[@]}"; do
    slb_answers "$slb" || die "$slb does not answer (run: $0 start)"
    if strip_berth_sections "$slb"; then reload_slb "$slb"; fi
  done
  log "clean: no berth containers, no berth sections in the SLB configs"
}

cmd_status() {
  hosts_of_running_cluster
  validate_hosts
  local ok=0 i slb state pids ver
  report() { # PART STATE: prints one line; any state but "up" makes status fail
    printf '%-13s %s\n' "$1" "$2"
    [[ "$2" == up* ]] || ok=1
  }
  # (grep without -q: an early exit would make ip fail with SIGPIPE under pipefail)
  if ip -o addr show dev "$BRIDGE" 2>/dev/null | grep "inet $BRIDGE_ADDR/$NET_PREFIX" >/dev/null; then
    report "$BRIDGE" "up ($BRIDGE_ADDR/$NET_PREFIX)"
  else
    report "$BRIDGE" "down"
  fi
  for ((i = 1; i <= HOSTS; i++)); do
    if [[ ! -e "$NETNS_DIR/$(host_ns "$i")" ]]; then
      state="down (no netns $(host_ns "$i"))"
    elif ! ip -n "$(host_ns "$i")" -o addr show dev eth0 2>/dev/null | grep "inet $(host_addr "$i")/" >/dev/null; then
      state="down (no address $(host_addr "$i") in $(host_ns "$i"))"
    elif [[ -z "$(dockerd_pids "$i")" ]]; then
      state="down (dockerd not running)"
    elif ver=$(dk "$i" version --format '{{.Server.Version}}' 2>/dev/null); then
      state="up ($(host_addr "$i"), $(host_zone "$i"), dockerd $ver)"
    else
      state="down (dockerd does not answer)"
    fi
    report "h$i" "$state"
  done
  if ! registry_answers; then
    report registry "down ($REGISTRY)"
  elif registry_has_tags "${IMAGE_TAGS[@]}"; then
    report registry "up ($REGISTRY, images ${IMAGE_TAGS[*]})"
  else
    report registry "down ($REGISTRY answers but lacks some of ${IMAGE_TAGS[*]})"
  fi
  for slb in "${SLBS[@]}"; do
    pids=$(slb_worker_pid "$slb" || true)
    if [[ -n "$pids" ]]; then
      report "$slb" "up (worker pid $pids, $(slb_cfg "$slb"))"
    else
      report "$slb" "down"
    fi
  done
  if [[ -f "$RUN_DIR/cluster.json" ]]; then
    report cluster.json "up ($RUN_DIR/cluster.json)"
  else
    report cluster.json "missing"
  fi
  return $ok
}

main() {
  [[ $EUID -eq 0 ]] || die "must run as root"
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status ;;
    clean) cmd_clean ;;
    path) echo "$RUN_DIR/cluster.json" ;;
    *)
      echo "usage: $0 start|stop [--purge]|status|clean|path   (env: BERTH_CLUSTER, BERTH_HOSTS, BERTH_REBUILD_IMAGES=1)" >&2
      exit 2
      ;;
  esac
}

# scripts/remote-hosts.sh sources this file for its functions.
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
