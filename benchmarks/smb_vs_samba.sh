#!/usr/bin/env bash
# SMB side by side: cfs-gateway (embedded backend) and Samba smbd (../shared/peers/smb set-up)
# on loopback, both driven by the same clients on the same machine:
#   - smbclient 100 MiB and 1 GiB put/get, SMB 3.1.1 plain, signed (AES-GMAC) and encrypted
#     (AES-128-GCM): median seconds of N runs, MiB/s. The two servers take turns within each
#     run (cfs first on odd runs, Samba first on even ones) after one discarded warm-up round,
#     because on this VM the first gigabytes a process writes after a quiet spell are slower
#     (an order bias of up to 2x was measured). Each row also prints smbclient's own CPU time
#     (user + sys) against cfs-gateway and the ceiling it puts on the ratio: samba seconds /
#     client CPU seconds, the ratio a server that cost nothing at all would reach.
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

for pkg in samba smbclient samba-testsuite bc time; do
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
  --bind_address=127.0.0.1 --smb_port=$cfs_port --protocols=smb --portmapper_port=0 --metrics_port=0 --control_port=0 \
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

# One smbclient command; appends "<wall seconds> <client cpu seconds>" to $work/<tag>.
client() {  # tag, port, command, options...
  local tag=$1 port=$2 cmd=$3; shift 3
  /usr/bin/time -o "$work/time" -f '%e %U %S' \
    smbclient //127.0.0.1/share -p "$port" -U "$user%$pass" "$@" -c "$cmd" > /dev/null 2>&1 ||
    echo "$tag failed on $port" >&2
  awk '{print $1, $2 + $3}' "$work/time" >> "$work/$tag"
}

# One put and one get of a file on one server; the get is compared byte for byte.
round() {  # tag prefix, port, file, options...
  local tag=$1 port=$2 file=$3; shift 3
  rm -f "$work/back.bin"
  client "$tag.put" "$port" "put $work/$file bench.bin" "$@"
  client "$tag.get" "$port" "get bench.bin $work/back.bin" "$@"
  cmp -s "$work/$file" "$work/back.bin" || echo "MISMATCH on port $port" >&2
}

# Median of column $2 (1 = wall, 2 = client cpu) of a tag's figures.
col() { awk -v c="$2" '{print $c}' "$work/$1" | median; }

row() {  # name, cfs figure, samba figure, unit[, client cpu seconds, ceiling]
  printf '| %-44s | %10.1f %-6s | %10.1f %-6s | %5.2fx |' "$1" "$2" "$4" "$3" "$4" \
    "$(echo "$2 / $3" | bc -l)"
  if [ $# -gt 4 ]; then printf ' %5.2f s | %5.2fx |' "$5" "$6"; fi
  echo
}

echo "| row | cfs-gateway | samba | ratio | smbclient cpu (cfs) | ceiling |"
echo "|---|---|---|---|---|---|"
for size in 100M 1G; do
  mib=$([ $size = 100M ] && echo 100 || echo 1024)
  for mode in plain sign encrypt; do
    opts=(-m SMB3_11)
    [ $mode = plain ] || opts+=(--client-protection=$mode)
    rm -f "$work"/cfs.* "$work"/samba.*
    round warm $cfs_port $size.bin "${opts[@]}"
    round warm $samba_port $size.bin "${opts[@]}"
    for i in $(seq "$runs"); do
      if [ $((i % 2)) = 1 ]; then
        round cfs $cfs_port $size.bin "${opts[@]}"
        round samba $samba_port $size.bin "${opts[@]}"
      else
        round samba $samba_port $size.bin "${opts[@]}"
        round cfs $cfs_port $size.bin "${opts[@]}"
      fi
    done
    for op in put get; do
      c=$(col cfs.$op 1) s=$(col samba.$op 1) cpu=$(col cfs.$op 2)
      row "$size $op SMB 3.1.1 $mode" "$(echo "$mib / $c" | bc -l)" "$(echo "$mib / $s" | bc -l)" \
        MiB/s "$cpu" "$(echo "$s / $cpu" | bc -l)"
    done
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
