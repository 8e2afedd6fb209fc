#!/usr/bin/env bash
# Telemetry, /metrics, rspctl report and the NOC dashboard with real processes (TAP):
# rsp-smdp over HTTPS on loopback (SQLite) with its admin listener, ES2+ orders, rsp-lpa with the
# in-process software eUICC: two downloads installed (one with an IMEI, one with the default TAC),
# one failed by the eUICC's fault injection (PIR error), one refused (unknown matchingId); then
# activation orders of campaign "spring" (rspctl order/token/push): one installed with its token,
# one failed (which quarantines its cohorts: min sample 2, 50 %), one pushed and never used. Then:
#   - /metrics and the dashboard routes refuse a request without (or with wrong) credentials (401
#     with a challenge), answer with the basic and the bearer credential, and are not on the ES9+
#     port;
#   - the Prometheus counters equal what happened (request log lines of rsp-smdp, the downloads
#     done), histograms are cumulative with +Inf = _count;
#   - rspctl report es9 (JSON and CSV) per TAC agrees, and neither carries an EID;
#   - headless Chromium loads the dashboard with the credentials: the panels wrote their data into
#     the DOM (data-* attributes), which must match the store; a screenshot PNG is saved in the
#     build directory (OUT_DIR). Skipped (TAP SKIP) only when chromium is not installed.
#
#   telemetry.sh RSPCTL RSP_SMDP RSP_LPA
set -uo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
OUT_DIR=${OUT_DIR:-$(pwd)}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-tele.XXXXXX")
HOST=localhost
OPERATOR=tele-operator
PROFILE_TYPE=tele
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ADMIN_PASS=noc-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
smdp_pid=
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
cond() { eval "$1"; } # check "..." cond '[ a ] && [ b ]'
check() { # DESCRIPTION COMMAND...
  local d=$1
  shift
  if "$@"; then ok "$d"; else notok "$d"; fi
}
die() {
  notok "$*"
  exit 1
}
cleanup() {
  local rc=$?
  [ -n "$smdp_pid" ] && kill "$smdp_pid" 2>/dev/null && wait "$smdp_pid" 2>/dev/null
  if [ "$failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
    echo "# ----- rsp-smdp log (last 20 lines)"
    tail -n 20 "$DIR/smdp.log" 2>/dev/null | sed 's/^/# /'
  fi
  echo "1..$n"
  rm -rf "$DIR"
  [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
}
trap cleanup EXIT

. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
e2e_inventory 8 8949000000000007 0010100000007 || die "inventory"

printf '# NOC credentials (test only)\nbasic noc:%s\nbearer %s\n' "$ADMIN_PASS" "$ADMIN_TOKEN" \
  >"$DIR/admin.auth"
chmod 600 "$DIR/admin.auth"
for try in 1 2 3 4 5; do
  port=$(e2e_free_port)
  aport=$(e2e_free_port)
  [ "$aport" = "$port" ] && continue
  e2e_smdp_conf "$port"
  cat >>"$DIR/smdp.conf" <<CONF
admin_port = $aport
admin_plain_http = true
admin_auth_file = $DIR/admin.auth
telemetry_period = 60
integrity_min_sample = 2
integrity_failure_pct = 50
CONF
  e2e_smdp_try "$port" && break
  [ "$try" -lt 5 ] || die "rsp-smdp did not start"
done
ES2_PORT=$port
ok "rsp-smdp with its admin listener on port $aport"
cc() { "$SMDP" -c "$DIR/cc.conf" --check-config >"$DIR/cc.out" 2>&1; }
sed "s#^admin_auth_file = .*#admin_auth_file = $DIR/bad.auth#" "$DIR/smdp.conf" >"$DIR/cc.conf"
printf 'bearer short\n' >"$DIR/bad.auth"
check "--check-config refuses a malformed admin_auth_file" \
  cond '! cc && grep -q "admin_auth_file: line 1" "$DIR/cc.out" && ! grep -q short "$DIR/cc.out"'
grep -v '^admin_auth_file' "$DIR/smdp.conf" >"$DIR/cc.conf"
check "--check-config: admin_port without admin_auth_file is refused" \
  cond '! cc && grep -q "admin_auth_file is required" "$DIR/cc.out"'
cp "$DIR/smdp.conf" "$DIR/cc.conf"
check "--check-config accepts the admin settings" \
  cond 'cc && grep -q "admin listener on 127.0.0.1 port $aport (2 credentials)" "$DIR/cc.out"'
cp -r "$DIR/pki" "$DIR/device"
lpa() { "$LPA" --euicc "soft:$DIR/device" "$@"; }
AC() { echo "LPA:1\$$HOST:$port\$$1"; }
A="http://127.0.0.1:$aport"

# ---- real downloads ----
read -r iccid1 mid1 <<<"$(order)"
lpa profile download -a "$(AC "$mid1")" --imei 356938035643809 >/dev/null 2>&1
check "download 1 (IMEI 356938035643809) installed" [ "$(smdp_state "$iccid1")" = Installed ]
read -r iccid2 mid2 <<<"$(order)"
lpa profile download -a "$(AC "$mid2")" >/dev/null 2>&1
check "download 2 (default TAC) installed" [ "$(smdp_state "$iccid2")" = Installed ]
read -r iccid3 mid3 <<<"$(order)"
lpa --euicc-fault fail-at-segment=3 profile download -a "$(AC "$mid3")" --max-attempts 1 \
  >/dev/null 2>&1
check "download 3 failed by the eUICC (profile back to Released)" \
  [ "$(smdp_state "$iccid3")" = Released ]
lpa profile download -a "$(AC NO-SUCH-ORDER)" --max-attempts 1 >/dev/null 2>&1
check "download 4 refused (unknown matchingId)" \
  grep -q '"outcome":"Failed 8.2.6/3.8"' "$DIR/smdp.log"

# ---- activation orders (rsp/act.h): campaign spring, country DE ----
DB="$DIR/smdp.db"
{
  echo "order_id,customer_ref,tariff_plan,campaign,country,profile_type,tac,device_model"
  for i in 1 2 3; do echo "S$i,cust-s$i,basic,spring,DE,$PROFILE_TYPE,35290611,Phone A"; done
} >"$DIR/orders.csv"
"$RSPCTL" order create --db "$DB" --csv "$DIR/orders.csv" >/dev/null
for o in S1 S2 S3; do
  "$RSPCTL" order reserve "$o" --db "$DB" --operator "$OPERATOR" >/dev/null &&
    "$RSPCTL" order release "$o" --db "$DB" >/dev/null || notok "order $o reserve/release"
done
"$RSPCTL" token issue --campaign spring --db "$DB" --smdp-address "$HOST:$port" >/dev/null ||
  notok "token issue"
for o in S1 S2 S3; do
  "$RSPCTL" push record --order "$o" --channel sms --ref "msg-$o" --db "$DB" >/dev/null ||
    notok "push $o"
done
code_of() {
  "$RSPCTL" token show "$("$RSPCTL" order show "$1" --db "$DB" --json | jq -r .matching_id)" \
    --db "$DB" --json | jq -r .lpa_uri
}
lpa profile download -a "$(code_of S1)" >/dev/null 2>&1
check "order S1 installed with its activation token" \
  cond '[ "$("$RSPCTL" order show S1 --db "$DB" --json | jq -r .stage)" = installed ]'
lpa --euicc-fault fail-at-segment=3 profile download -a "$(code_of S3)" --max-attempts 1 \
  >/dev/null 2>&1
check "order S3 failed (fault injection)" \
  cond '[ "$("$RSPCTL" order show S3 --db "$DB" --json | jq -r .stage)" = failed ]'
nq=$(sqlite3 "$DB" "SELECT count(*) FROM quarantines WHERE active = 1")
check "1 install + 1 failure in the window: cohorts quarantined ($nq)" [ "$nq" -ge 1 ]

# requests the HTTP layer refuses before the handler: counted too
es9raw() { # FUNCTION CURL-ARGS...
  local f=$1
  shift
  curl -s -o /dev/null --cacert "$DIR/pki/nist/ci.pem" "$@" "https://$HOST:$port/gsma/rsp2/es9plus/$f"
}
es9raw initiateAuthentication -X GET
es9raw initiateAuthentication -H 'Content-Type: text/plain' -d '{}'

# ---- /metrics: authentication and listener ----
code() { curl -s -o "$DIR/body" -D "$DIR/headers" -w '%{http_code}' "$@"; }
check "/metrics without credentials: 401" [ "$(code "$A/metrics")" = 401 ]
check "401 carries a Basic challenge" grep -qi '^WWW-Authenticate: Basic realm=' "$DIR/headers"
check "/metrics with a wrong password: 401" [ "$(code -u "noc:wrong" "$A/metrics")" = 401 ]
check "/metrics with a wrong bearer token: 401" \
  [ "$(code -H "Authorization: Bearer x$ADMIN_TOKEN" "$A/metrics")" = 401 ]
check "/dashboard without credentials: 401" [ "$(code "$A/dashboard")" = 401 ]
check "/api/dashboard without credentials: 401" [ "$(code "$A/api/dashboard")" = 401 ]
check "/metrics with the bearer token: 200" \
  [ "$(code -H "Authorization: Bearer $ADMIN_TOKEN" "$A/metrics")" = 200 ]
check "/metrics with basic credentials: 200" [ "$(code -u "noc:$ADMIN_PASS" "$A/metrics")" = 200 ]
check "Prometheus content type" grep -qi '^Content-Type: text/plain; version=0.0.4' "$DIR/headers"
cp "$DIR/body" "$DIR/metrics"
check "POST /metrics: 405" [ "$(code -u "noc:$ADMIN_PASS" -X POST -d x "$A/metrics")" = 405 ]
check "/metrics is not served on the ES9+ port" \
  [ "$(code --cacert "$DIR/pki/nist/ci.pem" "https://$HOST:$port/metrics")" = 404 ]
check "credentials never in the logs" \
  bash -c "! grep -q -e '$ADMIN_PASS' -e '$ADMIN_TOKEN' '$DIR/smdp.log'"

# ---- /metrics: the values ----
metric() { # NAME{LABELS} -> value (0 when absent)
  awk -v k="$1" '$1 == k {print $2; f=1} END {if (!f) print 0}' "$DIR/metrics"
}
logcount() { grep -c "\"function\":\"ES9+.$1\"" "$DIR/smdp.log" || true; }
for fn in initiateAuthentication authenticateClient getBoundProfilePackage handleNotification; do
  F=$(echo "${fn:0:1}" | tr a-z A-Z)${fn:1}
  total=$(awk -v f="function=\"$fn\"" 'index($0, "rsp_smdp_es9_requests_total{") == 1 &&
    index($0, f) {s += $2} END {print s + 0}' "$DIR/metrics")
  check "requests_total of $fn ($total) = request log lines" [ "$total" = "$(logcount "$F")" ]
  cnt=$(metric "rsp_smdp_es9_request_duration_seconds_count{function=\"$fn\"}")
  inf=$(metric "rsp_smdp_es9_request_duration_seconds_bucket{function=\"$fn\",le=\"+Inf\"}")
  check "$fn histogram: +Inf bucket = _count = requests_total" \
    cond '[ "$cnt" = "$total" ] && [ "$inf" = "$total" ]'
  mono=$(awk -v f="function=\"$fn\"" 'index($0, "_duration_seconds_bucket{") && index($0, f) {
    if ($2 < prev) bad = 1; prev = $2} END {print bad + 0}' "$DIR/metrics")
  check "$fn histogram buckets are cumulative" [ "$mono" = 0 ]
done
check "3 installs" [ "$(metric 'rsp_smdp_sessions_total{event="installed"}')" = 3 ]
check "2 install failures" [ "$(metric 'rsp_smdp_sessions_total{event="install-failed"}')" = 2 ]
ok_n=$(metric 'rsp_smdp_installs_total{result="ok"}')
fail_n=$(metric 'rsp_smdp_installs_total{result="failed"}')
check "installs_total ok=3 failed=2" cond '[ "$ok_n" = 3 ] && [ "$fail_n" = 2 ]'
check "5 BPPs delivered" [ "$(metric rsp_smdp_downloads_total)" = 5 ]
check "6 sessions started" [ "$(metric 'rsp_smdp_sessions_total{event="started"}')" = 6 ]
check "a GET on an ES9+ path counted as http-405" \
  [ "$(metric 'rsp_smdp_es9_requests_total{function="initiateAuthentication",outcome="http-405"}')" = 1 ]
check "a wrong Content-Type counted with its code 1.2.1/2.1" \
  [ "$(metric 'rsp_smdp_es9_requests_total{function="initiateAuthentication",outcome="1.2.1/2.1"}')" = 1 ]
check "the refusal counted with its code" \
  [ "$(metric 'rsp_smdp_es9_requests_total{function="authenticateClient",outcome="8.2.6/3.8"}')" = 1 ]
check "no telemetry write failure" [ "$(metric rsp_smdp_telemetry_write_failures_total)" = 0 ]
nqm=$(awk 'index($1, "rsp_smdp_quarantined_cohorts{") == 1 {s += $2} END {print s + 0}' \
  "$DIR/metrics")
check "quarantined_cohorts gauges: $nqm = the store's active quarantines ($nq)" [ "$nqm" = "$nq" ]
check "pushes_without_first_contact gauge = 1 (order S2)" \
  [ "$(metric rsp_smdp_pushes_without_first_contact)" = 1 ]
check "activation_orders gauge: 1 installed, 1 failed, 1 pushed" \
  cond '[ "$(metric "rsp_smdp_activation_orders{stage=\"installed\"}")" = 1 ] &&
    [ "$(metric "rsp_smdp_activation_orders{stage=\"failed\"}")" = 1 ] &&
    [ "$(metric "rsp_smdp_activation_orders{stage=\"pushed\"}")" = 1 ]'

# ---- rspctl report ----
"$RSPCTL" report es9 --db "$DIR/smdp.db" --by tac --format json -o "$DIR/report.json"
check "report es9 JSON" cond 'jq -e . "$DIR/report.json" >/dev/null'
inst() { jq -r --arg t "$1" '[.groups[] | select(.cohort == $t and .function == "session" and
  .outcome == "installed") | .count] | add // 0' "$DIR/report.json"; }
check "report: TAC 35693803 (from the IMEI) installed 1" [ "$(inst 35693803)" = 1 ]
check "report: TAC 35290611 (rsp-lpa's default) installed 2" [ "$(inst 35290611)" = 2 ]
"$RSPCTL" report es9 --db "$DIR/smdp.db" --by campaign --format json -o "$DIR/bycampaign.json"
camp() { jq -r --arg c "$1" --arg o "$2" '[.groups[] | select(.cohort == $c and
  .function == "session" and .outcome == $o) | .count] | add // 0' "$DIR/bycampaign.json"; }
check "report by campaign: spring installed 1, failed 1 (labels from the order)" \
  cond '[ "$(camp spring installed)" = 1 ] && [ "$(camp spring install-failed)" = 1 ]'
check "report by campaign: orders outside a campaign: installed 2" [ "$(camp "" installed)" = 2 ]
"$RSPCTL" report es9 --db "$DIR/smdp.db" --by country --country DE >"$DIR/de.json"
de=$(jq '[.groups[] | select(.function == "session" and .outcome == "authenticated") | .count]
  | add' "$DIR/de.json")
check "report --country DE: only the campaign's 2 download attempts ($de)" [ "$de" = 2 ]
"$RSPCTL" report es9 --db "$DIR/smdp.db" --by tac --format csv --from -1h -o "$DIR/report.csv"
check "report es9 CSV header" \
  [ "$(head -n 1 "$DIR/report.csv" | tr -d '\r')" = "cohort,function,outcome,count,mean_ms,p50_ms,p90_ms,p99_ms" ]
check "report CSV: the failed installs under TAC 35290611" \
  grep -q '^35290611,session,install-failed,2,' "$DIR/report.csv"
"$RSPCTL" report es9 --db "$DIR/smdp.db" --from -1h --to -50m >"$DIR/old.json"
check "report --from/--to: nothing an hour ago" [ "$(jq '.groups | length' "$DIR/old.json")" = 0 ]
check "report: a bad --by is a usage error" \
  bash -c "'$RSPCTL' report es9 --db '$DIR/smdp.db' --by imei 2>/dev/null; [ \$? = 2 ]"
eids=$(sqlite3 "$DIR/smdp.db" "SELECT eid FROM profiles WHERE eid <> ''" | sort -u)
leak=0
for e in $eids; do
  grep -q "$e" "$DIR/metrics" "$DIR/report.json" "$DIR/report.csv" && leak=1
  [ "$(sqlite3 "$DIR/smdp.db" "SELECT count(*) FROM tele_call WHERE tid || tac || eum ||
    profile_type || campaign || country LIKE '%$e%'")" = 0 ] || leak=1
done
check "no EID in /metrics, reports or telemetry rows ($(echo "$eids" | wc -w) EIDs)" \
  cond '[ -n "$eids" ] && [ "$leak" = 0 ]'

# ---- the dashboard in headless Chromium ----
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  n=$((n + 1))
  echo "ok $n # SKIP chromium is not installed (scripts/deps.sh installs it)"
  exit 0
fi
curl -s -u "noc:$ADMIN_PASS" "$A/api/dashboard" >"$DIR/dash.json"
check "/api/dashboard JSON" cond 'jq -e ".funnel | length == 4" "$DIR/dash.json" >/dev/null'
spring=$(jq -c '[.success.campaign[] | select(.cohort == "spring") | .points[] |
  [.[2], .[3]]] | transpose | map(add)' "$DIR/dash.json")
check "/api/dashboard: campaign spring's [installed, failed] = $spring" [ "$spring" = "[1,1]" ]
chrome() {
  HOME="$DIR/home" timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --user-data-dir="$DIR/chrome" \
    --virtual-time-budget=10000 "$@" 2>>"$DIR/chromium.log"
}
URL="http://noc:$ADMIN_PASS@127.0.0.1:$aport/dashboard"
chrome --dump-dom "$URL" >"$DIR/dom.html"
attr() { # ELEMENT-ID ATTRIBUTE
  grep -o "id=\"$1\"[^>]*" "$DIR/dom.html" | grep -o "$2=\"[^\"]*\"" | head -n 1 |
    sed 's/.*="\(.*\)"/\1/'
}
check "the page loaded and rendered (body data-rendered=ok)" \
  grep -q '<body data-rendered="ok"' "$DIR/dom.html"
check "funnel: 8 order stages + 4 session stages drawn" [ "$(attr funnel data-stages)" = 12 ]
dom_count() { # data-stage value -> its data-count
  grep -o "data-stage=\"$1\" data-count=\"[0-9]*\"" "$DIR/dom.html" | grep -o '[0-9]*"$' |
    tr -d '"'
}
for st in pre-provisioned released token-issued pushed first-contact installed failed; do
  col=t_$(echo "$st" | tr - _)
  db=$(sqlite3 "$DB" "SELECT count(*) FROM activation_orders WHERE $col > 0")
  got=$(dom_count "order:$st")
  check "funnel bar 'order: $st' = $got = store ($db)" cond '[ "$got" = "$db" ]'
done
for st in started authenticated downloaded installed; do
  want=$(jq -r --arg s "$st" '.funnel[] | select(.stage == $s) | .count' "$DIR/dash.json")
  got=$(dom_count "session:$st")
  db=$(sqlite3 "$DIR/smdp.db" "SELECT coalesce(sum(n), 0) FROM tele_series WHERE fn = 'session'
    AND outcome = '$st'")
  check "funnel bar '$st' = $got = store ($db)" \
    cond '[ -n "$got" ] && [ "$got" = "$db" ] && [ "$want" = "$db" ]'
done
nfn=$(sqlite3 "$DIR/smdp.db" "SELECT count(DISTINCT fn) FROM tele_total WHERE fn <> 'session'")
check "latency panel: one group per function in the store ($nfn)" \
  [ "$(attr latency data-functions)" = "$nfn" ]
check "latency panel: p50/p90/p99 bars drawn" \
  [ "$(grep -o 'data-q="p[0-9]*"' "$DIR/dom.html" | wc -l)" = $((3 * nfn)) ]
nrows=$(sqlite3 "$DIR/smdp.db" "SELECT count(*) FROM tele_total WHERE fn <> 'session'")
check "requests table: one row per function x outcome ($nrows)" \
  [ "$(attr requests data-rows)" = "$nrows" ]
check "success panel: one cohort (profile type '$PROFILE_TYPE') with points" \
  cond '[ "$(attr success data-cohorts)" = 1 ] && [ "$(attr success data-points)" -ge 1 ]'
ins=$(grep -o 'data-installed="[0-9]*"' "$DIR/dom.html" | grep -o '[0-9]*' |
  awk '{s += $1} END {print s + 0}')
check "success panel: the installs plotted = 3" [ "$ins" = 3 ]
check "quarantines panel: the active quarantines of the store ($nq)" \
  [ "$(attr quarantines data-count)" = "$nq" ]
npush=$(sqlite3 "$DB" "SELECT count(*) FROM pushes WHERE handed_at > 0 AND first_contact_at = 0")
check "pushes without first contact: $(attr pushes data-value) = store ($npush, order S2)" \
  cond '[ "$(attr pushes data-value)" = "$npush" ] && [ "$npush" = 1 ]'
PNG="$OUT_DIR/dashboard.png"
rm -f "$PNG"
chrome --screenshot="$PNG" --window-size=1280,1500 --hide-scrollbars "$URL" >/dev/null
sig=$(head -c 8 "$PNG" 2>/dev/null | od -An -tx1 | tr -d ' \n')
check "screenshot is a PNG ($PNG)" [ "$sig" = 89504e470d0a1a0a ]
w=$(od -An -tu1 -j16 -N4 "$PNG" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
h=$(od -An -tu1 -j20 -N4 "$PNG" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
sz=$(stat -c %s "$PNG" 2>/dev/null || echo 0)
check "screenshot is ${w}x${h}, $sz bytes (non-trivial: 1280 wide, > 20 kB)" \
  cond '[ "$w" = 1280 ] && [ "$h" -ge 1000 ] && [ "$sz" -gt 20000 ]'
