#!/usr/bin/env bash
# SMB side by side: cfs-gateway (embedded backend) and Samba smbd (../shared/peers/smb set-up)
# on loopback, both driven by the same clients on the same machine:
#   - smbclient 100 MiB and 1 GiB put/get, SMB 3.1.1 plain, signed (AES-GMAC) and encrypted
#     (AES-128-GCM): median seconds of N runs, MiB/s
#   - smbtorture smb2.bench.echo and smb2.bench.path-contention-shared (their own figures)
# Prints both figures and the ratio (cfs / samba, higher is better) per row.
#
# Usage (root, Debian 12): benchmarks/smb_vs_samba.sh [runs=3]
# Installs samba/smbclient/samba-testsuite if missing. Not a test: nothing asserts on time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
peer_src="$(realpath ../shared/peers/smb)"
peer=/tmp/peer-smb
work="$(mktemp -d /tmp/cfs-smb-bench-XXXXXX)"
cfs_port=24445
samba_port=14445
user=smbtest
pass='Passw0rd!'

for pkg in samba smbclient samba-testsuite bc; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" > /dev/null
done

# Samba, as the peer README sets it up.
id "$user" > /dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user"
mkdir -p $peer/{run,lock,state,cache,private,log,share,share2,ncalrpc}
chown "$user" $peer/share*
cp "$peer_src/smb.conf" $peer/smb.conf
printf '%s\n%s\n' "$pass" "$pass" | smbpasswd -c $peer/smb.conf -s -a "$user" > /dev/null
smbd -F --no-process-group --debug-stdout -d0 -s $peer/smb.conf > $peer/log/smbd.stdout 2>&1 &
smbd_pid=$!

bazel build -c opt //bin:cfs-gateway > /dev/null 2>&1
uid=$(id -u "$user")
printf 'users { name: "%s" uid: %s gid: %s smb_password: "%s" }\n' "$user" "$uid" "$uid" "$pass" \
  > "$work/config"
bazel-bin/bin/cfs-gateway --config="$work/config" --data_dir="$work/data" \
  --bind_address=127.0.0.1 --smb_port=$cfs_port --protocols=smb --portmapper_port=0 \
  --log_level=warning 2> "$work/log" &
cfs_pid=$!
trap 'kill $smbd_pid $cfs_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  ss -ltn | grep -q ":$samba_port " && ss -ltn | grep -q ":$cfs_port " && break
  sleep 0.1
done

head -c $((100 << 20)) /dev/urandom > "$work/100M.bin"
head -c $((1024 << 20)) /dev/urandom > "$work/1G.bin"

median() { sort -n | awk '{a[NR]=$1} END{ if(NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# Prints "<put seconds> <get seconds>" medians for one server.
transfer() {
  local port=$1 file=$2; shift 2
  local puts=() gets=()
  for _ in $(seq "$runs"); do
    rm -f "$work/back.bin"
    local t0 t1 t2
    t0=$(date +%s.%N)
    smbclient //127.0.0.1/share -p "$port" -U "$user%$pass" "$@" \
      -c "put $work/$file bench.bin" > /dev/null 2>&1 || echo "put failed on $port" >&2
    t1=$(date +%s.%N)
    smbclient //127.0.0.1/share -p "$port" -U "$user%$pass" "$@" \
      -c "get bench.bin $work/back.bin" > /dev/null 2>&1 || echo "get failed on $port" >&2
    t2=$(date +%s.%N)
    cmp -s "$work/$file" "$work/back.bin" || echo "MISMATCH on port $port" >&2
    puts+=("$(echo "$t1 - $t0" | bc)")
    gets+=("$(echo "$t2 - $t1" | bc)")
  done
  echo "$(printf '%s\n' "${puts[@]}" | median) $(printf '%s\n' "${gets[@]}" | median)"
}

row() {  # name, cfs figure, samba figure, unit
  printf '| %-44s | %10.1f %-6s | %10.1f %-6s | %5.2fx |\n' "$1" "$2" "$4" "$3" "$4" \
    "$(echo "$2 / $3" | bc -l)"
}

echo "| row | cfs-gateway | samba | ratio |"
echo "|---|---|---|---|"
for size in 100M 1G; do
  mib=$([ $size = 100M ] && echo 100 || echo 1024)
  for mode in plain sign encrypt; do
    opts=(-m SMB3_11)
    [ $mode = plain ] || opts+=(--client-protection=$mode)
    read -r cp cg <<< "$(transfer $cfs_port $size.bin "${opts[@]}")"
    read -r sp sg <<< "$(transfer $samba_port $size.bin "${opts[@]}")"
    row "$size put SMB 3.1.1 $mode" "$(echo "$mib / $cp" | bc -l)" "$(echo "$mib / $sp" | bc -l)" MiB/s
    row "$size get SMB 3.1.1 $mode" "$(echo "$mib / $cg" | bc -l)" "$(echo "$mib / $sg" | bc -l)" MiB/s
  done
done

# smbtorture's own benchmarks print, each second, "<op>[num/s=N,...]"; the figure is the median
# of the first operation's per-second rates (echo, or open for path-contention).
bench() {  # port, test
  timeout 300 smbtorture "//127.0.0.1/share" -p "$1" -U "$user%$pass" --target=samba3 \
    --option=torture:timelimit=10 "$2" > "$work/bench.log" 2>&1
  grep -Eo '(echo|open)\[num/s=[0-9]+' "$work/bench.log" | grep -Eo '[0-9]+$' | median
}
for t in smb2.bench.echo smb2.bench.path-contention-shared; do
  c=$(bench $cfs_port $t || true)
  s=$(bench $samba_port $t || true)
  if [ -n "$c" ] && [ -n "$s" ]; then
    row "$t" "$c" "$s" ops/s
  else
    echo "| $t | (no figure: see below) | | |"
    tail -5 "$work/bench.log"
  fi
done
