#!/usr/bin/env bash
# Installs what the local cluster needs from Debian: Docker engine, HAProxy, busybox (test images
# are built FROM scratch: no registry is reachable), the registry, iproute2, skopeo (copies images
# between registry buckets), htpasswd (bcrypt password files for the authenticated test registry),
# file (tells whether a binary is static). Idempotent.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v haproxy >/dev/null || need+=(haproxy)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v pgrep >/dev/null || need+=(procps)
# sshd and ssh-keygen: the remote-node test host reached over SSH (scripts/remote-hosts.sh)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v openssl >/dev/null || need+=(openssl)
command -v skopeo >/dev/null || need+=(skopeo)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  echo "berth setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need[@]}" >&2
fi
