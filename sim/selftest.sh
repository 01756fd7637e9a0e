#!/bin/sh
# selftest.sh - end-to-end check of the Digiwatt simulator over real HTTP.
#
# Starts the simulator on an ephemeral loopback port, talks to it with
# curl and validates JSON with python3. Prints one TAP line per check and
# exits 1 when any check failed, 77 (automake's "skipped") without curl or
# python3, 99 when the simulator would not start.
#
# The binary: $1, else $DIGIWATT_SIM, else $top_builddir/sim/digiwatt-sim,
# else sim/digiwatt-sim next to this script's directory.

set -u

here=$(cd "$(dirname "$0")" && pwd)
sim=${1:-${DIGIWATT_SIM:-${top_builddir:-$here/..}/sim/digiwatt-sim}}

for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "# SKIP: no $tool"; exit 77; }
done
[ -x "$sim" ] || { echo "# ERROR: $sim is not an executable"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dwsim-selftest.XXXXXX") || exit 99
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
# check DESCRIPTION COMMAND...: one TAP line for the command's status.
check() {
  desc=$1
  shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# --- start ----------------------------------------------------------------
"$sim" --port 0 --port-file "$tmp/port" --prefix /v1 --today 2026-11-15 \
  --quiet >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
  i=$((i + 1))
done
[ -s "$tmp/port" ] || { echo "# ERROR: simulator did not start"; cat "$tmp/stderr"; exit 99; }
port=$(cat "$tmp/port")
base="http://127.0.0.1:$port/v1"
control="http://127.0.0.1:$port/_control"
check "first stdout line announces the port" \
  test "$(head -n 1 "$tmp/stdout")" = "listening on 127.0.0.1:$port"

# fetch NAME URL [CURL_ARGS...]: body to $tmp/NAME, headers to
# $tmp/NAME.h, prints the status code.
fetch() {
  name=$1 url=$2
  shift 2
  curl -sS -o "$tmp/$name" -D "$tmp/$name.h" -w '%{http_code}' "$@" "$url"
}
is_json() { python3 -m json.tool "$tmp/$1" >/dev/null 2>&1; }
# json_get NAME EXPR: evaluates EXPR on the parsed body d.
json_get() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$tmp/$1" "$2" 2>/dev/null
}
has_header() { grep -qi "^$2:" "$tmp/$1.h"; }
form="client_id=demo-client&client_secret=demo-secret&grant_type=client_credentials"

# --- token ------------------------------------------------------------------
st=$(fetch token "$base/auth/token" -d "$form")
check "token endpoint answers 200" test "$st" = 200
check "token body is JSON" is_json token
token=$(json_get token 'd["access_token"]')
check "token has access_token, expires_in 3600, token_type Bearer" \
  test -n "$token" -a "$(json_get token 'd["expires_in"]')" = 3600 \
  -a "$(json_get token 'd["token_type"]')" = Bearer
auth="Authorization: Bearer $token"
st=$(fetch badcred "$base/auth/token" -d "client_id=demo-client&client_secret=wrong")
check "wrong secret answers 401 invalid_client" \
  test "$st" = 401 -a "$(json_get badcred 'd["error"]')" = invalid_client
st=$(fetch badgrant "$base/auth/token" \
  -d "client_id=demo-client&client_secret=demo-secret&grant_type=password")
check "wrong grant_type answers 400 unsupported_grant_type" \
  test "$st" = 400 -a "$(json_get badgrant 'd["error"]')" = unsupported_grant_type
# RFC 6749 2.3.1: HTTP Basic instead of the body, never both at once
st=$(fetch basic "$base/auth/token" -u demo-client:demo-secret \
  -d "grant_type=client_credentials")
check "Basic credentials answer 200 with a token" \
  test "$st" = 200 -a -n "$(json_get basic 'd["access_token"]')"
st=$(fetch bothauth "$base/auth/token" -u demo-client:demo-secret -d "$form")
check "Basic and body credentials together answer 400 invalid_request" \
  test "$st" = 400 -a "$(json_get bothauth 'd["error"]')" = invalid_request

# --- all ten resources, every period, twice -------------------------------
periods="yesterday last-seven-days this-week last-week this-month last-month"
paths=
for r in costs consumption consumption-distribution performance disaggregation; do
  for p in $periods; do paths="$paths $r/$p"; done
done
paths="$paths savings consumption-history costs-history"
paths="$paths yearly-consumption-distribution yearly-compound-consumption"
for path in $paths; do
  name=$(echo "$path" | tr / _)
  st1=$(fetch "$name.1" "$base/smartmeters/125fd56/$path" -H "$auth")
  st2=$(fetch "$name.2" "$base/smartmeters/125fd56/$path" -H "$auth")
  if [ "$st1" = 200 ] && [ "$st2" = 200 ] && is_json "$name.1" &&
    cmp -s "$tmp/$name.1" "$tmp/$name.2"; then
    ok "$path: 200, valid JSON, same body twice"
  else
    not_ok "$path: status $st1/$st2, or invalid or differing JSON"
  fi
done
costs=$(json_get costs_last-month.1 'd["value"]')
check "costs are consumption * 0.30 (to the cent)" test "$(json_get \
  consumption_last-month.1 "abs(d['value'] * 0.30 - $costs) < 0.0051")" = True
check "consumption-history lists the 12 months before today, oldest first" \
  test "$(json_get consumption-history.1 '",".join(m["month"] for m in d)')" = \
  "2025-11,2025-12,2026-01,2026-02,2026-03,2026-04,2026-05,2026-06,2026-07,2026-08,2026-09,2026-10"
check "costs-history forecasts the current month" \
  test "$(json_get costs-history.1 'd["forecast"]["month"]')" = 2026-11

# --- errors ---------------------------------------------------------------
st=$(fetch noauth "$base/smartmeters/125fd56/costs/yesterday")
check "no token: 401 with WWW-Authenticate and an error body" \
  test "$st" = 401 -a "$(json_get noauth 'd["error"]')" = invalid_token
check "no token: WWW-Authenticate present" has_header noauth WWW-Authenticate
st=$(fetch unknown "$base/smartmeters/unknown-42/costs/yesterday" -H "$auth")
check "unknown meter: 404 not_found" \
  test "$st" = 404 -a "$(json_get unknown 'd["error"]')" = not_found
st=$(fetch badperiod "$base/smartmeters/125fd56/costs/tomorrow" -H "$auth")
check "bad period: 400 invalid_request" \
  test "$st" = 400 -a "$(json_get badperiod 'd["error"]')" = invalid_request
st=$(fetch encoded "$base/smartmeters/site%2F7.a/savings" -H "$auth")
check "an ID with %2F stays one segment" test "$st" = 200

# --- one fault through the control endpoint ---------------------------------
st=$(fetch setfault "$control/fault" --data-binary '125fd56/savings=429:7@1')
check "control accepts a fault rule" test "$st" = 200
st=$(fetch fault1 "$base/smartmeters/125fd56/savings" -H "$auth")
check "the fault answers 429 with Retry-After: 7" \
  test "$st" = 429 -a "$(grep -i '^Retry-After:' "$tmp/fault1.h" | tr -d '\r')" = "Retry-After: 7"
st=$(fetch fault2 "$base/smartmeters/125fd56/savings" -H "$auth")
check "@1 spent: the next request is 200 with the usual body" \
  cmp -s "$tmp/fault2" "$tmp/savings.1"
st=$(fetch badfault "$control/fault" --data-binary 'x=nonsense')
check "control rejects a bad rule with 400" test "$st" = 400

# --- stats and shutdown -------------------------------------------------------
st=$(fetch stats "$control/stats")
check "stats are JSON" is_json stats
check "stats count the requests above" \
  test "$(json_get stats 'd["token_requests"]')" = 5 \
  -a "$(json_get stats 'd["by_path"]["/smartmeters/site%2F7.a/savings"]')" = 1 \
  -a "$(json_get stats 'd["by_status"]["429"]')" = 1
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "SIGTERM ends the simulator with status 0" test "$rc" = 0

echo "1..$n"
[ "$failed" = 0 ] || { echo "# $failed of $n checks failed"; exit 1; }
exit 0
