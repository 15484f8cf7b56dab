#!/usr/bin/env bash
# Server CPU seconds per GiB and throughput, with N concurrent clients, for NFSv3 READ/WRITE
# (libnfs nfs-cp), S3 GET/PUT (aws CLI) and SMB3 read/write (smbclient, plain and encrypted),
# against cfs-gateway (embedded backend) and, with PEERS=1, side by side with nfs-ganesha,
# Samba and Ceph radosgw (the set-ups of ../shared/peers). Not a test: nothing asserts on time.
#
# Server CPU is user+system time from /proc/<pid>/stat of the server's processes, read before
# and after each workload: cfs-gateway's one process; ganesha.nfsd; smbd with the per-connection
# children it has reaped (cutime/cstime, read after the clients disconnected); radosgw plus
# ceph-osd and ceph-mon (its storage, as cfs-gateway's embedded store is part of its process).
#
# Usage: benchmarks/cpu_per_gib.sh [cfs-gateway binary] [MiB per client=256] [clients=4]
#   PEERS=1 also measures the peers; ONLY="nfs s3 smb" picks protocols.
# Needs root for the peers (apt-get, useradd). Ports: cfs 23100-23199; peers as in ../shared/peers.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:-}"
mib="${2:-256}"
clients="${3:-4}"
only="${ONLY:-nfs s3 smb}"
peers_dir="$repo/../shared/peers"
work="$(mktemp -d /tmp/cfs-cpu-bench-XXXXXX)"
pids_to_kill=()
cleanup() {
  for p in "${pids_to_kill[@]}"; do kill "$p" 2> /dev/null || true; done
  [ -f /tmp/peer-nfs/stop-ganesha.sh ] && /tmp/peer-nfs/stop-ganesha.sh > /dev/null 2>&1 || true
  [ -f /tmp/peer-s3/ceph/stop.sh ] && bash /tmp/peer-s3/ceph/stop.sh > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$binary" ]; then
  (cd "$repo" && bazel build -c opt //bin:cfs-gateway > /dev/null 2>&1)
  binary="$(cd "$repo" && bazel info -c opt bazel-bin 2> /dev/null)/bin/cfs-gateway"
fi
hz=$(getconf CLK_TCK)

# CPU seconds of processes (with the children they reaped): sum of utime+stime+cutime+cstime.
cpu_of() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$(awk -v t="$total" '{ sub(/^.*\) /, ""); print t + $12 + $13 + $14 + $15 }' \
      "/proc/$pid/stat")
  done
  echo "$total"
}

# Runs `clients` copies of a command (with {i} replaced by the client number) at once and prints
# "<wall seconds> <server cpu seconds>" for the server processes named by $server_pids.
measure() {
  local cmd=$1 before after start end i
  before=$(cpu_of $server_pids)
  start=$(date +%s.%N)
  for i in $(seq "$clients"); do
    bash -c "${cmd//\{i\}/$i}" > "$work/client.$i.log" 2>&1 &
  done
  local failed=0
  for i in $(seq "$clients"); do wait -n || failed=1; done
  end=$(date +%s.%N)
  sleep 0.5  # smbd children exit and are reaped after their client disconnects
  after=$(cpu_of $server_pids)
  if [ "$failed" -ne 0 ]; then
    echo "a client failed: $(cat "$work"/client.*.log | tail -5)" >&2
    echo "failed"
    return
  fi
  echo "$(echo "$end - $start" | bc -l) $(echo "($after - $before) / $hz" | bc -l)"
}

gib=$(echo "$clients * $mib / 1024" | bc -l)
row() {  # server, workload, "<wall> <cpu>" (or "failed": the row says so, with no figures)
  if [ "$3" = failed ]; then
    printf '| %-12s | %-22s | %8s | %8s | %8s |\n' "$1" "$2" failed - -
    return
  fi
  local wall=${3% *} cpu=${3#* }
  printf '| %-12s | %-22s | %8.0f | %8.2f | %8.2f |\n' "$1" "$2" \
    "$(echo "$clients * $mib / $wall" | bc -l)" "$cpu" "$(echo "$cpu / $gib" | bc -l)"
}

head -c $((mib << 20)) /dev/urandom > "$work/src.bin"
for i in $(seq "$clients"); do ln -sf "$work/src.bin" "$work/src.$i"; done
echo "| server | workload ($clients clients x $mib MiB) | MiB/s | CPU s | CPU s/GiB |"
echo "|---|---|---|---|---|"

# ---- cfs-gateway ----
user=smbtest pass='Passw0rd!'
id "$user" > /dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user"
uid=$(id -u "$user")
cat > "$work/cfs.conf" << EOF
users { name: "$user" uid: $uid gid: $uid smb_password: "$pass"
        s3_keys { access_key_id: "bench" secret: "bench-secret-123" } }
EOF
"$binary" --config="$work/cfs.conf" --data_dir="$work/cfs-data" --bind_address=127.0.0.1 \
  --nfs_port=23149 --mount_port=23148 --s3_port=23180 --smb_port=23145 --portmapper_port=0 \
  --metrics_port=0 --control_port=0 --protocols=nfs,s3,smb --log_level=warning 2> "$work/cfs.log" &
cfs_pid=$!
pids_to_kill+=("$cfs_pid")
for port in 23149 23148 23180 23145; do  # every listener, not the last started
  for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.1; done
done
server_pids=$cfs_pid

export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_DEFAULT_REGION=us-east-1
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true

nfs_rows() {  # server name, nfs url prefix (…/export), query
  local name=$1 base=$2 query=$3
  row "$name" "NFSv3 WRITE" "$(measure "nfs-cp $work/src.{i} '$base/f{i}?$query'")"
  row "$name" "NFSv3 READ" "$(measure "nfs-cp '$base/f{i}?$query' $work/back.{i}")"
  for i in $(seq "$clients"); do cmp -s "$work/src.bin" "$work/back.$i" || echo "MISMATCH" >&2; done
  rm -f "$work"/back.*
}
s3_rows() {  # server name, endpoint, key, secret
  local name=$1 ep=$2
  export AWS_ACCESS_KEY_ID=$3 AWS_SECRET_ACCESS_KEY=$4
  /usr/bin/aws --endpoint-url "$ep" s3 mb s3://cpu-bench > /dev/null 2>&1 || true
  row "$name" "S3 PUT" "$(measure "/usr/bin/aws --endpoint-url $ep s3 cp $work/src.{i} s3://cpu-bench/f{i}")"
  row "$name" "S3 GET" "$(measure "/usr/bin/aws --endpoint-url $ep s3 cp s3://cpu-bench/f{i} $work/back.{i}")"
  for i in $(seq "$clients"); do cmp -s "$work/src.bin" "$work/back.$i" || echo "MISMATCH" >&2; done
  rm -f "$work"/back.*
}
smb_rows() {  # server name, port
  local name=$1 port=$2 mode
  for mode in off encrypt; do
    local smb="smbclient //127.0.0.1/share -p $port -U '$user%$pass' -m SMB3 --client-protection=$mode"
    local label="SMB3 ($([ $mode = off ] && echo plain || echo encrypted))"
    row "$name" "$label write" "$(measure "$smb -c 'put $work/src.{i} f{i}'")"
    row "$name" "$label read" "$(measure "$smb -c 'get f{i} $work/back.{i}'")"
    for i in $(seq "$clients"); do cmp -s "$work/src.bin" "$work/back.$i" || echo "MISMATCH" >&2; done
    rm -f "$work"/back.*
  done
}

for proto in $only; do
  case $proto in
    nfs) nfs_rows cfs-gateway "nfs://127.0.0.1/export" \
           "nfsport=23149&mountport=23148&version=3&uid=$uid&gid=$uid" ;;
    s3) s3_rows cfs-gateway http://127.0.0.1:23180 bench bench-secret-123 ;;
    smb) smb_rows cfs-gateway 23145 ;;
  esac
done
kill "$cfs_pid"; wait "$cfs_pid" 2> /dev/null || true

[ "${PEERS:-0}" = 1 ] || exit 0

# ---- peers ----
# The peers' packages (Debian 12), installed when missing.
missing=()
for proto in $only; do
  case $proto in
    nfs) command -v ganesha.nfsd > /dev/null || missing+=(nfs-ganesha nfs-ganesha-vfs) ;;
    s3) command -v radosgw > /dev/null || missing+=(radosgw ceph-mon ceph-osd ceph-mgr ceph-common) ;;
    smb) [ -e /usr/lib/x86_64-linux-gnu/samba/vfs/streams_xattr.so ] ||
           missing+=(samba samba-vfs-modules) ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
    > "$work/apt.log" 2>&1 || { tail "$work/apt.log"; exit 1; }
fi
for proto in $only; do
  case $proto in
    nfs)
      mkdir -p /tmp/peer-nfs
      cp "$peers_dir"/nfs/*.sh "$peers_dir"/nfs/*.py "$peers_dir"/nfs/*.conf /tmp/peer-nfs/
      rm -rf /tmp/peer-nfs/export && mkdir -p /tmp/peer-nfs/export && chmod 1777 /tmp/peer-nfs/export
      /tmp/peer-nfs/start-ganesha.sh > "$work/ganesha.log" 2>&1 || { tail "$work/ganesha.log"; exit 1; }
      server_pids=$(pgrep -x ganesha.nfsd | tr '\n' ' ')
      nfs_rows nfs-ganesha "nfs://127.0.0.1/export" \
        "nfsport=12049&mountport=12048&version=3&uid=$uid&gid=$uid"
      /tmp/peer-nfs/stop-ganesha.sh > /dev/null 2>&1 || true
      ;;
    s3)
      rm -rf /tmp/peer-s3/ceph && mkdir -p /tmp/peer-s3 && cp -r "$peers_dir/s3/ceph" /tmp/peer-s3/ceph
      chmod -R u+w /tmp/peer-s3/ceph
      bash /tmp/peer-s3/ceph/setup.sh > "$work/ceph.log" 2>&1 || { tail "$work/ceph.log"; exit 1; }
      server_pids=$(pgrep -x 'radosgw|ceph-osd|ceph-mon' | tr '\n' ' ')
      s3_rows radosgw http://127.0.0.1:13080 0555b35654ad1656d804 \
        'h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=='
      bash /tmp/peer-s3/ceph/stop.sh > /dev/null 2>&1 || true
      ;;
    smb)
      peer=/tmp/peer-smb
      mkdir -p $peer/{run,lock,state,cache,private,log,share,share2,ncalrpc}
      chown "$user" $peer/share*
      cp "$peers_dir/smb/smb.conf" $peer/smb.conf
      printf '%s\n%s\n' "$pass" "$pass" | smbpasswd -c $peer/smb.conf -s -a "$user" > /dev/null
      # Its own session: smbd signals its process group when it stops.
      setsid smbd -F --no-process-group --debug-stdout -d0 -s $peer/smb.conf > $peer/log/smbd.stdout 2>&1 &
      smbd_pid=$!
      pids_to_kill+=("$smbd_pid")
      for _ in $(seq 100); do ss -ltn | grep -q ":14445 " && break; sleep 0.1; done
      server_pids=$smbd_pid
      smb_rows samba 14445
      kill "$smbd_pid"
      ;;
  esac
done
