#!/bin/bash
# smoke.sh PROBE — the lab smoke test (runs in the guest after lab_setup). Writes on one path
# and reads back on another with a raw uring_cmd, keeps the two namespaces apart, then checks the
# cqe->res of each fault action: what the engine will have to handle.
set -uo pipefail
source "${LAB_LIB:?}"
P=${1:?usage: smoke.sh PATH_TO_lab_probe}
pass=0 fail=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
# expect DESC WANT(regex on res) PROBE-ARGS...
expect() {
  local desc=$1 want=$2 out res
  shift 2
  out=$("$P" "$@" 2>&1)
  res=$(sed -n 's/^res=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$out")
  if [[ "$res" =~ ^($want)$ ]]; then ok "$desc: $out"; else bad "$desc: want res=$want, got: $out"; fi
}
masked() { echo $(( $1 & 0x7ff )); }

A1=$(lab_ng 1 1) B1=$(lab_ng 2 1) A2=$(lab_ng 1 2) B2=$(lab_ng 2 2)
echo "paths: ns1 $A1 $B1, ns2 $A2 $B2"
lab_paths

# 1. data written on one path reads back on the other; the namespaces are kept apart.
expect "write 0x5a on ns1 via port 1" 0 -p 0x5a -l 8 -n 8 write "$A1"
expect "write 0xc3 on ns2 via port 2" 0 -p 0xc3 -l 8 -n 8 write "$B2"
expect "read ns1 via port 2 sees 0x5a" 0 -e 0x5a -l 8 -n 8 read "$B1"
expect "read ns2 via port 1 sees 0xc3" 0 -e 0xc3 -l 8 -n 8 read "$A2"

# 2. ANA states on port 2 (masked with 0x7ff: nvmet sets the More bit).
for s in inaccessible:770 persistent-loss:769 change:771; do
  lab_ana 2 "${s%%:*}"
  out=$("$P" -l 0 read "$B1" 2>&1); res=$(sed -n 's/^res=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$out")
  if [ -n "$res" ] && [ "$res" -gt 0 ] && [ "$(masked "$res")" = "${s#*:}" ]; then
    ok "ANA ${s%%:*}: res & 0x7ff = $(printf 0x%x "$(masked "$res")") ($out)"
  else bad "ANA ${s%%:*}: want 0x$(printf %x "${s#*:}") after masking, got: $out"; fi
  expect "port 1 unaffected while port 2 is ${s%%:*}" 0 read "$A1"
done
lab_ana 2 non-optimized
expect "port 2 back to non-optimized" 0 read "$B1"

# 3. port down: 0x370 host path error while the controller reconnects; success after it returns.
lab_port_down 2
sleep 0.5
expect "port 2 down: host path error 0x370" 880 read "$B1"
lab_port_up 2
lab_wait_state 2 live 15 && ok "port 2 reconnected" || bad "port 2 did not reconnect"
B1=$(lab_ng 2 1)
expect "port 2 up again: success" 0 read "$B1"

# 4. reset: success once the controller is live again.
lab_reset 1
lab_wait_state 1 live 15 && ok "port 1 live after reset" || bad "port 1 not live after reset"
A1=$(lab_ng 1 1)
expect "read after reset" 0 read "$A1"

# 5. delete: -ENODEV on an fd held open; success on the reconnected path's new ng device.
go=/tmp/smoke-go.$$
rm -f "$go"
"$P" -W "$go" read "$B1" > /tmp/smoke-held.$$ 2>&1 &   # holds the device open
held=$!
sleep 0.5
lab_delete 2
sleep 1
touch "$go"
wait $held
out=$(cat /tmp/smoke-held.$$)
case $out in "res=-19 "*|"res=-6 "*) ok "deleted controller: -ENODEV on the fd held open ($out)" ;;
  *) bad "deleted controller: want res=-19 on the held fd, got: $out" ;; esac
lab_reconnect 2 && ok "port 2 reconnected as $(lab_ctrl 2)" || bad "port 2 reconnect failed"
B1=$(lab_ng 2 1)
expect "reconnected path $B1 works" 0 -e 0x5a -l 8 -n 8 read "$B1"

# 6. blackhole with timeout_ms=500: -EINTR or 0x371 within seconds; works after the hole lifts.
lab_blackhole 2 on
t0=$(date +%s.%N)
expect "blackholed path with timeout_ms=500: -EINTR or 0x371" "-4|881|9073" -T 500 read "$B1"
el=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')
awk -v e="$el" 'BEGIN{exit !(e < 5)}' && ok "blackhole detected in ${el}s" || bad "blackhole took ${el}s"
lab_blackhole 2 off
lab_wait_state 2 live 20 && ok "port 2 live after the blackhole" || bad "port 2 not live after the blackhole"
B1=$(lab_ng 2 1)
expect "read after the blackhole" 0 read "$B1"

lab_paths
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
