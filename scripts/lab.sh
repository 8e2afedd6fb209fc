#!/usr/bin/env bash
# `make lab`: a lab deployment for test engineers who point other LPAs and real devices at rspkit.
#
#   scripts/lab.sh [start] [--fresh] [--dir DIR] [--host HOST] [--port PORT] [--orders N]
#   scripts/lab.sh exec [--dir DIR] -- CMD [ARGS...]   run CMD where the lab's pcscd is visible
#   scripts/lab.sh stop [--dir DIR]                    SIGTERM to a running lab
#
# start (the default) brings up, all state under LAB_DIR (default ./lab):
#   - the SM-DP+ (rsp-smdp) on HTTPS at HOST:PORT (LAB_HOST / LAB_PORT, default 127.0.0.1:8443),
#     with a test PKI whose DPtls certificate names HOST;
#   - a software eUICC exposed as a PC/SC card: its own pcscd with the vpcd driver, reader
#     "rspkit lab vpcd 00 00", and `rsp-euicc serve --vpcd`, in a private mount namespace (a tmpfs
#     over /run) so that it never meets a system pcscd;
#   - N released orders (LAB_ORDERS, default 5) on profiles generated, operator-signed and imported
#     for this run, plus the GSMA TS.48 test profile when ../shared holds it.
# It prints one activation code per line, the CI certificate a device must trust and where the
# logs are, then runs until SIGINT/SIGTERM and stops everything it started. A restart reuses
# LAB_DIR's PKI, SM-DP+ database and eUICC state (--fresh starts from nothing).
#
# PC/SC clients reach the lab's pcscd only inside its mount namespace: `scripts/lab.sh exec -- CMD`
# runs CMD there (nsenter into the namespace; the command line is also in LAB_DIR/run/nsenter),
# e.g.  scripts/lab.sh exec -- build/src/lpa/rsp-lpa --pcsc rspkit profile list
set -euo pipefail
INVOKE_DIR=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD
SELF="$ROOT/scripts/lab.sh"

die() {
  echo "lab: $*" >&2
  exit 1
}
usage() {
  sed -n '4,6p' "$SELF" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}
absdir() { case "$1" in /*) echo "$1" ;; *) echo "$INVOKE_DIR/$1" ;; esac; }

cmd=start
case "${1:-}" in start | exec | stop | __pcsc) cmd=$1; shift ;; -h | --help) usage 0 ;; esac

LAB_DIR=${LAB_DIR:-lab}
HOST=${LAB_HOST:-127.0.0.1}
PORT=${LAB_PORT:-8443}
ORDERS=${LAB_ORDERS:-5}
FRESH=0
if [ "$cmd" != __pcsc ]; then
  while [ $# -gt 0 ]; do
    case "$1" in
      --fresh) FRESH=1 ;;
      --dir) LAB_DIR=${2:?--dir needs a value}; shift ;;
      --host) HOST=${2:?--host needs a value}; shift ;;
      --port) PORT=${2:?--port needs a value}; shift ;;
      --orders) ORDERS=${2:?--orders needs a value}; shift ;;
      --) shift; break ;;
      -h | --help) usage 0 ;;
      *) [ "$cmd" = exec ] && break; echo "lab: unknown argument '$1'" >&2; usage ;;
    esac
    shift
  done
fi
LAB_DIR=$(absdir "$LAB_DIR")
RUN="$LAB_DIR/run"
LOGS="$LAB_DIR/logs"

# ---- exec: run a command inside the running lab's mount namespace ----------------------------
if [ "$cmd" = exec ]; then
  [ $# -gt 0 ] || die "usage: scripts/lab.sh exec [--dir DIR] -- CMD [ARGS...]"
  [ -s "$RUN/nsenter" ] || die "no lab running in $LAB_DIR (no $RUN/nsenter)"
  read -r -a ns_cmd <"$RUN/nsenter"
  kill -0 "${ns_cmd[-1]}" 2>/dev/null || die "the lab's namespace (pid ${ns_cmd[-1]}) is gone"
  # entering a mount namespace moves to its root: keep the caller's working directory
  exec "${ns_cmd[@]}" --wd="$INVOKE_DIR" -- "$@"
fi

if [ "$cmd" = stop ]; then
  if ! [ -s "$RUN/lab.pid" ] || ! kill -0 "$(cat "$RUN/lab.pid")" 2>/dev/null; then
    die "no lab running in $LAB_DIR"
  fi
  kill -TERM "$(cat "$RUN/lab.pid")"
  echo "lab: SIGTERM sent to $(cat "$RUN/lab.pid")"
  exit 0
fi

find_vpcd_driver() {
  local f
  for f in /etc/reader.conf.d/vpcd /etc/reader.conf.d/*vpcd*; do
    [ -f "$f" ] || continue
    awk '$1 == "LIBPATH" { print $2; exit }' "$f"
    return 0
  done
  for f in /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/*/pcsc/drivers/serial/libifdvpcd.so \
    /usr/local/lib/pcsc/drivers/serial/libifdvpcd.so; do
    [ -e "$f" ] && echo "$f" && return 0
  done
  return 0
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die "no build directory (run 'make' first)"
EUICC="$BUILD/src/bin/rsp-euicc"
[ -x "$EUICC" ] || EUICC="$BUILD/src/euicc/rsp-euicc"

# ---- __pcsc: inside the private mount namespace: pcscd + vpcd + rsp-euicc serve --------------
if [ "$cmd" = __pcsc ]; then
  HOST=$1 PORT=$2
  PATH=$PATH:/usr/sbin
  pids=()
  stop_pcsc() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    done
  }
  trap stop_pcsc EXIT
  trap 'exit 0' INT TERM
  mount -t tmpfs -o mode=0755 rsp-lab-run /run || die "cannot mount a private /run"
  vport=
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    [ "$p" = "$PORT" ] || port_busy "$p" || { vport=$p && break; }
  done
  [ -n "$vport" ] || die "no free TCP port for vpcd"
  mkdir -p "$RUN/reader.conf.d"
  cat >"$RUN/reader.conf.d/rspkit-lab-vpcd" <<EOF
FRIENDLYNAME "rspkit lab vpcd"
DEVICENAME   /dev/null:$vport
LIBPATH      $(find_vpcd_driver)
CHANNELID    $vport
EOF
  pcscd --foreground --debug --config "$RUN/reader.conf.d" >"$LOGS/pcscd.log" 2>&1 &
  pids+=($!)
  echo "${pids[0]}" >"$RUN/pcscd.pid"
  for i in $(seq 100); do
    port_busy "$vport" && break
    kill -0 "${pids[0]}" 2>/dev/null || die "pcscd exited early (see $LOGS/pcscd.log)"
    [ "$i" -eq 100 ] && die "vpcd did not listen on port $vport within 10 s"
    sleep 0.1
  done
  "$EUICC" serve --vpcd "127.0.0.1:$vport" --config "$LAB_DIR/pki" --state "$LAB_DIR/euicc.state" \
    --default-dp "$HOST:$PORT" --verbose >"$LOGS/rsp-euicc.log" 2>&1 &
  pids+=($!)
  echo "${pids[1]}" >"$RUN/euicc.pid"
  echo "$vport" >"$RUN/vpcd.port"
  while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do
    sleep 1 &
    wait $! || true
  done
  die "pcscd or rsp-euicc stopped on its own (see $LOGS)"
fi

# ---- start ---------------------------------------------------------------------------------
RSPCTL="$BUILD/src/bin/rspctl"
SMDP="$BUILD/src/smdp/rsp-smdp"
SHARED=${RSP_SHARED_DIR:-../shared}
OPERATOR=lab-operator
case "$ORDERS" in '' | *[!0-9]*) die "--orders wants a number" ;; esac
case "$PORT" in '' | *[!0-9]*) die "--port wants a number" ;; esac
if [[ "$HOST" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then LISTEN=$HOST; else LISTEN=127.0.0.1; fi
[[ "$LISTEN" == 127.* ]] || die "the lab listens on loopback addresses only (got $HOST)"

PATH=$PATH:/usr/sbin
command -v pcscd >/dev/null 2>&1 && [ -n "$(find_vpcd_driver)" ] ||
  die "pcscd or the vpcd driver is missing (scripts/deps.sh installs pcscd and vsmartcard-vpcd)"
command -v nsenter >/dev/null 2>&1 || die "nsenter (util-linux) is missing"
if [ "$(id -u)" -eq 0 ]; then
  ns=(unshare --mount --propagation private)
  ns_enter=(nsenter -m -t)
else
  ns=(unshare --user --map-root-user --mount --propagation private)
  ns_enter=(nsenter -U -m -t)
fi
"${ns[@]}" true 2>/dev/null ||
  die "no private mount namespace available ('${ns[*]}' fails); the lab never shares a system pcscd"

if [ -s "$RUN/lab.pid" ] && kill -0 "$(cat "$RUN/lab.pid")" 2>/dev/null; then
  die "a lab is already running in $LAB_DIR (pid $(cat "$RUN/lab.pid")); 'scripts/lab.sh stop'"
fi
port_busy "$PORT" && die "port $PORT is in use on 127.0.0.1 (LAB_PORT / --port)"
[ "$FRESH" = 1 ] && rm -rf "$LAB_DIR"
if [ -d "$LAB_DIR/pki" ] && [ "$(cat "$LAB_DIR/lab.host" 2>/dev/null)" != "$HOST" ]; then
  die "$LAB_DIR was made for host '$(cat "$LAB_DIR/lab.host" 2>/dev/null)', not '$HOST': use --fresh"
fi
rm -rf "$RUN"
mkdir -p "$RUN" "$LOGS" "$LAB_DIR/profiles"
echo $$ >"$RUN/lab.pid"

smdp_pid=
ns_pid=
sleep_pid=
stopping=0
cleanup() {
  local rc=$?
  stopping=1
  trap - INT TERM
  for p in $ns_pid $smdp_pid $sleep_pid; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $ns_pid $smdp_pid $sleep_pid; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -f "$RUN/nsenter" "$RUN/lab.pid"
  [ -n "$ns_pid$smdp_pid" ] && echo "lab: stopped (logs in $LOGS)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# 1. PKI (reused), operator key (reused), profiles for this run
if [ ! -d "$LAB_DIR/pki" ]; then
  echo "lab: test PKI for the SM-DP+ at $HOST"
  "$RSPCTL" pki init "$LAB_DIR/pki" --curve both --smdp-host "$HOST" >"$LOGS/pki.log"
  echo "$HOST" >"$LAB_DIR/lab.host"
  rm -f "$LAB_DIR/smdp.db" "$LAB_DIR/euicc.state"
fi
if [ ! -s "$LAB_DIR/operator.key.pem" ]; then
  (umask 077 && openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -out "$LAB_DIR/operator.key.pem")
  openssl pkey -in "$LAB_DIR/operator.key.pem" -pubout -out "$LAB_DIR/operator.pub.pem"
fi
serial=$(cat "$LAB_DIR/next-serial" 2>/dev/null || echo 1)
batch="$LAB_DIR/profiles/batch$serial"
mkdir -p "$batch"
for _ in $(seq "$ORDERS"); do
  s=$(printf '%05d' "$serial")
  "$RSPCTL" profiles generate --iccid "89490000000001$s" --imsi "00101700$(printf '%07d' "$serial")" \
    --spn "rspkit lab" --profile-type lab -o "$batch/lab$s.der" >/dev/null
  "$RSPCTL" manifest sign --key "$LAB_DIR/operator.key.pem" --operator "$OPERATOR" \
    --package "$batch/lab$s.der" --name "Lab profile $s" --class operational \
    --profile-type lab --owner 00101 -o "$batch/lab$s.manifest" >/dev/null
  serial=$((serial + 1))
done
ts48="$SHARED/testdata/ts48-upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"
if [ -f "$ts48" ] && [ ! -e "$LAB_DIR/profiles/ts48.imported" ]; then
  cp "$ts48" "$batch/ts48.der"
  "$RSPCTL" manifest sign --key "$LAB_DIR/operator.key.pem" --operator "$OPERATOR" \
    --package "$batch/ts48.der" --name "GSMA TS.48 test profile" --class test \
    --profile-type ts48 -o "$batch/ts48.manifest" >/dev/null
  touch "$LAB_DIR/profiles/ts48.imported"
fi
"$RSPCTL" profiles import --db "$LAB_DIR/smdp.db" --operator-cert "$LAB_DIR/operator.pub.pem" \
  --operator "$OPERATOR" --dir "$batch" >"$LOGS/import.log" 2>&1 ||
  { cat "$LOGS/import.log" >&2; die "profile import failed"; }
echo "$serial" >"$LAB_DIR/next-serial"

# 2. SM-DP+ on HTTPS (an ES2+ token per run, readable by the owner only)
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s\n' "$TOKEN" >"$RUN/es2.token")
token_hash=$(printf '%s' "$TOKEN" | openssl dgst -sha256 -r | cut -d' ' -f1)
cat >"$LAB_DIR/rsp-smdp.conf" <<CONF
host = $HOST:$PORT
listen_address = $LISTEN
port = $PORT
tls_chain = $LAB_DIR/pki/nist/dptls.chain.pem
tls_key = $LAB_DIR/pki/nist/dptls.key.pem
dpauth_cert = $LAB_DIR/pki/nist/dpauth.pem
dpauth_key = $LAB_DIR/pki/nist/dpauth.key.pem
dppb_cert = $LAB_DIR/pki/nist/dppb.pem
dppb_key = $LAB_DIR/pki/nist/dppb.key.pem
ci_certs = $LAB_DIR/pki/nist/ci.pem
db_path = $LAB_DIR/smdp.db
operator = $OPERATOR token_sha256=$token_hash
CONF
"$SMDP" -c "$LAB_DIR/rsp-smdp.conf" >>"$LOGS/rsp-smdp.log" 2>&1 &
smdp_pid=$!
echo "$smdp_pid" >"$RUN/smdp.pid"
CI="$LAB_DIR/pki/nist/ci.pem"
for i in $(seq 100); do
  curl -s -o /dev/null --cacert "$CI" --resolve "$HOST:$PORT:$LISTEN" "https://$HOST:$PORT/" && break
  kill -0 "$smdp_pid" 2>/dev/null || { tail -n 20 "$LOGS/rsp-smdp.log" >&2; die "rsp-smdp exited"; }
  [ "$i" -eq 100 ] && die "rsp-smdp did not answer on https://$HOST:$PORT within 10 s"
  sleep 0.1
done

# 3. pcscd + vpcd + rsp-euicc in the private mount namespace
"${ns[@]}" env LAB_DIR="$LAB_DIR" BUILD="$BUILD" bash "$SELF" __pcsc "$HOST" "$PORT" \
  >>"$LOGS/lab-pcsc.log" 2>&1 &
ns_pid=$!
echo "$ns_pid" >"$RUN/ns.pid"
for i in $(seq 100); do
  [ -s "$RUN/euicc.pid" ] && grep -q "connected" "$LOGS/rsp-euicc.log" 2>/dev/null && break
  kill -0 "$ns_pid" 2>/dev/null || { cat "$LOGS/lab-pcsc.log" >&2; die "the PC/SC side failed"; }
  [ "$i" -eq 100 ] && { cat "$LOGS/lab-pcsc.log" >&2; die "the software eUICC did not reach vpcd in 10 s"; }
  sleep 0.1
done
echo "${ns_enter[*]} $ns_pid" >"$RUN/nsenter"
# vpcd accepting the card's connection is not yet pcscd seeing a card in the reader (it polls):
# wait until a PC/SC client in the namespace really reads the EID, so "ready" means usable.
for i in $(seq 150); do
  "${ns_enter[@]}" "$ns_pid" --wd="$PWD" "$BUILD/src/lpa/rsp-lpa" --pcsc rspkit chip info \
    >/dev/null 2>&1 && break
  kill -0 "$ns_pid" 2>/dev/null || { cat "$LOGS/lab-pcsc.log" >&2; die "the PC/SC side failed"; }
  [ "$i" -eq 150 ] && { cat "$LOGS/lab-pcsc.log" >&2; die "pcscd did not show the card in 15 s"; }
  sleep 0.1
done

# 4. Released orders (ES2+ DownloadOrder + ConfirmOrder with releaseFlag)
es2() { # function body
  curl -sS --cacert "$CI" --resolve "$HOST:$PORT:$LISTEN" -H 'Content-Type: application/json' \
    -H 'X-Admin-Protocol: gsma/rsp/v2.5.0' -H "Authorization: Bearer $TOKEN" \
    -d "$2" "https://$HOST:$PORT/gsma/rsp2/es2plus/$1"
}
hdr="\"header\":{\"functionRequesterIdentifier\":\"$OPERATOR\",\"functionCallIdentifier\":\"lab-$$\"}"
order() { # profileType -> activation code on stdout, or nothing
  local o iccid c mid
  o=$(es2 downloadOrder "{$hdr,\"profileType\":\"$1\"}") || return 0
  iccid=$(printf '%s' "$o" | sed -n 's/.*"iccid":"\([0-9F]*\)".*/\1/p')
  [ -n "$iccid" ] || { echo "lab: DownloadOrder ($1): $o" >>"$LOGS/orders.log"; return 0; }
  c=$(es2 confirmOrder "{$hdr,\"iccid\":\"$iccid\",\"releaseFlag\":true}") || return 0
  mid=$(printf '%s' "$c" | sed -n 's/.*"matchingId":"\([^"]*\)".*/\1/p')
  [ -n "$mid" ] || { echo "lab: ConfirmOrder $iccid: $c" >>"$LOGS/orders.log"; return 0; }
  echo "$iccid LPA:1\$$HOST:$PORT\$$mid" >>"$LOGS/orders.log"
  echo "LPA:1\$$HOST:$PORT\$$mid"
}
: >"$RUN/codes.txt"
for _ in $(seq "$ORDERS"); do order lab >>"$RUN/codes.txt"; done
[ -f "$LAB_DIR/profiles/ts48.imported" ] && order ts48 >>"$RUN/codes.txt"
[ -s "$RUN/codes.txt" ] || die "no order could be released (see $LOGS/orders.log)"

reader="rspkit lab vpcd 00 00"
cat <<EOF
lab: SM-DP+ https://$HOST:$PORT (rsp-smdp, database $LAB_DIR/smdp.db)
lab: software eUICC as PC/SC reader "$reader" (state $LAB_DIR/euicc.state)
lab: activation codes (one per released order):
$(cat "$RUN/codes.txt")
lab: CI certificate a device must trust (TLS and RSP): $CI
lab: ES2+ bearer token for operator '$OPERATOR': $RUN/es2.token
lab: logs in $LOGS
lab: PC/SC clients run inside the lab's namespace:
lab:   scripts/lab.sh exec --dir $LAB_DIR -- $BUILD/src/lpa/rsp-lpa --pcsc rspkit --ca $CI profile download -a CODE --enable
lab:   (or: $(cat "$RUN/nsenter") --wd="\$PWD" -- CMD)
lab: ready; Ctrl-C (SIGINT) or SIGTERM stops everything
EOF
echo ready >"$RUN/ready"

while [ "$stopping" = 0 ]; do
  kill -0 "$smdp_pid" 2>/dev/null || die "rsp-smdp stopped on its own (see $LOGS/rsp-smdp.log)"
  kill -0 "$ns_pid" 2>/dev/null || die "the PC/SC side stopped on its own (see $LOGS/lab-pcsc.log)"
  sleep 1 &
  sleep_pid=$!
  wait "$sleep_pid" || true
done
