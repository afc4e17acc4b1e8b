#!/usr/bin/env bash
# Remote-node test hosts of the local cluster named by BERTH_CLUSTER, on its bridge 10.231.K.0/24:
#   - "tls": a host whose dockerd also listens on tcp 2376 with --tlsverify (10.231.K.241; its
#     second address 10.231.K.243 is not in the server certificate, to stage a name mismatch);
#   - "ssh": a host running sshd (10.231.K.242, on port 22 and on 2222: a node's non-default SSH
#     port) where user "berth" runs
#     `docker system dial-stdio` against that host's own dockerd (sshd sets DOCKER_HOST), and an
#     HAProxy of its own run by "berth" (listeners on 10.231.K.242): a load balancer on another host,
#     which berth reaches only over SSH.
# start (idempotent; removes every container on both) generates a CA, server and client certificates (and, for error tests, another CA and an
# expired client certificate), the SSH host key and a client key, then writes remote.json (paths
# of all of these) next to the cluster's cluster.json. The cluster (scripts/cluster.sh start) must run.
# Usage: scripts/remote-hosts.sh start|stop|path
set -euo pipefail
# shellcheck source=cluster.sh
source "$(dirname "$0")/cluster.sh"

readonly TLS_PORT=2376
readonly SSH_USER=berth
# sshd listens here as well as on 22: the tests of a node's ssh.port (or a port in its ssh:// URL).
readonly SSH_OTHER_PORT=2222
readonly SSH_HOME=/var/lib/berth-ssh
readonly PKI="$RUN_DIR/remote"

# The remote hosts are named, not numbered, so cluster.sh start never trims them as hosts beyond
# BERTH_HOSTS; their addresses sit above any numbered host's (.11-.210).
host_addr() {
  case "$1" in
    tls) echo "$SUBNET.241" ;;
    ssh) echo "$SUBNET.242" ;;
    *) echo "$SUBNET.$((10 + $1))" ;;
  esac
}
readonly TLS_OTHER_ADDR="$SUBNET.243"
sshd_cfg() { echo "$(host_run ssh)/sshd_config"; }
# The remote load balancer's files belong to the SSH user: berth edits them over SSH as that user.
readonly LB_DIR="$SSH_HOME/lb-$CLUSTER"
lb_cfg() { echo "$LB_DIR/haproxy.cfg"; }
lb_pids() { proc_pids haproxy "$(re_escape "$(lb_cfg)")"; }
# By its pidfile: sshd rewrites its command line (setproctitle), so proc_pids cannot match it.
sshd_pids() {
  local pid
  pid=$(cat "$(host_run ssh)/sshd.pid" 2>/dev/null) || return 0
  if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */sshd ]] && alive "$pid"; then echo "$pid"; fi
}

# ---------------------------------------------------------------------------------------------
# Keys and certificates (EC P-256: quick to make)

# new_cert NAME CA_NAME DAYS SUBJECT [EXTFILE]: NAME-key.pem and NAME.pem signed by CA_NAME.
new_cert() {
  local name=$1 ca=$2 days=$3 subject=$4 ext=${5:-}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$name-key.pem" \
    -out "$PKI/$name.csr" -subj "$subject" 2>/dev/null
  # (-days -1 makes a certificate that has already expired: the expired-client test.)
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.pem" -CAkey "$PKI/$ca-key.pem" -CAcreateserial \
    -days "$days" ${ext:+-extfile "$ext"} -out "$PKI/$name.pem" 2>/dev/null
  rm -f "$PKI/$name.csr"
}

new_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1-key.pem" \
    -out "$PKI/$1.pem" -subj "/CN=berth $CLUSTER $1" -days 30 2>/dev/null
}

ensure_pki() {
  [[ -f "$PKI/done" ]] && return 0
  log "generating certificates and SSH keys in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  new_ca ca
  new_ca other-ca
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$(host_addr tls)" >"$PKI/server.ext"
  printf 'extendedKeyUsage=clientAuth\n' >"$PKI/client.ext"
  new_cert server ca 30 "/CN=$(host_addr tls)" "$PKI/server.ext"
  new_cert client ca 30 "/CN=berth client" "$PKI/client.ext"
  new_cert expired-client ca -1 "/CN=berth expired client" "$PKI/client.ext"
  ssh-keygen -q -t ed25519 -N "" -C "berth $CLUSTER ssh host" -f "$PKI/ssh-host-key"
  ssh-keygen -q -t ed25519 -N "" -C "berth $CLUSTER client" -f "$PKI/ssh-client-key"
  touch "$PKI/done"
}

# ---------------------------------------------------------------------------------------------
# Hosts

ensure_ssh_user() {
  id -u "$SSH_USER" >/dev/null 2>&1 && return 0
  log "creating user $SSH_USER (group docker: it may use the ssh host's Docker socket)"
  getent group docker >/dev/null || groupadd --system docker
  # Password "*": none, yet not locked (sshd without PAM refuses locked accounts, even with a key).
  useradd --system --create-home --home-dir "$SSH_HOME" --shell /bin/sh --groups docker --password '*' "$SSH_USER"
}

write_sshd_config() {
  cat >"$(sshd_cfg)" <<EOF
# Written by scripts/remote-hosts.sh: sshd of berth cluster $CLUSTER's remote test host "ssh".
Port 22
Port $SSH_OTHER_PORT
ListenAddress 0.0.0.0
HostKey $PKI/ssh-host-key
PidFile $(host_run ssh)/sshd.pid
AuthorizedKeysFile $(host_run ssh)/authorized_keys
AllowUsers $SSH_USER
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# authorized_keys lives under /run (root-owned), not in the user's home.
StrictModes no
# docker system dial-stdio must reach this host's own dockerd, not the machine's default socket.
SetEnv DOCKER_HOST=unix://$(host_sock ssh)
EOF
}

# tcp_answers ADDR PORT: something accepts connections there.
tcp_answers() {
  node -e '
    const s = require("net").connect(Number(process.argv[2]), process.argv[1], () => { s.destroy(); process.exit(0); });
    s.on("error", () => process.exit(1));
    setTimeout(() => process.exit(2), 2000);
  ' "$1" "$2"
}

ensure_sshd() {
  [[ -n "$(sshd_pids)" ]] && return 0
  mkdir -p /run/sshd # sshd's privilege separation directory
  write_sshd_config
  # sshd reads it as the user: outside the root-only key directory.
  cp "$PKI/ssh-client-key.pub" "$(host_run ssh)/authorized_keys"
  log "starting sshd for the ssh host ($(host_addr ssh):22 and :$SSH_OTHER_PORT)"
  launch "$LOG_DIR/hssh-sshd.log" nsenter --net="$NETNS_DIR/$(host_ns ssh)" /usr/sbin/sshd -D -e -f "$(sshd_cfg)"
}

# ensure_remote_slb: a fresh HAProxy in the ssh host's namespace, run by the SSH user, with only its
# base config (a clean slate, as cluster.sh clean gives the local SLBs).
ensure_remote_slb() {
  terminate "remote haproxy" 10 $(lb_pids)
  mkdir -p "$LB_DIR"
  rm -f "$LB_DIR"/*.sock "$LB_DIR"/haproxy.cfg.berth-*
  haproxy_base_config "cluster $CLUSTER's remote load balancer (host ssh)" "$LB_DIR" >"$(lb_cfg)"
  chown -R "$SSH_USER:" "$LB_DIR"
  log "starting the remote load balancer (haproxy as $SSH_USER in the ssh host's namespace)"
  launch "$LOG_DIR/hssh-haproxy.log" nsenter --net="$NETNS_DIR/$(host_ns ssh)" runuser -u "$SSH_USER" -- \
    haproxy -W -S "$LB_DIR/master.sock" -f "$(lb_cfg)" -p "$LB_DIR/haproxy.pid"
  wait_for "remote haproxy" "$LOG_DIR/hssh-haproxy.log" lb_pids sock_cmd "$LB_DIR/admin.sock" "show info"
}

cmd_start() {
  [[ -f "$RUN_DIR/cluster.json" ]] || die "cluster $CLUSTER is not running (run: scripts/cluster.sh start)"
  command -v /usr/sbin/sshd >/dev/null && command -v openssl >/dev/null || die "missing sshd or openssl (run scripts/setup/system.sh)"
  take_lock
  ensure_pki
  ensure_ssh_user
  ensure_host_net tls
  ip -n "$(host_ns tls)" addr replace "$TLS_OTHER_ADDR/$NET_PREFIX" dev eth0
  ip neigh flush to "$TLS_OTHER_ADDR" 2>/dev/null || true
  ensure_dockerd tls --host "tcp://0.0.0.0:$TLS_PORT" --tlsverify \
    --tlscacert "$PKI/ca.pem" --tlscert "$PKI/server.pem" --tlskey "$PKI/server-key.pem"
  ensure_host_net ssh
  ensure_dockerd ssh
  wait_dockerd tls
  wait_dockerd ssh
  # A clean slate, as cluster.sh clean gives the numbered hosts.
  remove_containers tls
  remove_containers ssh
  wait_for "dockerd tls (tcp $TLS_PORT)" "$(host_log tls)" "dockerd_pids tls" tcp_answers "$(host_addr tls)" "$TLS_PORT"
  wait_for "dockerd tls (tcp $TLS_PORT, second address)" "$(host_log tls)" "dockerd_pids tls" tcp_answers "$TLS_OTHER_ADDR" "$TLS_PORT"
  ensure_sshd
  wait_for sshd "$LOG_DIR/hssh-sshd.log" sshd_pids tcp_answers "$(host_addr ssh)" 22
  wait_for "sshd (port $SSH_OTHER_PORT)" "$LOG_DIR/hssh-sshd.log" sshd_pids tcp_answers "$(host_addr ssh)" "$SSH_OTHER_PORT"
  ensure_remote_slb
  write_remote_json
  log "remote hosts up: tls $(host_addr tls):$TLS_PORT, ssh $SSH_USER@$(host_addr ssh) (ports 22, $SSH_OTHER_PORT); see $RUN_DIR/remote.json"
}

write_remote_json() {
  cat >"$RUN_DIR/remote.json" <<EOF
{
  "tls": {
    "name": "tls", "docker": "tcp://$(host_addr tls):$TLS_PORT", "address": "$(host_addr tls)",
    "otherAddress": "$TLS_OTHER_ADDR", "localDocker": "unix://$(host_sock tls)",
    "ca": "$PKI/ca.pem", "cert": "$PKI/client.pem", "key": "$PKI/client-key.pem",
    "otherCa": "$PKI/other-ca.pem", "expiredCert": "$PKI/expired-client.pem", "expiredKey": "$PKI/expired-client-key.pem"
  },
  "ssh": {
    "name": "ssh", "docker": "ssh://$SSH_USER@$(host_addr ssh)", "address": "$(host_addr ssh)",
    "user": "$SSH_USER", "otherPort": $SSH_OTHER_PORT, "localDocker": "unix://$(host_sock ssh)", "netns": "$NETNS_DIR/$(host_ns ssh)",
    "privateKey": "$PKI/ssh-client-key", "hostPublicKey": "$PKI/ssh-host-key.pub"
  },
  "slb": {
    "host": "$(host_addr ssh)", "user": "$SSH_USER", "address": "$(host_addr ssh)",
    "adminSocket": "$LB_DIR/admin.sock", "masterSocket": "$LB_DIR/master.sock", "configPath": "$(lb_cfg)"
  }
}
EOF
}

cmd_stop() {
  take_lock
  local h
  terminate "remote haproxy" 10 $(lb_pids)
  for h in tls ssh; do
    if [[ -e "$NETNS_DIR/$(host_ns "$h")" || -n "$(dockerd_pids "$h")" ]]; then stop_host "$h"; fi
  done
  rm -rf "$PKI" "$RUN_DIR/remote.json"
  log "remote hosts stopped"
}

[[ $EUID -eq 0 ]] || die "must run as root"
case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  path) echo "$RUN_DIR/remote.json" ;;
  *)
    echo "usage: $0 start|stop|path   (env: BERTH_CLUSTER)" >&2
    exit 2
    ;;
esac
