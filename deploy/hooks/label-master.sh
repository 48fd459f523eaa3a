#!/bin/sh
# label-master.sh - rsm-agent --on-failover hook for Kubernetes: label the
# new master pod rsm.io/role=master and the old one rsm.io/role=replica, so
# that the Service "redis-master" (deploy/label-master/) always selects the
# master, for clients that do not speak Sentinel.
#
# Arguments (from rsm-agent): GROUP EPOCH OLD NEW, addresses as in
# --monitor, e.g. redis-1.redis.ns.svc:6379 (the pod name is the first
# label of the host). Talks to the API server with the pod's service
# account (RBAC in deploy/label-master/rbac.yaml); the token goes to curl
# in a header file, never in arguments. Needs curl and a writable /tmp.
# The agent passes only the variables listed in RSM_HOOK_ENV (the
# kustomization lists KUBERNETES_SERVICE_HOST and _PORT) besides PATH.
set -eu

[ $# -eq 4 ] || { echo "usage: $0 GROUP EPOCH OLD NEW" >&2; exit 2; }
old_pod=${3%%.*}
new_pod=${4%%.*}
sa=/var/run/secrets/kubernetes.io/serviceaccount
ns=$(cat "$sa/namespace")
api="https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_SERVICE_PORT:-443}"

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
chmod 600 "$headers"
printf 'Authorization: Bearer %s\nContent-Type: application/merge-patch+json\n' \
    "$(cat "$sa/token")" > "$headers"

label() {
    curl -sS --fail --max-time 10 --cacert "$sa/ca.crt" -H "@$headers" \
        -X PATCH "$api/api/v1/namespaces/$ns/pods/$1" \
        -d "{\"metadata\":{\"labels\":{\"rsm.io/role\":\"$2\"}}}" >/dev/null
}

# The new master first: the Service selects it before the old one drops.
label "$new_pod" master
if [ -n "$old_pod" ] && [ "$old_pod" != "$new_pod" ]; then
    label "$old_pod" replica || echo "$0: could not label $old_pod" >&2
fi
echo "$0: group $1 epoch $2: $new_pod is master"
