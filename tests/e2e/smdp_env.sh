# Shared by e2e scripts that run a real rsp-smdp on loopback (sourced, not run): test PKI,
# operator-signed profiles imported into SQLite, the SM-DP+ configuration, ES2+ orders.
#
# The caller sets: RSPCTL, SMDP, DIR (its scratch directory), HOST, OPERATOR, TOKEN,
# PROFILE_TYPE, and defines die(). Then:
#   e2e_inventory N ICCID_PREFIX IMSI_PREFIX [WIDTH]
#                                             PKI in DIR/pki, N profiles signed and imported
#                                             (number i appended with WIDTH digits, default 2)
#   e2e_eid N                                 a valid EID (check digits) under the test EUM's IIN
#   e2e_free_port                             prints a free loopback port
#   e2e_smdp_conf PORT [ADVERTISED_PORT]      writes DIR/smdp.conf (host = HOST:ADVERTISED_PORT)
#   e2e_smdp_try PORT                         starts rsp-smdp (pid in smdp_pid): 0 once it
#                                             answers on PORT, 1 if it exited (port taken)
#   order                                     ES2+ DownloadOrder + ConfirmOrder(release) on
#                                             ES2_PORT: prints "ICCID MATCHINGID"
#   smdp_state ICCID                          the profile's state at the SM-DP+

e2e_inventory() { # N ICCID_PREFIX IMSI_PREFIX [WIDTH]
  local w=${4:-2}
  "$RSPCTL" pki init "$DIR/pki" --curve "${E2E_CURVE:-nist}" --smdp-host "$HOST" >/dev/null
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -out "$DIR/op.key.pem"
  openssl pkey -in "$DIR/op.key.pem" -pubout -out "$DIR/op.pub.pem" 2>/dev/null
  mkdir -p "$DIR/profiles"
  local i
  for i in $(seq "$1"); do
    "$RSPCTL" profiles generate --iccid "$(printf '%s%0*d' "$2" "$w" "$i")" \
      --imsi "$(printf '%s%0*d' "$3" "$w" "$i")" --spn "$PROFILE_TYPE" --profile-type "$PROFILE_TYPE" \
      -o "$DIR/profiles/p$i.der" >/dev/null
    "$RSPCTL" manifest sign --key "$DIR/op.key.pem" --operator "$OPERATOR" \
      --package "$DIR/profiles/p$i.der" --name "$PROFILE_TYPE $i" --class operational \
      --profile-type "$PROFILE_TYPE" -o "$DIR/profiles/p$i.manifest" >/dev/null
  done
  "$RSPCTL" profiles import --db "$DIR/smdp.db" --operator-cert "$DIR/op.pub.pem" \
    --operator "$OPERATOR" --dir "$DIR/profiles" >/dev/null
}

# EID 89049032 (the test EUM's IIN) ... N, with the ISO 7064 mod 97-10 check digits.
e2e_eid() { # N
  local base r
  base=$(printf '890490320000000000000%09d' "$1")
  r=$(printf '%s00' "$base" | awk '{m = 0; for (i = 1; i <= length($0); i++) m = (m * 10 + substr($0, i, 1)) % 97; print m}')
  printf '%s%02d\n' "$base" $((98 - r))
}

# Below the kernel's ephemeral range (32768-60999): a port an outgoing connection holds there
# cannot be bound.
e2e_free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p" && return 0; fi
  done
  die "no free TCP port"
}

e2e_smdp_conf() { # PORT [ADVERTISED_PORT]
  local token_hash
  token_hash=$(printf '%s' "$TOKEN" | openssl dgst -sha256 -r | cut -d' ' -f1)
  cat >"$DIR/smdp.conf" <<CONF
host = $HOST:${2:-$1}
listen_address = 127.0.0.1
port = $1
tls_chain = $DIR/pki/nist/dptls.chain.pem
tls_key = $DIR/pki/nist/dptls.key.pem
dpauth_cert = $DIR/pki/nist/dpauth.pem
dpauth_key = $DIR/pki/nist/dpauth.key.pem
dppb_cert = $DIR/pki/nist/dppb.pem
dppb_key = $DIR/pki/nist/dppb.key.pem
ci_certs = $DIR/pki/nist/ci.pem
db_path = $DIR/smdp.db
operator = $OPERATOR token_sha256=$token_hash
CONF
}

e2e_smdp_try() { # PORT
  "$SMDP" -c "$DIR/smdp.conf" >>"$DIR/smdp.log" 2>&1 &
  smdp_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$DIR/pki/nist/ci.pem" "https://$HOST:$1/" && return 0
    kill -0 "$smdp_pid" 2>/dev/null || { smdp_pid= && return 1; }
    sleep 0.1
  done
  die "rsp-smdp did not start"
}

es2() { # FUNCTION BODY (straight to the SM-DP+: the operator's network is not the phone's)
  curl -sS --cacert "$DIR/pki/nist/ci.pem" -H 'Content-Type: application/json' \
    -H 'X-Admin-Protocol: gsma/rsp/v2.5.0' -H "Authorization: Bearer $TOKEN" \
    -d "$2" "https://$HOST:$ES2_PORT/gsma/rsp2/es2plus/$1"
}

e2e_orders=0
order() {
  e2e_orders=$((e2e_orders + 1))
  local hdr="\"header\":{\"functionRequesterIdentifier\":\"$OPERATOR\",\"functionCallIdentifier\":\"o$e2e_orders\"}"
  local o c iccid mid
  o=$(es2 downloadOrder "{$hdr,\"profileType\":\"$PROFILE_TYPE\"}")
  iccid=$(printf '%s' "$o" | sed -n 's/.*"iccid":"\([0-9F]*\)".*/\1/p')
  c=$(es2 confirmOrder "{$hdr,\"iccid\":\"$iccid\",\"releaseFlag\":true}")
  mid=$(printf '%s' "$c" | sed -n 's/.*"matchingId":"\([^"]*\)".*/\1/p')
  [ -n "$iccid" ] && [ -n "$mid" ] || die "ES2+ order failed: $o $c"
  echo "${iccid%F} $mid"
}

smdp_state() { # ICCID
  "$RSPCTL" profiles list --db "$DIR/smdp.db" | awk -v i="$1" '($1 "") == (i "") {print $3}'
}
