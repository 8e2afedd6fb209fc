#!/usr/bin/env bash
# rsp-lpa command line against the in-process software eUICC (--euicc soft:DIR): help, usage
# errors (2), eUICC refusals (3), commands not in this build (6), human and --json output, state
# kept across runs.
#   lpa_cli.sh RSP_LPA RSPCTL
set -uo pipefail
LPA=${1:?usage: lpa_cli.sh RSP_LPA RSPCTL}
RSPCTL=${2:?usage: lpa_cli.sh RSP_LPA RSPCTL}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
ko() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check() { # expected-status description command...
  local want=$1 what=$2
  shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"
  local st=$?
  if [ "$st" -eq "$want" ]; then ok "$what"; else ko "$what: status $st, want $want"; sed 's/^/# /' "$WORK/err"; fi
}
jget() { # FILE JQ-FILTER: value of the last line
  tail -n 1 "$1" | jq -r "$2"
}
"$RSPCTL" pki init "$WORK/pki" >/dev/null || { echo "Bail out! rspctl pki init"; exit 1; }
E=(--euicc "soft:$WORK/pki")

check 0 "--help" "$LPA" --help
grep -q -- "--euicc soft:DIR" "$WORK/out" && ok "--help documents --euicc" || ko "--help lacks --euicc"
for c in "chip info" "profile list" "profile enable" "profile disable" "profile delete" \
  "profile nickname" "profile download" "notification list" "notification remove" \
  "notification process" "config"; do
  # shellcheck disable=SC2086
  check 0 "$c --help" "$LPA" $c --help
  grep -q "^usage: rsp-lpa EUICC $c" "$WORK/out" && ok "$c --help text" || ko "$c --help text"
done
check 2 "no command" "$LPA"
check 2 "unknown option" "$LPA" --bogus chip info
check 2 "unknown command" "$LPA" "${E[@]}" frobnicate x
check 2 "missing subcommand" "$LPA" "${E[@]}" profile
check 2 "unknown subcommand" "$LPA" "${E[@]}" profile frob
check 2 "no eUICC chosen" "$LPA" chip info
check 2 "two eUICCs chosen" "$LPA" "${E[@]}" --pcsc chip info
check 2 "--euicc without soft:" "$LPA" --euicc "$WORK/pki" chip info
check 2 "--block-size 0" "$LPA" "${E[@]}" --block-size 0 chip info
check 2 "--block-size 256" "$LPA" "${E[@]}" --block-size 256 chip info
check 2 "--isdr-aid not hex" "$LPA" "${E[@]}" --isdr-aid XYZ chip info
check 2 "--curve unknown" "$LPA" "${E[@]}" --curve p384 chip info
check 2 "chip info with an argument" "$LPA" "${E[@]}" chip info extra
check 2 "enable without ID" "$LPA" "${E[@]}" profile enable
check 2 "enable with a bad ID" "$LPA" "${E[@]}" profile enable 12ab
check 2 "nickname with a bad ICCID" "$LPA" "${E[@]}" profile nickname xyz name
check 2 "notification remove without SEQ" "$LPA" "${E[@]}" notification remove
check 2 "notification remove with a bad SEQ" "$LPA" "${E[@]}" notification remove -3
check 2 "--json usage error" "$LPA" --json "${E[@]}" profile enable
[ "$(jget "$WORK/out" '.error.kind')" = usage ] && ok "--json usage error is a JSON result" || ko "--json usage error"
check 1 "soft:DIR without credentials" "$LPA" --euicc "soft:$WORK/none" chip info

check 0 "chip info" "$LPA" "${E[@]}" chip info
grep -q "^EID: *89049032123451234512345678901235$" "$WORK/out" && ok "chip info shows the EID" || ko "chip info EID"
grep -q "^Free NVM: *[0-9]* bytes$" "$WORK/out" && ok "chip info shows free NVM" || ko "chip info NVM"
check 0 "chip info --json" "$LPA" --json "${E[@]}" chip info
[ "$(wc -l <"$WORK/out")" -eq 1 ] && ok "one JSON line" || ko "JSON lines"
[ "$(jget "$WORK/out" '.type + " " + .command + " " + (.ok|tostring)')" = "result chip info true" ] &&
  ok "chip info --json result" || ko "chip info --json result"
[ "$(jget "$WORK/out" '.data.eid')" = 89049032123451234512345678901235 ] && ok "JSON EID" || ko "JSON EID"
[ "$(jget "$WORK/out" '.data.ci_pkids_signing | length')" -eq 1 ] && ok "JSON CI signing key" || ko "JSON CI"
[ "$(jget "$WORK/out" '.data.root_ds_address')" = lpa.ds.gsma.com ] && ok "JSON root SM-DS" || ko "JSON root SM-DS"
check 0 "chip info through 16-byte blocks on the brainpool eUICC" "$LPA" "${E[@]}" --curve brp \
  --block-size 16 chip info

check 0 "profile list (empty)" "$LPA" "${E[@]}" profile list
grep -q "^no profiles$" "$WORK/out" && ok "profile list says so" || ko "profile list empty text"
check 0 "profile list --json" "$LPA" --json "${E[@]}" profile list
[ "$(jget "$WORK/out" '.data | length')" -eq 0 ] && ok "JSON profile list is []" || ko "JSON profile list"

check 3 "enable of an unknown ICCID" "$LPA" "${E[@]}" profile enable 8949000000000000421
grep -q "iccidOrAidNotFound" "$WORK/err" && ok "the refusal is named" || ko "refusal text"
check 3 "--json disable of an unknown AID" "$LPA" --json "${E[@]}" profile disable A0000005591010FFFFFFFF8900001100
[ "$(jget "$WORK/out" '.error.kind + " " + (.error.code|tostring)')" = "euicc 1" ] &&
  ok "JSON refusal code" || ko "JSON refusal code"
check 3 "delete of an unknown ICCID" "$LPA" "${E[@]}" profile delete 8949000000000000421
check 3 "nickname of an unknown ICCID" "$LPA" "${E[@]}" profile nickname 8949000000000000421 x
check 3 "remove of an unknown notification" "$LPA" "${E[@]}" notification remove 77
check 0 "notification remove --all (none)" "$LPA" "${E[@]}" notification remove --all
check 0 "notification list --json" "$LPA" --json "${E[@]}" notification list
[ "$(jget "$WORK/out" '.data | length')" -eq 0 ] && ok "no notifications" || ko "notification list"

check 0 "config --default-dp" "$LPA" "${E[@]}" config --default-dp smdp.lab.example
check 0 "config --json (another process: state file)" "$LPA" --json "${E[@]}" config
[ "$(jget "$WORK/out" '.data.default_dp_address')" = smdp.lab.example ] && ok "default SM-DP+ kept" ||
  ko "default SM-DP+ not kept"
check 0 "config --default-dp '' clears" "$LPA" "${E[@]}" config --default-dp ""
check 0 "config" "$LPA" --json "${E[@]}" config
[ "$(jget "$WORK/out" '.data.default_dp_address')" = null ] && ok "default SM-DP+ cleared" || ko "not cleared"

check 2 "download with a bad activation code" "$LPA" "${E[@]}" profile download -a 'LPA:2$x$y'
check 2 "download with -a and -s" "$LPA" "${E[@]}" profile download -a 'LPA:1$x$y' -s x
check 2 "download with a bad IMEI" "$LPA" "${E[@]}" profile download -s x --imei 12
check 2 "download without an SM-DP+ (no default)" "$LPA" "${E[@]}" profile download
check 2 "download with CC flag and no -c" "$LPA" "${E[@]}" profile download -a '1$x$y$$1'
check 5 "download from an unresolvable SM-DP+" "$LPA" --json --retries 0 "${E[@]}" profile download \
  -a 'LPA:1$smdp.invalid$MATCH' --max-attempts 2 --backoff-base 10
[ "$(jget "$WORK/out" '.error.kind')" = network ] && ok "JSON network failure" || ko "JSON network failure"
[ "$(grep -c '"step":"backoff"' "$WORK/out")" -eq 1 ] && ok "one back-off between 2 attempts" ||
  ko "one back-off between 2 attempts"
grep -q '"type":"progress","command":"profile download","step":"initiateAuthentication"' "$WORK/out" &&
  ok "JSON progress events" || ko "JSON progress events"
check 7 "--no-wait leaves the download backing off" "$LPA" --retries 0 "${E[@]}" profile download \
  -a 'LPA:1$smdp.invalid$MATCH' --no-wait
check 2 "another download while one is pending" "$LPA" --retries 0 "${E[@]}" profile download \
  -a 'LPA:1$other.invalid$X'
check 0 "--abandon the pending download" "$LPA" "${E[@]}" profile download --abandon
check 2 "--resume with nothing pending" "$LPA" "${E[@]}" profile download --resume
check 0 "notification process (none pending)" "$LPA" --json "${E[@]}" notification process
[ "$(jget "$WORK/out" '.data.sent | length')" -eq 0 ] && ok "nothing sent" || ko "notification process"
check 1 "PC/SC without a reader" "$LPA" --pcsc "no such reader" chip info

echo "1..$n"
exit $fail
