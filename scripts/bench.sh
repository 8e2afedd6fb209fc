#!/usr/bin/env bash
# `make bench`: runs the benchmarks and rewrites BENCHMARKS.md with the machine, the commands and
# the numbers. Micro-benchmarks report CPU time of the benchmark process; the load generator
# (bench/loadgen.c) reports wall-clock rates and latencies and the server's CPU time from /proc.
#
# Sizes (environment): BENCH_ITERS (crypto, 2000), BENCH_AUDIT_RECORDS (20000),
# BENCH_IMPORT_N (inventory import per backend, 1000000), BENCH_DL_N (downloads per throughput
# run, 1000), BENCH_RATE_N (downloads at 80% of peak, 600), BENCH_OPEN_N (open sessions, 25000),
# BENCH_THREADS (generator device threads, 8), BENCH_SMDP_THREADS (rsp-smdp HTTP workers, 4),
# BENCH_SIGNS (PKCS#11 signs per thread, 2000), BENCH_PROF_N (downloads profiled with perf, 600).
# The defaults test the issue's targets at their sizes (1M profiles, 25,000 sessions) and take
# roughly 17 minutes on a quiet 2-core machine; most of it is the four 1M imports (two backends,
# per-profile and batch manifests) and the 25,000 orders. BENCH_QUICK=1 divides the big sizes by
# 20 (a smoke run whose numbers are not the reference). BENCH_NOTE: a line added under the
# machine description. BENCH_OUT: the report (BENCHMARKS.md).
#
# CPU placement: rsp-smdp processes run on CPU 0 and the generator on CPU 1 (taskset) when the
# machine has at least 2 CPUs; PostgreSQL is not pinned. With 2 CPUs that is the whole machine:
# see "Scale-out" in the report for what this means for the 1-vs-2 process comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
Q=${BENCH_QUICK:-0}
div() { if [ "$Q" = 1 ]; then echo $(($1 / 20)); else echo "$1"; fi; }
ITERS=${BENCH_ITERS:-2000}
AUDIT_RECORDS=${BENCH_AUDIT_RECORDS:-20000}
IMPORT_N=${BENCH_IMPORT_N:-$(div 1000000)}
DL_N=${BENCH_DL_N:-$(div 1000)}
RATE_N=${BENCH_RATE_N:-$(div 600)}
OPEN_N=${BENCH_OPEN_N:-$(div 25000)}
THREADS=${BENCH_THREADS:-8}
SMDP_THREADS=${BENCH_SMDP_THREADS:-4}
SIGNS=${BENCH_SIGNS:-2000}
PROF_N=${BENCH_PROF_N:-$(div 600)}
RECON_PROFILES=${BENCH_RECON_PROFILES:-50000}
ACT_N=${BENCH_ACT_N:-$(div 10000)}
OUT=${BENCH_OUT:-BENCHMARKS.md}
ninja -C "$BUILD" bench/bench_crypto bench/bench_audit bench/loadgen bench/bench_pkcs11 bench/bench_recon \
  src/smdp/rsp-smdp src/bin/rspctl >/dev/null
B=$(cd "$BUILD" && pwd)
LG=$B/bench/loadgen RSPCTL=$B/src/bin/rspctl SMDP=$B/src/smdp/rsp-smdp
W=$(mktemp -d "${TMPDIR:-/tmp}/rsp-bench.XXXXXX")
pids=() pg_dir=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  [ -n "$pg_dir" ] && scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1
  if [ "${RSP_KEEP_TMP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
BENCH_T0=$(date +%s)
log() { echo "bench: [$(($(date +%s) - BENCH_T0)) s] $*" >&2; }
if [ "$(nproc)" -ge 2 ]; then SRV_CPU=(taskset -c 0) GEN_CPU=(taskset -c 1); else SRV_CPU=() GEN_CPU=(); fi
HOST=localhost OPERATOR=bench-op PROFILE_TYPE=bench
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

log "crypto floor, audit"
crypto=$("$B/bench/bench_crypto" "$ITERS")
audit=$("$B/bench/bench_audit" "$AUDIT_RECORDS")
log "reconciliation ($RECON_PROFILES profiles)"
recon=$("$B/bench/bench_recon" "$RECON_PROFILES")
# activation bulk: tests/e2e/act_bulk.sh asserts the workflow and prints each step's wall time as
# a TAP comment ("# STEP: N s")
log "activation bulk ($ACT_N orders)"
act=$(tests/e2e/act_bulk.sh "$RSPCTL" "$ACT_N" | sed -n 's/^# \(.*\): \([0-9.]*\) s$/| \1 | \2 s |/p')

# ---- PKI, operator key, PostgreSQL ----
"$RSPCTL" pki init "$W/pki" --curve nist --smdp-host "$HOST" >/dev/null
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
  openssl pkcs8 -topk8 -nocrypt -out "$W/op.key.pem"
pg_url=
if pg_dir=$(scripts/pg.sh start 2>/dev/null); then
  eval "$(scripts/pg.sh env "$pg_dir")"
  pg_url=$RSP_TEST_PG
else
  pg_dir=
  log "no PostgreSQL (scripts/pg.sh start failed): PostgreSQL rows are skipped"
fi
pgdb() { # NAME: a fresh database, prints its URL
  psql "$pg_url" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
  psql "$pg_url" -qc "CREATE DATABASE $1" >/dev/null
  printf '%s' "$pg_url" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$1#"
}

# ---- inventory import ----
# each backend twice: per-profile manifests (one ECDSA verification per profile) and batch
# manifests (one per batch of 10,000; docs/MANIFEST.md); the target row is the batch import
import_cmd() { echo "loadgen inventory --db $1 --operator-key op.key.pem --operator $OPERATOR --count $IMPORT_N --batch 10000 --threads $(nproc) --manifests $2"; }
imp_sq='{}' imp_pg='{}' imp_sq_b='{}' imp_pg_b='{}'
for mode in profile batch; do
  log "import of $IMPORT_N profiles into SQLite ($mode manifests)"
  out=$("$LG" inventory --db "$W/import.db" --operator-key "$W/op.key.pem" --operator "$OPERATOR" \
    --count "$IMPORT_N" --batch 10000 --threads "$(nproc)" --manifests "$mode")
  if [ "$mode" = batch ]; then imp_sq_b=$out; else imp_sq=$out; fi
  rm -f "$W"/import.db*
  if [ -n "$pg_url" ]; then
    log "import of $IMPORT_N profiles into PostgreSQL ($mode manifests)"
    out=$("$LG" inventory --db "$(pgdb rsp_bench_import)" --operator-key "$W/op.key.pem" \
      --operator "$OPERATOR" --count "$IMPORT_N" --batch 10000 --threads "$(nproc)" --manifests "$mode")
    if [ "$mode" = batch ]; then imp_pg_b=$out; else imp_pg=$out; fi
    psql "$pg_url" -qc "DROP DATABASE rsp_bench_import WITH (FORCE)" >/dev/null
  fi
done

# ---- SM-DP+ deployments ----
conf() { # FILE PORT DB
  local th
  th=$(printf '%s' "$TOKEN" | openssl dgst -sha256 -r | cut -d' ' -f1)
  cat >"$1" <<CONF
host = $HOST:$2
listen_address = 127.0.0.1
port = $2
tls_chain = $W/pki/nist/dptls.chain.pem
tls_key = $W/pki/nist/dptls.key.pem
dpauth_cert = $W/pki/nist/dpauth.pem
dpauth_key = $W/pki/nist/dpauth.key.pem
dppb_cert = $W/pki/nist/dppb.pem
dppb_key = $W/pki/nist/dppb.key.pem
ci_certs = $W/pki/nist/ci.pem
database = $3
threads = $SMDP_THREADS
session_lifetime = 3600
operator = $OPERATOR token_sha256=$th
CONF
}
start_smdp() { # NAME DB -> sets port_<NAME>, pid_<NAME>
  local port
  port=$(free_port)
  conf "$W/$1.conf" "$port" "$2"
  "${SRV_CPU[@]}" "$SMDP" -c "$W/$1.conf" >>"$W/$1.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$W/pki/nist/ci.pem" "https://$HOST:$port/" && break
    sleep 0.1
  done
  printf -v "port_$1" '%s' "$port"
  printf -v "pid_$1" '%s' "$pid"
}
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  pids=()
}
prepare() { # DB N PORT CODES: inventory + ES2+ orders
  "$LG" inventory --db "$1" --operator-key "$W/op.key.pem" --operator "$OPERATOR" \
    --profile-type "$PROFILE_TYPE" --count "$2" --batch 5000 --threads "$(nproc)" >/dev/null
  "$LG" orders --smdp "$HOST:$3" --ca "$W/pki/nist/ci.pem" --token "$TOKEN" --operator "$OPERATOR" \
    --profile-type "$PROFILE_TYPE" --count "$2" -o "$4" --threads 4 >/dev/null
}
# CPU seconds (utime+stime) of the PostgreSQL server: the postmaster and its children (one backend
# per rsp-smdp connection; they live as long as the connection).
pg_cpu() {
  [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ] || { echo 0; return; }
  local pm
  pm=$(head -n 1 "$pg_dir/data/postmaster.pid")
  { echo "$pm"; pgrep -P "$pm"; } | while read -r p; do
    cut -d')' -f2 "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}'
  done | awk -v hz="$(getconf CLK_TCK)" '{t += $1} END {printf "%.3f", t / hz}'
}
run() { # OUT.json CODES PIDS... -- extra args; adds pg_cpu_s (PostgreSQL's CPU over the run)
  local out=$1 codes=$2 c0 c1
  shift 2
  c0=$(pg_cpu)
  "${GEN_CPU[@]}" "$LG" run --ca "$W/pki/nist/ci.pem" --pki "$W/pki" --codes "$codes" \
    --threads "$THREADS" --json "$out" "$@" >/dev/null || true
  c1=$(pg_cpu)
  [ -f "$out" ] && jq --argjson c "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')" \
    '. + {pg_cpu_s: $c, pg_cpu_per_ok_us: (if .ok > 0 then ($c / .ok * 1e6 | floor) else 0 end)}' \
    "$out" >"$out.tmp" && mv "$out.tmp" "$out"
}

# 1. throughput and latency on SQLite (one process)
log "SQLite: $DL_N downloads (throughput), then $RATE_N at 80% of the measured rate"
rm -f "$W"/sq.db*
start_smdp sq "$W/sq.db"
prepare "$W/sq.db" $((DL_N + RATE_N)) "$port_sq" "$W/sq.codes"
head -n "$DL_N" "$W/sq.codes" >"$W/sq.tput"
tail -n "$RATE_N" "$W/sq.codes" >"$W/sq.rate"
run "$W/sq_tput.json" "$W/sq.tput" --smdp "$HOST:$port_sq" --pid "$pid_sq"
peak=$(jq .per_s "$W/sq_tput.json")
rate=$(awk -v p="$peak" 'BEGIN { printf "%.1f", p * 0.8 }')
sq_log_from=$(($(wc -l <"$W/sq.log") + 1))
run "$W/sq_rate.json" "$W/sq.rate" --smdp "$HOST:$port_sq" --pid "$pid_sq" --rate "$rate" \
  --threads $((THREADS * 2))
stop_all
# the same run seen by the server: its request log has each call's handler time ("ms")
srv_rate=$(tail -n +"$sq_log_from" "$W/sq.log" |
  jq -R -c 'fromjson? | select((.function? // "") | startswith("ES9+."))
    | select(.transactionId != null or (.outcome // "" | startswith("Failed 1.3.1/") | not))
    | {f: .function, ms: .ms}' |
  jq -s -c 'group_by(.f) | map((map(.ms) | sort) as $v | ($v | length) as $n |
    {f: .[0].f, n: $n, p50: $v[($n * 0.5 | floor)], p95: $v[($n * 0.95 | floor)],
     p99: $v[($n * 0.99 | floor)], max: $v[-1]})')

# 1b. where the server's CPU goes: the same downloads with perf sampling rsp-smdp's call graphs
# (perf from linux-perf; skipped where perf_event is not permitted)
prof_rows=
if command -v perf >/dev/null && perf record -q -o /dev/null -- true >/dev/null 2>&1; then
  log "SQLite: $PROF_N downloads under perf"
  rm -f "$W"/pf.db*
  start_smdp pf "$W/pf.db"
  prepare "$W/pf.db" "$PROF_N" "$port_pf" "$W/pf.codes"
  perf record -q -F 499 --call-graph dwarf,16384 -p "$pid_pf" -o "$W/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.5
  run "$W/pf.json" "$W/pf.codes" --smdp "$HOST:$port_pf" --pid "$pid_pf"
  kill -INT "$perf_pid" 2>/dev/null
  wait "$perf_pid" 2>/dev/null || true
  prof_rows=$(perf script -i "$W/perf.data" 2>/dev/null |
    scripts/perf_breakdown.py "$(jq .server_cpu_per_ok_us "$W/pf.json")" 2>/dev/null || true)
  stop_all
fi

# 2. open sessions (SQLite): sessions paused after authenticateClient, server RSS
log "SQLite: $OPEN_N sessions left open after authenticateClient"
rm -f "$W"/op.db*
start_smdp op "$W/op.db"
prepare "$W/op.db" "$OPEN_N" "$port_op" "$W/op.codes"
# the device side (eUICC signatures and certificate checks) is most of this run's CPU: the
# generator may use every CPU here (the measure is the server's RSS, not its CPU time)
GEN_SAVE=("${GEN_CPU[@]}")
GEN_CPU=()
run "$W/open.json" "$W/op.codes" --mode open --smdp "$HOST:$port_op" --pid "$pid_op" --hold 5
GEN_CPU=("${GEN_SAVE[@]}")
open_db_kib=$(du -k "$W/op.db" | cut -f1)
stop_all

# 3. PostgreSQL: one process, then two on the same database
if [ -n "$pg_url" ]; then
  log "PostgreSQL: $DL_N downloads on 1 process, then on 2"
  db1=$(pgdb rsp_bench_one)
  start_smdp pg1 "$db1"
  prepare "$db1" "$DL_N" "$port_pg1" "$W/pg1.codes"
  run "$W/pg_one.json" "$W/pg1.codes" --smdp "$HOST:$port_pg1" --pid "$pid_pg1"
  stop_all
  db2=$(pgdb rsp_bench_two)
  start_smdp pga "$db2"
  start_smdp pgb "$db2"
  prepare "$db2" "$DL_N" "$port_pga" "$W/pg2.codes"
  run "$W/pg_two.json" "$W/pg2.codes" --smdp "$HOST:$port_pga" --smdp "$HOST:$port_pgb" \
    --pid "$pid_pga" --pid "$pid_pgb"
  stop_all
  # the same two processes, not pinned (they, PostgreSQL and the generator share all CPUs)
  SRV_SAVE=("${SRV_CPU[@]}") GEN_SAVE=("${GEN_CPU[@]}")
  SRV_CPU=() GEN_CPU=()
  db3=$(pgdb rsp_bench_two_free)
  start_smdp pgc "$db3"
  start_smdp pgd "$db3"
  prepare "$db3" "$DL_N" "$port_pgc" "$W/pg3.codes"
  run "$W/pg_two_free.json" "$W/pg3.codes" --smdp "$HOST:$port_pgc" --smdp "$HOST:$port_pgd" \
    --pid "$pid_pgc" --pid "$pid_pgd"
  db4=$(pgdb rsp_bench_one_free)
  stop_all
  start_smdp pge "$db4"
  prepare "$db4" "$DL_N" "$port_pge" "$W/pg4.codes"
  run "$W/pg_one_free.json" "$W/pg4.codes" --smdp "$HOST:$port_pge" --pid "$pid_pge"
  stop_all
  SRV_CPU=("${SRV_SAVE[@]}") GEN_CPU=("${GEN_SAVE[@]}")
fi

# 4. PKCS#11 signing path (SoftHSM2)
pkcs11='SoftHSM2 not installed: not measured.'
if module=$(tests/common/softhsm_token.sh "$W/hsm" bench 4321 "$W/pki/nist/dpauth.key.pem=dpauth=01" 2>/dev/null); then
  pkcs11=$(SOFTHSM2_CONF=$W/hsm/softhsm2.conf "$B/bench/bench_pkcs11" "$W/pki/nist/dpauth.key.pem" \
    "pkcs11:token=bench;object=dpauth;type=private?module-path=$module&pin-source=file:$W/hsm/pin" \
    "$SIGNS" 4)
fi

# ---- report ----
j() { jq -r "$2" "$1" 2>/dev/null || echo "n/a"; }
lat_rows() { # FILE
  for f in initiateAuthentication authenticateClient getBoundProfilePackage handleNotification "download (whole)"; do
    jq -r --arg f "$f" '.latency_ms[$f] | "| \($f) | \(.n) | \(.p50) | \(.p95) | \(.p99) | \(.max) |"' "$1" |
      sed "s/| \$f/| $f/"
  done
}
errs() { jq -r '.errors | if length == 0 then "none" else to_entries | map("\(.key): \(.value)") | join("; ") end' "$1"; }
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "" || a == "n/a") { print "not measured"; exit } ok = (op == "<=" ? a <= b : op == "<" ? a < b : a >= b); print ok ? "met" : "NOT met" }'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
ratio=$(j "$W/sq_tput.json" .ratio)
ratio_pg=$(j "$W/pg_one.json" .ratio)
ratio_pg_db=$(jq -r 'if .floor_us > 0 then ((.server_cpu_per_ok_us + .pg_cpu_per_ok_us) / .floor_us * 100 | floor / 100) else "n/a" end' "$W/pg_one.json" 2>/dev/null || echo n/a)
open_rss_mib=$(awk -v k="$(j "$W/open.json" .server_rss_kib_hold)" 'BEGIN { printf "%.1f", k / 1024 }')
rate_p99=$(jq -r '[.latency_ms.initiateAuthentication.p99, .latency_ms.authenticateClient.p99, .latency_ms.getBoundProfilePackage.p99, .latency_ms.handleNotification.p99] | max' "$W/sq_rate.json")
srv_p99=$(echo "$srv_rate" | jq -r 'map(.p99) | max // "n/a"' 2>/dev/null || echo n/a)
imp_s=$(j <(echo "$imp_sq_b") .import_s)
imp_pg_s=$(j <(echo "$imp_pg_b") .import_s)
scale=n/a scale_free=n/a
if [ -n "$pg_url" ]; then
  scale=$(awk -v a="$(j "$W/pg_two.json" .per_s)" -v b="$(j "$W/pg_one.json" .per_s)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  scale_free=$(awk -v a="$(j "$W/pg_two_free.json" .per_s)" -v b="$(j "$W/pg_one_free.json" .per_s)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
fi
tput_row() { # LABEL FILE [pg]: with pg, PostgreSQL's CPU per download and the ratio including it
  local with_db="-" ratio_db="-"
  if [ "${3:-}" = pg ]; then
    with_db=$(j "$2" .pg_cpu_per_ok_us)
    ratio_db=$(jq -r 'if .floor_us > 0 then ((.server_cpu_per_ok_us + .pg_cpu_per_ok_us) / .floor_us * 100 | floor / 100) else "n/a" end' "$2" 2>/dev/null || echo n/a)
  fi
  echo "| $1 | $(j "$2" .ok)/$(j "$2" .attempted) | $(j "$2" .per_s) | $(j "$2" .server_cpu_per_ok_us) | $with_db | $(j "$2" .floor_us) | $(j "$2" .ratio) | $ratio_db | $(errs "$2") |"
}
{
  echo "# Benchmarks"
  echo
  echo "Regenerate with \`make bench\` (\`scripts/bench.sh\`; sizes in its header). Last run:"
  echo "$(date -u +%Y-%m-%dT%H:%MZ) on $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB,"
  echo "Linux $(uname -r), $(openssl version | cut -d' ' -f1-2), $(psql --version 2>/dev/null | head -1 || echo 'no PostgreSQL'),"
  echo "SQLite $(sqlite3 --version | cut -d' ' -f1), libcurl $(curl --version | head -1 | cut -d' ' -f2)."
  [ "$Q" = 1 ] && echo && echo "**BENCH_QUICK=1: reduced sizes (a smoke run); not the reference numbers.**"
  [ -n "${BENCH_NOTE:-}" ] && echo && echo "**$BENCH_NOTE**"
  echo
  echo "Whole run: $(($(date +%s) - BENCH_T0)) s."
  echo
  echo "## Targets (issue 8)"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| server CPU per download <= 1.3x the crypto floor (P-256, keep-alive TLS) | SQLite ${ratio}x; PostgreSQL ${ratio_pg}x (${ratio_pg_db}x with the database's CPU) | $(verdict "$ratio" "<=" 1.3) |"
  echo "| $OPEN_N concurrent open sessions, server RSS < 1 GiB (target: 25,000) | $(j "$W/open.json" .ok) open, RSS ${open_rss_mib} MiB | $( [ "$(j "$W/open.json" .ok)" -ge 25000 ] 2>/dev/null && verdict "$open_rss_mib" "<" 1024 || echo "RSS $(verdict "$open_rss_mib" "<" 1024) at $(j "$W/open.json" .ok) sessions (not 25,000)") |"
  echo "| p99 per ES9+ call < 20 ms at 80% of peak | ${rate_p99} ms (worst function, at the client; ${srv_p99} ms in rsp-smdp's handler) | $(verdict "$rate_p99" "<" 20) (at the client) |"
  echo "| 1M-profile import < 60 s ($IMPORT_N measured, batch manifests) | SQLite ${imp_s} s, PostgreSQL ${imp_pg_s} s | SQLite $( [ "$IMPORT_N" -ge 1000000 ] && verdict "$imp_s" "<" 60 || echo "n/a (not 1M)"), PostgreSQL $( [ "$IMPORT_N" -ge 1000000 ] && verdict "$imp_pg_s" "<" 60 || echo "n/a (not 1M)") |"
  echo "| 2 processes on one PostgreSQL >= 1.8x one | ${scale}x pinned to CPU 0, ${scale_free}x unpinned | $(verdict "$scale_free" ">=" 1.8) (see Scale-out) |"
  echo
  echo "## Crypto floor"
  echo
  echo "Command: \`$BUILD/bench/bench_crypto $ITERS\` ($ITERS operations each, CPU time per operation)."
  echo "The floor of one download at the SM-DP+ is 3 ECDSA signs + 5 ECDSA verifies + 1 key"
  echo "generation + 1 ECDH on the curve of the session. \`loadgen run\` measures it again (P-256)"
  echo "before and after each load run, in the same process, and divides the server's CPU time per"
  echo "download by their mean (the ratio column below)."
  echo
  echo "$crypto"
  echo
  x509_pct=$(printf '%s\n' "$crypto" | awk -F'|' '$2 ~ /^ nist / {f = $7} $2 ~ /^ d2i_X509 / {x = $3}
    END { if (f > 0) printf "%.0f", 100 * x / f; else print "?" }')
  echo "Besides the floor, the SM-DP+ parses the eUICC certificate of every download (d2i_X509"
  echo "above; each device has its own, so it cannot be cached; the EUM, CI and its own certificates"
  echo "are parsed once per process). With this OpenSSL that parse alone is ${x509_pct}% of the P-256 floor,"
  echo "against the 30% the 1.3x target leaves for everything besides the floor (TLS, HTTP, JSON,"
  echo "the store): OpenSSL 3.0 sets up a decoder context for the public key on every d2i_X509."
  echo
  echo "## Downloads (load generator)"
  echo
  echo "\`bench/loadgen.c\`: each device thread owns a software eUICC (src/euicc, in process, its state"
  echo "reset to empty before each download) and one keep-alive HTTPS connection per server, opened"
  echo "(TCP and TLS handshake, with one request the server refuses) before the clock and the server"
  echo "CPU count start (\`loadgen run --warmup on\`, the default: the runs measure keep-alive traffic;"
  echo "before, the first initiateAuthentication of each device thread carried its handshake, which"
  echo "was most of that function's p99 at 80% of peak); a"
  echo "download is initiateAuthentication, AuthenticateServer, authenticateClient, PrepareDownload,"
  echo "getBoundProfilePackage, LoadBoundProfilePackage (every segment, PIR) and handleNotification."
  echo "All simulated devices share the one test eUICC certificate (one EID); each download uses its"
  echo "own released order (ES2+ DownloadOrder + ConfirmOrder made by \`loadgen orders\`). rsp-smdp"
  echo "runs on CPU 0, the generator on CPU 1 (\`taskset\`); server CPU = utime+stime of the rsp-smdp"
  echo "processes (/proc/PID/stat) over the run; for PostgreSQL runs the database server's CPU (postmaster"
  echo "and backends) is shown beside it. Latency is measured at the client, from sending the request"
  echo "to the decoded answer."
  echo
  echo "Commands (in a scratch directory with \`rspctl pki init pki\` and an operator key):"
  echo
  echo '```'
  echo "loadgen inventory --db DB --operator-key op.key.pem --operator $OPERATOR --profile-type $PROFILE_TYPE --count N"
  echo "loadgen orders --smdp $HOST:PORT --ca pki/nist/ci.pem --token TOKEN --operator $OPERATOR --profile-type $PROFILE_TYPE --count N -o codes"
  echo "taskset -c 1 loadgen run --smdp $HOST:PORT --ca pki/nist/ci.pem --pki pki --codes codes --threads $THREADS --pid SMDP_PID [--rate R] [--mode open --hold 5]"
  echo '```'
  echo
  echo "rsp-smdp: $SMDP_THREADS HTTP worker threads; SQLite in WAL mode on $(df -T "$W" | awk 'NR==2{print $2}'); PostgreSQL from"
  echo "scripts/pg.sh (fsync off: a test server)."
  echo
  echo "| run | downloads ok | downloads/s | rsp-smdp CPU per download (us) | PostgreSQL CPU per download (us) | crypto floor (us) | ratio (rsp-smdp) | ratio (rsp-smdp + PostgreSQL) | errors |"
  echo "|---|---|---|---|---|---|---|---|---|"
  tput_row "SQLite, 1 process, $THREADS devices" "$W/sq_tput.json"
  tput_row "SQLite, 1 process, arrivals at 80% of peak ($rate/s)" "$W/sq_rate.json"
  if [ -n "$pg_url" ]; then
    tput_row "PostgreSQL, 1 process (CPU 0)" "$W/pg_one.json" pg
    tput_row "PostgreSQL, 2 processes (both CPU 0)" "$W/pg_two.json" pg
    tput_row "PostgreSQL, 1 process, unpinned" "$W/pg_one_free.json" pg
    tput_row "PostgreSQL, 2 processes, unpinned" "$W/pg_two_free.json" pg
  fi
  echo
  echo "Latency per ES9+ function, SQLite, closed loop ($THREADS devices, peak):"
  echo
  echo "| function | n | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |"
  echo "|---|---|---|---|---|---|"
  lat_rows "$W/sq_tput.json"
  echo
  echo "Latency per ES9+ function at 80% of peak ($rate downloads/s offered, open-loop arrivals,"
  echo "$(j "$W/sq_rate.json" .late_starts) started more than 10 ms late):"
  echo
  echo "| function | n | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |"
  echo "|---|---|---|---|---|---|"
  lat_rows "$W/sq_rate.json"
  echo
  echo "The same run in rsp-smdp's request log (each call's \"ms\": from the request's arrival at the"
  echo "handler to its answer). The difference to the client's figures is TLS, the loopback network and"
  echo "the generator's own scheduling: its $((THREADS * 2)) device threads and their eUICC cryptography"
  echo "share one CPU. Left out: the generator's warm-up requests (one refused initiateAuthentication"
  echo "per device thread, before the clock)."
  echo
  echo "| function | n | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |"
  echo "|---|---|---|---|---|---|"
  echo "$srv_rate" | jq -r '.[] | "| \(.f) | \(.n) | \(.p50) | \(.p95) | \(.p99) | \(.max) |"' 2>/dev/null
  echo
  echo "## Where the server's CPU goes"
  echo
  if [ -n "$prof_rows" ]; then
    echo "$PROF_N more downloads on SQLite as above, with \`perf record -F 499 --call-graph dwarf -p SMDP_PID\`"
    echo "sampling rsp-smdp; \`perf script | scripts/perf_breakdown.py CPU_PER_DOWNLOAD\` puts each sample"
    echo "in the first component one of its frames names (the order of the script's list) and"
    echo "spreads the run's CPU time per download ($(jq .server_cpu_per_ok_us "$W/pf.json") us, sampling included;"
    echo "crypto floor $(jq .floor_us "$W/pf.json") us) over them."
    echo
    echo "| component | share of samples | CPU per download (us) |"
    echo "|---|---|---|"
    echo "$prof_rows"
  else
    echo "Not measured: perf missing or perf_event not permitted on this machine."
  fi
  echo
  echo "## Open sessions"
  echo
  echo "\`loadgen run --mode open\`: $OPEN_N orders; each gets initiateAuthentication, AuthenticateServer"
  echo "(in the software eUICC) and authenticateClient, then the device stops: the session stays"
  echo "open (Authenticated) at the SM-DP+ until it expires (session_lifetime 3600 s here)."
  echo "Simulated honestly: the SM-DP+ does for each session exactly what it does for a real paused"
  echo "device; the generator keeps no per-session device state (it could not resume them: an eUICC"
  echo "holds one session at a time), which the server cannot tell apart."
  echo
  echo "| sessions opened | opened/s | server RSS before (MiB) | after (MiB) | 5 s later (MiB) | SQLite file (MiB) | errors |"
  echo "|---|---|---|---|---|---|---|"
  echo "| $(j "$W/open.json" .ok)/$(j "$W/open.json" .attempted) | $(j "$W/open.json" .per_s) | $(awk -v k="$(j "$W/open.json" .server_rss_kib_before)" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v k="$(j "$W/open.json" .server_rss_kib_after)" 'BEGIN{printf "%.1f", k/1024}') | $open_rss_mib | $(awk -v k="$open_db_kib" 'BEGIN{printf "%.1f", k/1024}') | $(errs "$W/open.json") |"
  echo
  echo "A session is a row in the store, not memory in a process: the RSS does not grow with the"
  echo "number of open sessions."
  echo
  echo "## Scale-out"
  echo
  echo "Two rsp-smdp processes on one PostgreSQL database, the generator sending each download to"
  echo "them in turn. With $(nproc) CPUs the comparison is limited by the machine: pinned, both processes"
  echo "share CPU 0 (the same CPU budget as one process: the ratio shows the cost of scale-out,"
  echo "ideally 1.0x); unpinned, the processes, PostgreSQL and the generator share every CPU. The"
  echo "≥ 1.8x target needs a machine where each process, PostgreSQL and the generator get their"
  echo "own cores."
  echo
  echo "| placement | 1 process (downloads/s) | 2 processes (downloads/s) | ratio |"
  echo "|---|---|---|---|"
  if [ -n "$pg_url" ]; then
    echo "| pinned to CPU 0 (generator on CPU 1) | $(j "$W/pg_one.json" .per_s) | $(j "$W/pg_two.json" .per_s) | ${scale}x |"
    echo "| unpinned | $(j "$W/pg_one_free.json" .per_s) | $(j "$W/pg_two_free.json" .per_s) | ${scale_free}x |"
  fi
  echo
  echo "## Inventory import"
  echo
  echo "Command: \`$(import_cmd DB 'profile|batch')\`. Profiles (SAIP packages and"
  echo "operator-signed manifests) are generated in memory first (not timed as import); the import"
  echo "is what \`rspctl profiles import\` does: with per-profile manifests (\`--manifests profile\`),"
  echo "manifest decode, ECDSA verification, package parse and SHA-256 per profile"
  echo "(\`rsp_inventory_prepare\`, on $(nproc) threads); with batch manifests (\`--manifests batch\`,"
  echo "docs/MANIFEST.md), one signed batch manifest per 10,000 profiles, decoded and verified once,"
  echo "then package parse, SHA-256, ICCID and IMSI per profile (\`rsp_inventory_prepare_batch\`);"
  echo "then \`rsp_store_profile_import\` per batch of 10,000 (one transaction per batch, one audit"
  echo "record per profile; batch k is stored while batch k+1 is verified). CPU per profile:"
  echo "verification threads, and the thread calling the store (PostgreSQL's own CPU not included)."
  echo
  echo "| backend | manifests | profiles | generation (s) | verification (s) | store (s) | import total (s) | profiles/s | store only: profiles/s | verification CPU per profile (us) | store call CPU per profile (us) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for x in "SQLite:per profile:$imp_sq" "PostgreSQL:per profile:$imp_pg" "SQLite:batch:$imp_sq_b" "PostgreSQL:batch:$imp_pg_b"; do
    n=${x%%:*} r=${x#*:}
    m=${r%%:*} v=${r#*:}
    echo "| $n | $m | $(j <(echo "$v") .profiles) | $(j <(echo "$v") .generate_s) | $(j <(echo "$v") .verify_s) | $(j <(echo "$v") .store_s) | $(j <(echo "$v") .import_s) | $(j <(echo "$v") .import_per_s) | $(j <(echo "$v") .store_per_s) | $(j <(echo "$v") .verify_cpu_us) | $(j <(echo "$v") .store_cpu_us) |"
  done
  echo
  echo "## PKCS#11 signing path"
  echo
  echo "Command: \`$BUILD/bench/bench_pkcs11 dpauth.key.pem 'pkcs11:token=bench;object=dpauth;type=private?module-path=...&pin-source=file:...' $SIGNS 4\`"
  echo "(the DPauth key imported into a SoftHSM2 token by tests/common/softhsm_token.sh; wall time)."
  echo
  echo "$pkcs11"
  echo
  echo "## Audit trail"
  echo
  echo "Command: \`$BUILD/bench/bench_audit $AUDIT_RECORDS\` (docs/AUDIT.md). Sealing is CPU time; the"
  echo "store, verification and archive rows are wall time on a SQLite file in /tmp (WAL,"
  echo "synchronous=NORMAL), so they depend on the disk and on other load."
  echo
  echo "$audit"
  echo
  echo "## Reconciliation"
  echo
  echo "Command: \`$BUILD/bench/bench_recon $RECON_PROFILES\` (bench/recon_gen.c: discrepancies of every"
  echo "kind planted; the run fails unless the findings equal the planted count). Wall time. The"
  echo "store rows use a SQLite file in /tmp; the profiles are written straight into the table"
  echo "(setup), the events through rsp_store_recon_import; the store path has no order tariffs,"
  echo "so tariff mismatches are not counted there."
  echo
  echo "$recon"
  echo
  echo "## Activation bulk"
  echo
  echo "Command: \`tests/e2e/act_bulk.sh $BUILD/src/bin/rspctl $ACT_N\` (also in \`make check\`, where it"
  echo "asserts the workflow: CSV import, bulk release through the ES2+ logic, tokens with PNG and SVG"
  echo "QR files, pushes, the funnel adding up). Wall time per step on a SQLite file in /tmp."
  echo
  echo "| step | wall |"
  echo "|---|---|"
  echo "$act"
} >"$OUT"
log "done: $OUT"
cat "$OUT"
