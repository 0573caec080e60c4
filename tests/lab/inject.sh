#!/bin/bash
# inject.sh PROBE — the lab's status, swallow and delay injection, checked through the real
# kernel (runs in the guest after lab_setup with LAB_PROXY_PORTS="1": port 1's host traffic goes
# through tests/lab/nvmet_tcp_proxy). For each status the engine's disposition table has a row
# for, the proxy rewrites one completion and a raw uring_cmd (lab_probe) must see exactly that
# cqe->res; the proxy's own counter must say it acted (a rule that matched nothing fails the
# check). Then a swallowed command (the kernel's timeout handling answers), a delayed path, and
# the unproxied port 2 untouched throughout. One "ok"/"FAIL" line per check, then
# "N passed, M failed"; exit 1 if any failed.
#   LAB_INJECT_BREAK=1  aims one injection at the wrong port (must FAIL: proves the checks bite)
set -uo pipefail
source "${LAB_LIB:?LAB_LIB must point at tests/lab/lab.sh}"
P=${1:?usage: inject.sh PATH_TO_lab_probe}
[ -x "$P" ] || { echo "FAIL - lab_probe '$P' is not executable"; echo "0 passed, 1 failed"; exit 1; }
pass=0 fail=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
res_of() { sed -n 's/^res=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$1"; }
us_of() { sed -n 's/.* us=\([0-9]*\).*/\1/p' <<<"$1"; }

_lab_proxied 1 || { echo "FAIL - run with LAB_PROXY_PORTS=1 (got '${LAB_PROXY_PORTS:-}')"; echo "0 passed, 1 failed"; exit 1; }
A=$(lab_ng 1 1) B=$(lab_ng 2 1)
echo "paths: ns1 $A (port 1, proxied) $B (port 2, direct)"

# inject_one PORT STATUS OPCODE(0x02 read | 0x01 write) WANT_RES: one rewritten completion.
inject_one() {
  local port=$1 st=$2 opc=$3 want=$4 before after out res op dev
  before=$(lab_proxy_stat 1 injected) || { bad "proxy stats on port 1"; return; }
  lab_inject "$port" "$st" 1 "$opc" || { bad "lab_inject $port $st"; return; }
  if [ "$opc" = 0x01 ]; then op="-p 0x3c -l 64 write"; else op="-l 64 read"; fi
  out=$("$P" -w 20 $op "$A" 2>&1)
  res=$(res_of "$out")
  after=$(lab_proxy_stat 1 injected)
  if [ "$res" = "$(( want ))" ] && [ "$after" -eq $(( before + 1 )) ]; then
    ok "status $st on $( [ "$opc" = 0x01 ] && echo write || echo read ): cqe->res $res, proxy injected 1 ($out)"
  else
    bad "status $st opcode $opc: want res=$(( want )) and 1 injection, got res='$res' injected $before -> $after ($out)"
  fi
  lab_proxy 1 clear > /dev/null
  out=$("$P" -w 20 -l 64 read "$A" 2>&1)
  [ "$(res_of "$out")" = 0 ] || bad "after $st: the next read on port 1 succeeds ($out)"
}

# 1. Every transient / retry / DNR row of the disposition table, as the kernel hands it over.
#    The value is cqe->res: SC | SCT<<8 | CRD<<11 | More<<13 | DNR<<14.
for row in 0x006:INTERNAL 0x007:ABORT_REQ 0x008:ABORT_SQ_DELETION 0x022:TRANSIENT_TRANSPORT \
           0x1882:NS_NOT_READY+CRD1 0x2082:NS_NOT_READY+MORE 0x4281:READ_ERROR+DNR \
           0x4002:INVALID_FIELD+DNR 0x0370:HOST_PATH_ERROR 0x0303:ANA_TRANSITION; do
  st=${row%%:*}
  inject_one 1 "$st" 0x02 "$st"
done
for st in 0x006 0x008 0x4280; do inject_one 1 "$st" 0x01 "$st"; done

# 2. Rules that must not match: opcode filter (a write rule leaves reads alone), count.
b=$(lab_proxy_stat 1 injected)
lab_proxy 1 rule status=0x006 count=1 opcode=0x01 > /dev/null
out=$("$P" -w 20 -l 64 read "$A" 2>&1)
[ "$(res_of "$out")" = 0 ] && [ "$(lab_proxy_stat 1 injected)" -eq "$b" ] \
  && ok "a write-only rule leaves a read alone ($out)" || bad "a write-only rule hit a read: $out"
lab_proxy 1 clear > /dev/null
b=$(lab_proxy_stat 1 injected)
lab_inject 1 0x006 2 0x02
r1=$(res_of "$("$P" -w 20 read "$A" 2>&1)") r2=$(res_of "$("$P" -w 20 read "$A" 2>&1)") r3=$(res_of "$("$P" -w 20 read "$A" 2>&1)")
[ "$r1/$r2/$r3" = "6/6/0" ] && [ "$(lab_proxy_stat 1 injected)" -eq $(( b + 2 )) ] \
  && ok "count=2: two reads get 0x006, the third succeeds" || bad "count=2: got $r1/$r2/$r3"
lab_proxy 1 clear > /dev/null

# 3. The unproxied port is never touched, even with a rule for every command on port 1.
lab_proxy 1 rule status=0x006 count=0 > /dev/null
out=$("$P" -w 20 read "$B" 2>&1)
[ "$(res_of "$out")" = 0 ] && ok "port 2 (direct) unaffected by port 1's rule ($out)" || bad "port 2 hit: $out"
lab_proxy 1 clear > /dev/null

if [ "${LAB_INJECT_BREAK:-0}" = 1 ]; then
  # The deliberate mistake: the injection goes to port 2, which has no proxy.
  inject_one 2 0x006 0x02 0x006
fi

# 4. A swallowed command: the target's completion never reaches the host. With timeout_ms=1000 the
#    kernel's timeout handler aborts it (-EINTR or 0x371 host aborted, seen in the blackhole case)
#    and recovers the controller; the next command succeeds once the controller is live again.
b=$(lab_proxy_stat 1 dropped)
lab_proxy 1 rule drop count=1 opcode=0x02 > /dev/null
t0=$(date +%s.%N)
out=$("$P" -w 30 -T 1000 read "$A" 2>&1)
res=$(res_of "$out")
el=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')
if { [ "$res" = -4 ] || { [ "${res:-0}" -gt 0 ] && [ $(( res & 0x7ff )) -eq $(( 0x371 )) ]; }; } \
   && [ "$(lab_proxy_stat 1 dropped)" -eq $(( b + 1 )) ]; then
  ok "swallowed read: the kernel aborts it after ${el}s: $out"
else bad "swallowed read: want -EINTR or 0x371 and 1 drop, got ($out) after ${el}s"; fi
lab_proxy 1 clear > /dev/null
lab_wait_state 1 live 30 && ok "controller live again after the swallowed command" || bad "port 1 not live: $(lab_state 1)"
out=$("$P" -w 20 read "$A" 2>&1)
[ "$(res_of "$out")" = 0 ] && ok "read after recovery ($out)" || bad "read after recovery: $out"

# 5. Latency: every PDU from the target held 300 ms, then back to normal.
base=$(us_of "$("$P" -w 20 read "$A" 2>&1)")
lab_delay 1 300
out=$("$P" -w 20 read "$A" 2>&1)
slow=$(us_of "$out")
lab_delay 1 0
fast=$(us_of "$("$P" -w 20 read "$A" 2>&1)")
if [ "$(res_of "$out")" = 0 ] && [ "${slow:-0}" -ge 300000 ] && [ "${fast:-999999999}" -lt 300000 ]; then
  ok "lab_delay 1 300: a read takes ${slow} us (was ${base} us; ${fast} us after lab_delay 1 0)"
else bad "lab_delay: want >= 300000 us then < 300000, got ${slow:-?} then ${fast:-?} ($out)"; fi
fast2=$(us_of "$("$P" -w 20 read "$B" 2>&1)")
echo "FIGURE read latency: port 1 through the proxy ${fast} us, port 2 direct ${fast2} us"

# 6. Bad rules are refused with a reason.
if out=$(lab_proxy 1 rule status=0x8000 2>&1); then bad "status 0x8000 accepted: $out"
else ok "a bad rule is refused: ${out}"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
