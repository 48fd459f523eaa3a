#!/usr/bin/env bash
# container-test.sh - build the two images of deploy/Dockerfile with podman
# and run the cluster in containers: 3 Redis (rsm-redis, started through
# `rsmctl redis-boot`) and 3 agents (rsm-agent), which find each other by
# DNS name (podman's aardvark-dns) on a private podman network. Then kill
# the Redis master N times and the agent leader N times, and print a table
# per kill (failover time, epochs used, result, keys kept) and a summary.
#
# Not part of CI (scripts/test.sh); needs root, podman and a few minutes:
#   scripts/container-test.sh                      # 20 master kills, 5 leader kills
#   scripts/container-test.sh --master-kills 5 --leader-kills 2
#   scripts/container-test.sh --names hosts        # /etc/hosts instead of DNS
#   scripts/container-test.sh --slow-dns           # names of stopped containers
#                                                  # take ~10 s to fail to resolve
#   scripts/container-test.sh --build-only         # base image + images only
#
# What it does, in order:
#   1. installs podman, runc, netavark, aardvark-dns and debootstrap from
#      Debian when missing (apt-get);
#   2. finds a container configuration that runs here: podman's defaults
#      first, else runc with ulimits within this host's hard limits (see
#      deploy/README.md, "Podman on a restricted host"), written to a private
#      containers.conf ($CONTAINERS_CONF) - the host's is not touched;
#   3. uses debian:bookworm-slim if podman has it or can pull it, else makes
#      it: debootstrap --variant=minbase from the Debian mirror apt uses
#      (/etc/apt/sources.list*), trimmed like the slim image, podman import;
#   4. builds both images (podman build --format docker, so that the
#      HEALTHCHECKs are kept; the build stage runs the unit and cluster tests);
#   5. creates an --internal podman network (no route out of it; 10.79.N.0/24),
#      starts the 6 containers (non-root, --cap-drop ALL, read-only root),
#      checks both HEALTHCHECKs with `podman healthcheck run`;
#   6. runs scripts/container-test.py (python3, stdlib only), which drives
#      the kills and measures through the containers' addresses on that
#      network, and removes everything it started on exit (--keep: not).
#
# Exit status: 0 when every kill passed, 1 when one failed, 2 usage error,
# 3 when containers cannot run here (the error is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

master_kills=20
leader_kills=5
combined_kills=0
down_after=5000
min_interval=0   # the anti-flap guard (default 60 s) would refuse kill 2
names=dns
slow_dns=0
src=$repo
keep=0
build_only=0
rebuild=1
work=${RSM_CT_DIR:-/var/tmp/rsm-container-test}
tag=ct

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    cat <<EOF
Options:
  --master-kills N     Redis master kills (default $master_kills)
  --leader-kills N     agent leader kills (default $leader_kills)
  --combined-kills N   the master, then 2.5 s later the agent leader
                       (default $combined_kills)
  --down-after-ms MS   RSM_DOWN_AFTER_MS of the agents (default $down_after)
  --min-failover-interval-ms MS   the agents' anti-flap interval (default
                       $min_interval: the kills come every ~10 s; the agent's
                       own default, 60000, refuses a failover sooner)
  --names dns|hosts    how containers find each other (default dns)
  --slow-dns           names of killed containers resolve slowly (~20 s):
                       container-test.py serves DNS like aardvark-dns
                       forwarding unknown names to an upstream that never
                       answers
  --src DIR            build context (default: this checkout)
  --no-build           use the images built before (localhost/rsm-*:$tag)
  --build-only         stop after building the images
  --keep               leave the containers and the network running
  --work DIR           work directory (default $work)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --master-kills) master_kills=$2; shift ;;
    --leader-kills) leader_kills=$2; shift ;;
    --combined-kills) combined_kills=$2; shift ;;
    --down-after-ms) down_after=$2; shift ;;
    --min-failover-interval-ms) min_interval=$2; shift ;;
    --names) names=$2; shift ;;
    --slow-dns) slow_dns=1 ;;
    --src) src=$(cd "$2" && pwd); shift ;;
    --no-build) rebuild=0 ;;
    --build-only) build_only=1 ;;
    --keep) keep=1 ;;
    --work) work=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "container-test: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$names" in dns|hosts) ;; *) echo "--names dns|hosts" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "container-test: run as root" >&2; exit 2; }
mkdir -p "$work"
log() { printf '[container-test %s] %s\n' "$(date +%T)" "$*" >&2; }

# --- 1. packages ---------------------------------------------------------
need=()
for p in podman runc netavark aardvark-dns debootstrap python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${need[@]}" >&2
fi
log "$(podman --version), $(runc --version | head -1)"

# --- 3 (first: the probe of step 2 needs an image). base image ------------
base=docker.io/library/debian:bookworm-slim
export CONTAINERS_CONF=$work/containers.conf
: > "$CONTAINERS_CONF"   # podman's defaults while probing

debian_mirror() {
    # The first Debian archive URI apt uses (deb822 or one-line format).
    local f u
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
             /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        u=$(awk '/^URIs:/ {print $2} /^deb / {for (i = 2; i <= NF; i++)
                 if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f" |
            grep -v -- '-security' | grep -m1 debian || true)
        [ -n "$u" ] && { echo "$u"; return; }
    done
    echo http://deb.debian.org/debian
}

make_base() {
    local root=$work/rootfs-bookworm mirror
    mirror=$(debian_mirror)
    log "no $base to pull: debootstrap bookworm from $mirror"
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" \
        > "$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; return 1; }
    # As the slim image: no docs, man pages or locales, no apt caches.
    cat > "$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    cat > "$root/etc/apt/apt.conf.d/slim" <<'EOF'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d \
        -delete 2>/dev/null || true
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/* "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
    podman tag "$base" localhost/debian:bookworm-slim
    rm -rf "$root"
}

if podman image exists "$base"; then
    log "base image $base present"
elif timeout 60 podman pull -q "$base" >/dev/null 2>"$work/pull.err"; then
    log "pulled $base"
else
    log "pull failed: $(tail -1 "$work/pull.err")"
    make_base
    log "imported $base ($(podman image inspect -f '{{.Size}}' "$base" | awk '{printf "%.0f MB", $1/1e6}'))"
fi

# --- 2. a configuration that runs containers here -------------------------
# The defaults first; on a host without CAP_SYS_RESOURCE the runtime cannot
# raise RLIMIT_NOFILE/NPROC to podman's defaults, and crun refuses cgroup v1
# hosts whose cgroup2 mount has controllers ("hybrid mode").
probe() { timeout 120 podman run --rm --network none "$base" true 2>&1; }
if err=$(probe); then
    log "containers run with podman's defaults"
else
    log "podman's defaults fail: $err"
    nofile=$(ulimit -Hn)
    [ "$nofile" = unlimited ] && nofile=1048576
    [ "$nofile" -gt 1048576 ] && nofile=1048576
    cat > "$CONTAINERS_CONF" <<EOF
# written by scripts/container-test.sh: what runs on this host
[containers]
# within the host's hard limits: without CAP_SYS_RESOURCE they cannot be raised
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
# crun 1.8 refuses a cgroup v1 host whose cgroup2 mount has controllers
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    if err2=$(probe); then
        log "containers run with $CONTAINERS_CONF (runc, ulimits nofile=$nofile nproc=4096)"
    else
        echo "container-test: containers cannot run here:" >&2
        echo "  defaults: $err" >&2
        echo "  runc + ulimits: $err2" >&2
        exit 3
    fi
fi

# --- 4. images -------------------------------------------------------------
agent_img=localhost/rsm-agent:$tag
redis_img=localhost/rsm-redis:$tag
if [ "$rebuild" = 1 ]; then
    for target in agent redis; do
        log "podman build --target $target (log: $work/build-$target.log)"
        start=$(date +%s)
        # --network host: the RUN steps reach the Debian mirror as apt does.
        if ! podman build --format docker --network host \
                -f "$src/deploy/Dockerfile" --target "$target" \
                -t "localhost/rsm-$target:$tag" "$src" \
                > "$work/build-$target.log" 2>&1; then
            tail -40 "$work/build-$target.log" >&2
            echo "container-test: podman build --target $target failed" >&2
            exit 1
        fi
        log "built localhost/rsm-$target:$tag in $(( $(date +%s) - start )) s," \
            "$(podman image inspect -f '{{.Size}}' "localhost/rsm-$target:$tag" | awk '{printf "%.1f MB", $1/1e6}')," \
            "user $(podman image inspect -f '{{.Config.User}}' "localhost/rsm-$target:$tag")"
        grep -E "tests passed|tests failed" "$work/build-$target.log" | tail -1 >&2 || true
    done
fi
[ "$build_only" = 1 ] && exit 0

# --- 5. network and containers --------------------------------------------
id=rsmct$$
net=$id-net
subnet_n=$(( $$ % 200 + 20 ))
subnet=10.79.$subnet_n
containers=()
cleanup() {
    local rc=$?
    if [ "$keep" = 1 ]; then
        log "kept: containers ${containers[*]}, network $net (CONTAINERS_CONF=$CONTAINERS_CONF)"
        return
    fi
    for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
    podman network rm -f "$net" >/dev/null 2>&1 || true
    exit $rc
}
trap cleanup EXIT
net_opts=(--internal --subnet "$subnet.0/24")
[ "$slow_dns" = 1 ] && net_opts+=(--disable-dns)
podman network create "${net_opts[@]}" "$net" >/dev/null
log "network $net: $subnet.0/24, internal (no route out), names: $names"

run_dir=$work/$id
mkdir -p "$run_dir"
cat > "$run_dir/redis.conf" <<'EOF'
# deploy/redis.yaml's ConfigMap
port 6379
bind * -::*
protected-mode no
dir /data
daemonize no
logfile ""
appendonly yes
save 900 1
save 300 100
repl-ping-replica-period 1
repl-timeout 10
repl-diskless-sync yes
repl-diskless-sync-delay 1
replica-read-only yes
replica-priority 100
min-replicas-to-write 0
EOF
chmod 644 "$run_dir/redis.conf"

# Addresses: fixed with --names hosts (every container gets the same
# --add-host lines); from podman's IPAM with DNS names, so that a restarted
# container may come back with another address, as a pod does.
declare -A ip=()
hosts_args=()
for i in 0 1 2; do
    ip[redis-$i]=$subnet.$((10 + i))
    ip[rsm-$i]=$subnet.$((20 + i))
done
if [ "$names" = hosts ]; then
    for n in "${!ip[@]}"; do hosts_args+=(--add-host "$n:${ip[$n]}"); done
fi
dns_args=()
py_dns=()
if [ "$slow_dns" = 1 ]; then
    # The network has no aardvark-dns; container-test.py answers on
    # $subnet.254 (added to the network's bridge) instead, like aardvark-dns
    # whose upstream resolver never answers: names of running containers at
    # once, the name of a killed one never (the resolver in the container
    # times out).
    dns_args=(--dns "$subnet.254" --dns-search dns.podman)
    py_dns=(--fake-dns "$subnet.254")
fi
common=(--network "$net" --cap-drop ALL --read-only --security-opt no-new-privileges
        "${hosts_args[@]}" "${dns_args[@]}")
net_args() { # NAME
    if [ "$names" = hosts ]; then echo "--ip ${ip[$1]}"; else echo "--network-alias $1"; fi
}

agents=rsm-0:26379,rsm-1:26379,rsm-2:26379
for i in 0 1 2; do
    n=redis-$i
    # as in redis.yaml: the config in a writable directory (the agents
    # CONFIG REWRITE it), the data in another
    mkdir -p "$run_dir/$n" "$run_dir/$n-conf"
    cp "$run_dir/redis.conf" "$run_dir/$n-conf/redis.conf"
    chown -R 65532:65532 "$run_dir/$n" "$run_dir/$n-conf"
    # shellcheck disable=SC2046
    podman create --name "$id-$n" --hostname "$n" $(net_args "$n") "${common[@]}" \
        -v "$run_dir/$n:/data:Z" -v "$run_dir/$n-conf:/run/redis:Z" \
        "$redis_img" --agents "$agents" --group mymaster --self "$n:6379" \
        --data-dir /data --wait-ms 120000 -- redis-server /run/redis/redis.conf \
        >/dev/null
    containers+=("$id-$n")
done
for i in 0 1 2; do
    n=rsm-$i
    mkdir -p "$run_dir/$n"; chown 65532:65532 "$run_dir/$n"
    # shellcheck disable=SC2046
    podman create --name "$id-$n" --hostname "$n" $(net_args "$n") "${common[@]}" \
        -v "$run_dir/$n:/var/lib/rsm:Z" \
        -e RSM_ID_FROM_HOSTNAME=1 \
        -e RSM_PEERS=1=rsm-0:7000,2=rsm-1:7000,3=rsm-2:7000 \
        -e RSM_RAFT_BIND=0.0.0.0:7000 -e RSM_API_BIND=0.0.0.0:26379 \
        -e RSM_HTTP_BIND=0.0.0.0:26380 -e RSM_DATA_DIR=/var/lib/rsm \
        -e RSM_MONITOR=mymaster=redis-0:6379,redis-1:6379,redis-2:6379 \
        -e RSM_DOWN_AFTER_MS="$down_after" \
        -e RSM_MIN_FAILOVER_INTERVAL_MS="$min_interval" \
        "$agent_img" >/dev/null
    containers+=("$id-$n")
done
for c in "${containers[@]}"; do
    podman start "$c" >/dev/null 2>"$run_dir/start.err" \
        || { cat "$run_dir/start.err" >&2; exit 3; }
done
log "started ${containers[*]}"
if [ "$slow_dns" = 1 ]; then
    bridge=$(podman network inspect -f '{{.NetworkInterface}}' "$net")
    ip addr add "$subnet.254/24" dev "$bridge"
fi

# --- 6. the kills ----------------------------------------------------------
set +e
python3 "$repo/scripts/container-test.py" --prefix "$id" --dir "$run_dir" \
    --master-kills "$master_kills" --leader-kills "$leader_kills" \
    --combined-kills "$combined_kills" \
    --down-after-ms "$down_after" --label "names=$names slow_dns=$slow_dns" \
    "${py_dns[@]}"
rc=$?
set -e
exit $rc
