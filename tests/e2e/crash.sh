#!/usr/bin/env bash
# Crash consistency: concurrent downloads by rsp-lpa processes (software eUICCs with distinct
# EIDs, their own retry/back-off machinery) against rsp-smdp processes that are killed with
# SIGKILL at random points and restarted, until CRASH_KILLS kills happened. Then, with the
# servers up again and the expiry sweep done, the store must show:
#   1. no profile bound to two EIDs (sessions that bound a BPP name one EID per ICCID; no ICCID
#      on two eUICCs; every 8th order is raced by a second device with another EID, and at
#      most one rsp-lpa succeeds per order);
#   2. no profile lost: each ordered profile is Installed (for exactly one EID, on that eUICC),
#      or back to Released/Available/Error with an audit record of that transition;
#   3. no session left Started/Authenticated/BPP-bound past its expiry after the sweep;
#   4. every rsp-lpa that exited 0 has its profile Installed in the store for its own EID and
#      on its eUICC;
#   5. `rspctl audit verify` passes.
#
#   crash.sh RSPCTL RSP_SMDP RSP_LPA [sqlite|pg]
# sqlite: one process on a SQLite file. pg: two processes on one PostgreSQL database
# (RSP_TEST_PG from scripts/pg.sh; exit 77 without it) sharing the port with SO_REUSEPORT (the
# kernel spreads connections over the live ones; either one is killed).
# Environment: CRASH_KILLS (100), CRASH_DEVICES (4), CRASH_PROFILES (pool of orders, 150),
# CRASH_SEED, CRASH_REPORT (a file the figures are appended to, Markdown; emptied first with CRASH_REPORT_FRESH=1).
set -euo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
BACKEND=${4:-sqlite}
KILLS=${CRASH_KILLS:-100}
DEVICES=${CRASH_DEVICES:-4}
NPROF=${CRASH_PROFILES:-150}
LIFETIME=${CRASH_SESSION_LIFETIME:-15}
RANDOM=${CRASH_SEED:-$$}
SEED=$RANDOM
for t in curl openssl; do command -v "$t" >/dev/null || { echo "$t missing: skipping"; exit 77; }; done
if [ "$BACKEND" = pg ]; then
  [ -n "${RSP_TEST_PG:-}" ] || { echo "RSP_TEST_PG unset (run through scripts/pg.sh): skipping"; exit 77; }
  command -v psql >/dev/null || { echo "psql missing: skipping"; exit 77; }
  NPROC=2
else
  command -v sqlite3 >/dev/null || { echo "sqlite3 missing: skipping"; exit 77; }
  NPROC=1
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-crash.XXXXXX")
HOST=localhost
OPERATOR=crash-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
PROFILE_TYPE=crash
pgdb="rsp_crash_$$"
declare -a spid
workers=()
log() { echo "crash[$BACKEND]: $*"; }
die() {
  echo "crash[$BACKEND]: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  for p in "${workers[@]}" "${spid[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    for f in "$DIR"/smdp*.log; do echo "----- $f (last 15 lines)"; tail -n 15 "$f"; done 2>/dev/null
    for f in "$DIR"/dev*.log; do echo "----- $f"; tail -n 4 "$f"; done 2>/dev/null | tail -n 40
  fi
  [ "$BACKEND" = pg ] && psql "$RSP_TEST_PG" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1
  if [ "${RSP_KEEP_TMP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
# a command that fails outside a test of its status ends the script (set -e): say which
trap 'echo "crash[$BACKEND]: FAIL: line $LINENO: a command exited with status $?" >&2' ERR

. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
log "seed $SEED: $NPROF profiles, $DEVICES devices, $NPROC server process(es), >= $KILLS kills"
if [ "$NPROF" -le 999 ]; then
  e2e_inventory "$NPROF" 894900000000009 001010000009 3
else
  e2e_inventory "$NPROF" 89490000000009 00101000009 4
fi
if [ "$BACKEND" = pg ]; then
  STORE=$(printf '%s' "$RSP_TEST_PG" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$pgdb#")
  psql "$RSP_TEST_PG" -qc "CREATE DATABASE $pgdb" >/dev/null
  "$RSPCTL" profiles import --db "$STORE" --operator-cert "$DIR/op.pub.pem" \
    --operator "$OPERATOR" --dir "$DIR/profiles" >/dev/null
  q() { psql "$STORE" -qAt -F ' ' -c "$1"; }
else
  STORE=$DIR/smdp.db
  q() { sqlite3 -separator ' ' "$STORE" "$1"; }
fi

port=$(e2e_free_port)
e2e_smdp_conf "$port"
cat >>"$DIR/smdp.conf" <<CONF
database = $STORE
reuse_port = true
threads = 4
session_lifetime = $LIFETIME
sweep_interval = 1
download_attempts = 0
CONF

# starts server i (pid in spid[i]); waits until the port answers
start_server() {
  "$SMDP" -c "$DIR/smdp.conf" >>"$DIR/smdp$1.log" 2>&1 &
  spid[$1]=$!
}
wait_up() {
  for _ in $(seq 200); do
    curl -s -o /dev/null --max-time 2 --cacert "$DIR/pki/nist/ci.pem" "https://$HOST:$port/" && return 0
    sleep 0.05
  done
  return 1
}
for i in $(seq 0 $((NPROC - 1))); do start_server "$i"; done
wait_up || die "rsp-smdp did not start"
ES2_PORT=$port

# the order pool, made before the faults start
: >"$DIR/orders"
for _ in $(seq "$NPROF"); do order >>"$DIR/orders"; done

# workers: DEVICES rsp-lpa processes at a time. Worker d takes orders d, d+DEVICES, ... one after
# the other until the stop file appears, on a new software eUICC (its own eUICC certificate under
# the test EUM, so its own EID) every 4 downloads (an eUICC holds few profiles); each eUICC
# answers every ES10 command after ES10_DELAY ms, so that a download spans several kills' time.
# Logs "ICCID MID STATUS ATTEMPTS MS DEVICE" per download to w$d.results.
new_device() { # name number
  "$RSPCTL" pki issue "$DIR/pki" --role euicc --eid "$(e2e_eid "$2")" -o "$DIR/$1" >/dev/null
  e2e_eid "$2" >"$DIR/$1.eid"
}
worker() {
  local d=$1 n=0 c=0 iccid mid st t0 attempts dev
  : >"$DIR/w$d.results"
  while read -r iccid mid; do
    n=$((n + 1))
    [ $(((n - 1) % DEVICES + 1)) -eq "$d" ] || continue
    [ -e "$DIR/stop" ] && break
    dev="dev$d-$((c / 4))"
    [ -d "$DIR/$dev" ] || new_device "$dev" $((d * 10000 + c / 4))
    c=$((c + 1))
    t0=$(date +%s%N)
    st=0
    "$LPA" --euicc "soft:$DIR/$dev" --euicc-fault "delay-ms=${ES10_DELAY:-30}" --timeout 10 \
      --retries 0 profile download -a "LPA:1\$$HOST:$port\$$mid" --backoff-base 100 \
      --backoff-cap 800 --max-attempts 40 >>"$DIR/$dev.log" 2>&1 || st=$?
    attempts=$(grep -c '"event":"attempt"' "$DIR"/$dev/lpa/*/events.jsonl 2>/dev/null || true)
    rm -f "$DIR"/$dev/lpa/*/events.jsonl
    echo "$iccid $mid $st ${attempts:-0} $((($(date +%s%N) - t0) / 1000000)) $dev" >>"$DIR/w$d.results"
  done <"$DIR/orders"
}
# the racer: a device of its own (its own EID) that tries every 8th order at the same time as
# the worker it belongs to; at most one of the two may get the profile (the other is refused:
# rsp-lpa exit 4), never both
racer() {
  local n=0 c=0 iccid mid st t0 attempts dev
  : >"$DIR/racer.results"
  while read -r iccid mid; do
    n=$((n + 1))
    [ $((n % 8)) -eq 0 ] || continue
    [ -e "$DIR/stop" ] && break
    dev="devR-$((c / 4))"
    [ -d "$DIR/$dev" ] || new_device "$dev" $((90000 + c / 4))
    c=$((c + 1))
    t0=$(date +%s%N)
    st=0
    "$LPA" --euicc "soft:$DIR/$dev" --euicc-fault "delay-ms=${ES10_DELAY:-30}" --timeout 10 \
      --retries 0 profile download -a "LPA:1\$$HOST:$port\$$mid" --backoff-base 100 \
      --backoff-cap 800 --max-attempts 40 >>"$DIR/$dev.log" 2>&1 || st=$?
    attempts=$(grep -c '"event":"attempt"' "$DIR"/$dev/lpa/*/events.jsonl 2>/dev/null || true)
    rm -f "$DIR"/$dev/lpa/*/events.jsonl
    echo "$iccid $mid $st ${attempts:-0} $((($(date +%s%N) - t0) / 1000000)) $dev" >>"$DIR/racer.results"
  done <"$DIR/orders"
}
for d in $(seq "$DEVICES"); do
  worker "$d" &
  workers+=($!)
done
racer &
workers+=($!)

# the killer: SIGKILL a random live server at a random point 20-300 ms after it answers, restart
t_start=$(date +%s)
kills=0
while [ "$kills" -lt "$KILLS" ]; do
  alive=0
  for p in "${workers[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 1 ] || break
  sleep "0.$(printf '%03d' $((20 + RANDOM % 280)))"
  i=$((RANDOM % NPROC))
  kill -9 "${spid[$i]}" 2>/dev/null || true
  wait "${spid[$i]}" 2>/dev/null || true
  kills=$((kills + 1))
  start_server "$i"
  wait_up || die "rsp-smdp did not restart after kill $kills"
done
touch "$DIR/stop"
t_kill=$(($(date +%s) - t_start))
log "$kills kills in ${t_kill}s; waiting for the downloads in flight"
for p in "${workers[@]}"; do wait "$p" || true; done
workers=()
wait_up || die "rsp-smdp is not up"

# a device whose rsp-lpa gave up after the profile was installed (its notification lost to a
# kill) still holds the pending installation notification: the LPA sends it later, as a phone
# would once it is back online
devs() { for f in "$DIR"/dev*.eid; do basename "$f" .eid; done; }
for dev in $(devs); do
  "$LPA" --euicc "soft:$DIR/$dev" notification process --all >>"$DIR/$dev.log" 2>&1 ||
    die "$dev: notification process failed: $(tail -n 3 "$DIR/$dev.log")"
done

# let every session expire and the sweeper (every second, in each process) run
sleep $((LIFETIME + 3))
now=$(date +%s)

cat "$DIR"/w*.results "$DIR/racer.results" >"$DIR/results"
n_dl=$(wc -l <"$DIR/results")
n_ok=$(awk '$3 == 0' "$DIR/results" | wc -l)
# two devices succeeding for one order
while read -r iccid; do
  echo "crash[$BACKEND]: INVARIANT: two rsp-lpa succeeded for $iccid" >&2
  two_ok=1
done < <(awk '$3 == 0 {print $1}' "$DIR/results" | sort | uniq -d)
races=$(wc -l <"$DIR/racer.results")
races_won=$(awk '$3 == 0' "$DIR/racer.results" | wc -l)
races_refused=$(awk '$3 == 4' "$DIR/racer.results" | wc -l)
fails=${two_ok:-0}
bad() {
  echo "crash[$BACKEND]: INVARIANT: $*" >&2
  fails=$((fails + 1))
}

# 1. one EID per profile among sessions that bound a BPP; no ICCID on two eUICCs
while read -r iccid n; do
  bad "profile $iccid was bound for $n EIDs"
done < <(q "SELECT iccid, count(DISTINCT eid) FROM sessions WHERE bpp IS NOT NULL GROUP BY iccid HAVING count(DISTINCT eid) > 1")
: >"$DIR/on_euicc"
for dev in $(devs); do
  # a device whose every download was refused or rolled back holds no profile: no match is fine
  list=$("$LPA" --euicc "soft:$DIR/$dev" --json profile list) || die "$dev: profile list failed"
  printf '%s\n' "$list" | { grep -o '"iccid":"[0-9F]*"' || true; } | sed 's/.*:"\([0-9]*\)F*"/\1/' |
    sed "s/\$/ $(cat "$DIR/$dev.eid")/" >>"$DIR/on_euicc"
done
while read -r iccid; do
  bad "profile $iccid is on two eUICCs"
done < <(cut -d' ' -f1 "$DIR/on_euicc" | sort | uniq -d)

# 2. every ordered profile: Installed for one EID and on that eUICC, or rolled back/Error with
#    an audit record of the transition into its state; every profile on an eUICC is Installed
#    for that eUICC's EID
declare -A states
while read -r iccid state eid; do
  states[$iccid]="$state ${eid:-}"
  case "$state" in
    Installed)
      [ -n "${eid:-}" ] || bad "profile $iccid Installed without an EID"
      grep -q "^$iccid ${eid:-none}\$" "$DIR/on_euicc" || bad "profile $iccid Installed for ${eid:-?} but not on that eUICC"
      ;;
    Released | Available | Error)
      if [ "$state" != Released ] || [ "$(q "SELECT count(*) FROM sessions WHERE iccid = '$iccid'")" != 0 ]; then
        [ "$(q "SELECT count(*) FROM audit WHERE key = '$iccid' AND to_state = '$state'")" -ge 1 ] ||
          bad "profile $iccid is $state with no audit record of it"
      fi
      ;;
    *) bad "profile $iccid stuck in $state" ;;
  esac
done < <(q "SELECT iccid, state, eid FROM profiles WHERE profile_type = '$PROFILE_TYPE'")
while read -r iccid eid; do
  set -- ${states[$iccid]:-none}
  [ "$1" = Installed ] && [ "${2:-}" = "$eid" ] ||
    bad "profile $iccid is on the eUICC of $eid but the store says '${states[$iccid]:-nothing}'"
done <"$DIR/on_euicc"
[ "${#states[@]}" -eq "$NPROF" ] || bad "${#states[@]} profiles in the store, expected $NPROF"

# 3. no live session past expiry
stuck=$(q "SELECT count(*) FROM sessions WHERE state IN ('Started','Authenticated','BPP-bound') AND expires_at <= $now")
[ "$stuck" = 0 ] || bad "$stuck sessions still live past their expiry after the sweep"

# 4. every successful rsp-lpa: Installed for its EID, on its eUICC
while read -r iccid mid st _ _ dev; do
  [ "$st" = 0 ] || continue
  eid=$(cat "$DIR/$dev.eid")
  set -- ${states[$iccid]:-none}
  [ "$1" = Installed ] && [ "${2:-}" = "$eid" ] ||
    bad "rsp-lpa on $dev succeeded for $iccid but the store says '${states[$iccid]:-nothing}'"
  grep -q "^$iccid $eid\$" "$DIR/on_euicc" || bad "rsp-lpa on $dev succeeded for $iccid but it is not on the eUICC"
done <"$DIR/results"

# 5. the audit chain
"$RSPCTL" audit verify --db "$STORE" --chain-only --quiet >"$DIR/verify.out" 2>&1 ||
  bad "rspctl audit verify: $(head -n 5 "$DIR/verify.out")"

installed=$(q "SELECT count(*) FROM profiles WHERE profile_type = '$PROFILE_TYPE' AND state = 'Installed'")
expired=$(q "SELECT count(*) FROM sessions WHERE state = 'Expired'")
nsess=$(q "SELECT count(*) FROM sessions")
attempts_sum=$(awk '{s += $4} END {print s + 0}' "$DIR/results")
summary="$kills kills (SIGKILL) of $NPROC process(es) in ${t_kill}s; $n_dl downloads started, $n_ok completed by rsp-lpa, $installed profiles Installed, $attempts_sum attempts in all; $races orders raced by a second EID ($races_won won by it, $races_refused refused to it); $nsess sessions ($expired expired by the sweeper); seed $SEED"
log "$summary"
if [ -n "${CRASH_REPORT:-}" ]; then
  [ "${CRASH_REPORT_FRESH:-0}" = 1 ] && : >"$CRASH_REPORT"
  {
    echo "### crash consistency ($BACKEND)"
    echo
    echo "$summary."
    echo "Invariants: $([ "$fails" = 0 ] && echo "all hold" || echo "$fails VIOLATED")."
    echo
  } >>"$CRASH_REPORT"
fi
[ "$fails" = 0 ] || die "$fails invariant(s) violated"
[ "$n_ok" -ge 1 ] || die "no download completed (the test proves nothing)"
[ "$kills" -ge "$KILLS" ] || die "only $kills kills: the downloads ran out first (raise CRASH_PROFILES)"
log "PASS"
