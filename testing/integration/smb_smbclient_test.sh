#!/usr/bin/env bash
# smbclient (Debian's Samba client, an independent SMB implementation) against the cfs-gateway
# binary on 127.0.0.1: every dialect (2.0.2, 2.1, 3.0, 3.1.1), plain, signed and encrypted:
# mkdir, put/get of a 256 MiB file with matching checksums, rename, ls, rm, rmdir. Then
# `smbclient -L`, a wrong password, a share that requires encryption, the same files read and
# written over NFS (libnfs's nfs-cp) and S3 (aws CLI) byte for byte, and kill -9 of the gateway
# after a put: the file a closed SMB handle wrote reads back intact after the restart.
set -uo pipefail
gateway="$(realpath "$1")"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cfs-smb-XXXXXX")"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; tail -50 "$work/log" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=AKIDALICE AWS_SECRET_ACCESS_KEY=alice-secret-123 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null HOME="$work"

cat > "$work/config.txtpb" <<EOF
users { name: "alice" uid: 1000 gid: 1000 smb_password: "Passw0rd!"
        s3_keys { access_key_id: "AKIDALICE" secret: "alice-secret-123" } }
exports { id: 1 name: "main" path: "/" nfs_path: "/export" smb_share: "share" s3_buckets: true }
exports { id: 2 name: "secret" path: "/enc" nfs_path: "/enc" smb_share: "encshare" s3_buckets: false
          smb_encrypt: true }
EOF

# A sanitizer build of the gateway (--config=asan/tsan) reports to its log: any report fails.
check_sanitizer() {
  if [ -f "$work/log" ] && grep -q "Sanitizer" "$work/log"; then fail "sanitizer report"; fi
}

start() {
  check_sanitizer
  : > "$work/log"
  "$gateway" --config="$work/config.txtpb" --data_dir="$work/data" --bind_address=127.0.0.1 \
    --nfs_port=0 --mount_port=0 --s3_port=0 --smb_port=0 --portmapper_port=0 --metrics_port=0 --control_port=0 2> "$work/log" &
  pid=$!
  for _ in $(seq 300); do grep -q "ready;" "$work/log" && break; sleep 0.1; done
  grep -q "ready;" "$work/log" || fail "gateway did not start"
  smb=$(sed -n 's/.*smb listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  s3=$(sed -n 's/.*s3 listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  nfs=$(sed -n 's/.*nfs listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  mnt=$(sed -n 's/.*mount listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  [ -n "$smb" ] && [ -n "$s3" ] && [ -n "$nfs" ] || fail "ports missing in the log"
}
smbc() {  # share, then smbclient options
  local share="$1"; shift
  timeout 300 smbclient "//127.0.0.1/$share" -p "$smb" -U 'alice%Passw0rd!' "$@"
}
nfs_url() { echo "nfs://127.0.0.1/export/$1?nfsport=$nfs&mountport=$mnt&version=3&uid=1000&gid=1000"; }

# The encrypted export's directory must exist before the gateway resolves it: create it over a
# first run with only the main export... simpler: start once, mkdir over SMB, restart.
sed -i 's/^exports { id: 2.*$//; s/^          smb_encrypt: true }$//' "$work/config.txtpb"
start
smbc share -m SMB3 -c 'mkdir enc' > "$work/out" 2>&1 || fail "mkdir enc: $(cat "$work/out")"
kill "$pid"; wait "$pid" 2>/dev/null
cat >> "$work/config.txtpb" <<EOF
exports { id: 2 name: "secret" path: "/enc" nfs_path: "/enc" smb_share: "encshare" s3_buckets: false
          smb_encrypt: true }
EOF
start

head -c $((256 << 20)) /dev/urandom > "$work/big.bin"
want=$(sha256sum < "$work/big.bin")
cd "$work" || exit 1
for combo in SMB2_02:off SMB2_02:sign SMB2_10:off SMB2_10:sign SMB3_00:off SMB3_00:sign \
             SMB3_00:encrypt SMB3_11:off SMB3_11:sign SMB3_11:encrypt; do
  dialect=${combo%%:*}; protection=${combo##*:}
  dir="d_${dialect}_${protection}"
  rm -f back.bin
  smbc share -m "$dialect" --option="client min protocol=$dialect" \
    --client-protection="$protection" \
    -c "mkdir $dir; cd $dir; put big.bin big; get big back.bin; rename big moved; ls" \
    > "$work/out" 2>&1 || fail "$combo: $(cat "$work/out")"
  grep -q "moved" "$work/out" || fail "$combo: ls does not show the renamed file: $(cat "$work/out")"
  [ "$(sha256sum < back.bin)" = "$want" ] || fail "$combo: the file read back differs"
  smbc share -m "$dialect" --client-protection="$protection" \
    -c "cd $dir; rm moved; cd ..; rmdir $dir" > "$work/out" 2>&1 || fail "$combo rm: $(cat "$work/out")"
  smbc share -m "$dialect" -c "ls $dir" > "$work/out" 2>&1
  grep -q "NT_STATUS_OBJECT_NAME_NOT_FOUND\|NT_STATUS_NO_SUCH_FILE" "$work/out" ||
    fail "$combo: $dir still listed after rmdir: $(cat "$work/out")"
  echo "ok $combo"
done

# Share listing through srvsvc on IPC$.
timeout 60 smbclient -L 127.0.0.1 -p "$smb" -U 'alice%Passw0rd!' > "$work/out" 2>&1
grep -Eq "^\s+share\s+Disk" "$work/out" || fail "smbclient -L: $(cat "$work/out")"
grep -Eq "^\s+encshare\s+Disk" "$work/out" || fail "smbclient -L encshare: $(cat "$work/out")"
grep -Eq "^\s+IPC\\$\s+IPC" "$work/out" || fail "smbclient -L IPC$: $(cat "$work/out")"

# A wrong password is a logon failure.
timeout 60 smbclient //127.0.0.1/share -p "$smb" -U 'alice%wrong' -c ls > "$work/out" 2>&1 &&
  fail "a wrong password was accepted"
grep -q NT_STATUS_LOGON_FAILURE "$work/out" || fail "wrong password: $(cat "$work/out")"

# A share that requires encryption: SMB 2.1 cannot connect; SMB 3.1.1 encrypts on its own.
smbc encshare -m SMB2_10 --option="client min protocol=SMB2_10" -c ls > "$work/out" 2>&1 &&
  fail "SMB 2.1 reached an encrypted share"
grep -q NT_STATUS_ACCESS_DENIED "$work/out" || fail "encshare over 2.1: $(cat "$work/out")"
echo secret > small.txt
smbc encshare -m SMB3_11 -c "put small.txt s.txt; get s.txt s.back" > "$work/out" 2>&1 ||
  fail "encshare over 3.1.1: $(cat "$work/out")"
cmp -s small.txt s.back || fail "encshare round trip differs"

# The same files over NFS and S3, both ways.
head -c $((5 << 20)) /dev/urandom > mp.bin
smbc share -m SMB3_11 -c "mkdir xbucket; put mp.bin xbucket\\from-smb.bin" > "$work/out" 2>&1 ||
  fail "put for NFS/S3: $(cat "$work/out")"
timeout 60 nfs-cp "$(nfs_url xbucket/from-smb.bin)" nfs.back > "$work/out" 2>&1 ||
  fail "nfs-cp read: $(cat "$work/out")"
cmp -s mp.bin nfs.back || fail "SMB -> NFS differs"
timeout 120 /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3" s3 cp --no-progress \
  s3://xbucket/from-smb.bin s3.back > "$work/out" 2>&1 || fail "S3 read: $(cat "$work/out")"
cmp -s mp.bin s3.back || fail "SMB -> S3 differs"
head -c 3000000 /dev/urandom > n.bin
head -c 4000000 /dev/urandom > s.bin
timeout 60 nfs-cp n.bin "$(nfs_url xbucket/from-nfs.bin)" > "$work/out" 2>&1 ||
  fail "nfs-cp write: $(cat "$work/out")"
timeout 120 /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3" s3 cp --no-progress s.bin \
  s3://xbucket/from-s3.bin > "$work/out" 2>&1 || fail "S3 write: $(cat "$work/out")"
smbc share -m SMB3_11 -c "cd xbucket; get from-nfs.bin n.back; get from-s3.bin s.back2" \
  > "$work/out" 2>&1 || fail "SMB read of NFS/S3 files: $(cat "$work/out")"
cmp -s n.bin n.back || fail "NFS -> SMB differs"
cmp -s s.bin s.back2 || fail "S3 -> SMB differs"
echo "ok multi-protocol"

# kill -9 after the put: a file written and closed over SMB survives.
smbc share -m SMB3_11 -c "put mp.bin durable.bin" > "$work/out" 2>&1 || fail "put durable"
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
start
rm -f durable.back
smbc share -m SMB3_11 -c "get durable.bin durable.back" > "$work/out" 2>&1 ||
  fail "get after kill -9: $(cat "$work/out")"
cmp -s mp.bin durable.back || fail "the file put before kill -9 differs after the restart"
echo "ok kill -9"
check_sanitizer
echo PASS
