#!/bin/bash
# smoke.sh PROBE — the lab smoke test (runs in the guest after lab_setup, 2 ports). Writes with a
# raw uring_cmd on path 1 and reads back on path 2 (both namespaces, kept apart), then checks the
# cqe->res of each fault action: what the engine will have to handle. One "ok"/"FAIL" line per
# check, then exactly one "N passed, M failed" line; exit 1 if any check failed.
#   LAB_SMOKE_INJECT_FAIL=1  adds a check that must fail (to prove that failures are caught)
set -uo pipefail
source "${LAB_LIB:?LAB_LIB must point at tests/lab/lab.sh}"
P=${1:?usage: smoke.sh PATH_TO_lab_probe}
[ -x "$P" ] || { echo "FAIL - lab_probe '$P' is not executable"; echo "0 passed, 1 failed"; exit 1; }
pass=0 fail=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else bad "$desc"; fi; }
res_of() { sed -n 's/^res=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$1"; }
# expect DESC WANT(regex on cqe->res) PROBE-ARGS...   (every probe waits at most 20 s)
expect() {
  local desc=$1 want=$2 out res
  shift 2
  out=$("$P" -w 20 "$@" 2>&1)
  res=$(res_of "$out")
  if [[ "$res" =~ ^($want)$ ]] && ! grep -q 'verify=bad' <<<"$out"; then ok "$desc: $out"; else bad "$desc: want res=$want, got: $out"; fi
}
# expect_masked DESC WANT_HEX PROBE-ARGS...: an NVMe status whose (res & 0x7ff) is WANT
expect_masked() {
  local desc=$1 want=$2 out res
  shift 2
  out=$("$P" -w 20 "$@" 2>&1)
  res=$(res_of "$out")
  if [ -n "$res" ] && [ "$res" -gt 0 ] && [ $(( res & 0x7ff )) -eq $(( want )) ]; then
    ok "$desc: res & 0x7ff = $(printf 0x%x $(( res & 0x7ff ))) ($out)"
  else bad "$desc: want res & 0x7ff = $want, got: $out"; fi
}
elapsed() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }

A1=$(lab_ng 1 1) B1=$(lab_ng 2 1) A2=$(lab_ng 1 2) B2=$(lab_ng 2 2)
echo "paths: ns1 $A1 (port 1) $B1 (port 2), ns2 $A2 (port 1) $B2 (port 2)"
lab_paths

# 1. Data written on path 1 reads back on path 2; the two namespaces hold different data.
expect "write 0x5a to ns1 LBA 8-15 via port 1 ($A1)" 0 -p 0x5a -l 8 -n 8 write "$A1"
expect "write 0xc3 to ns2 LBA 8-15 via port 1 ($A2)" 0 -p 0xc3 -l 8 -n 8 write "$A2"
expect "read ns1 via port 2 ($B1) sees 0x5a" 0 -e 0x5a -l 8 -n 8 read "$B1"
expect "read ns2 via port 2 ($B2) sees 0xc3 (namespaces kept apart)" 0 -e 0xc3 -l 8 -n 8 read "$B2"
if [ "${LAB_SMOKE_INJECT_FAIL:-0}" = 1 ]; then
  expect "INJECTED: read ns1 expecting ns2's data (must FAIL)" 0 -e 0xc3 -l 8 -n 8 read "$B1"
fi

# 2. ANA states on port 2 (nvmet sets the More bit: mask with 0x7ff); port 1 is not affected.
for s in inaccessible:0x302 persistent-loss:0x301 change:0x303; do
  st=${s%%:*}
  lab_ana 2 "$st"
  expect_masked "ANA $st on port 2: read" "${s#*:}" read "$B1"
  expect_masked "ANA $st on port 2: write" "${s#*:}" -p 0 -l 100 write "$B2"
  expect "port 1 unaffected while port 2 is $st" 0 read "$A1"
done
lab_ana 2 non-optimized
# Success once the controller is live. Under CI load (unit tests beside the VM on 2 cores) the
# target once saw the host's keep-alive late ("nvmet: ctrl 2 keep-alive timer (2 seconds)
# expired!") and tore the association down just before this read, which then got 0x370: a
# reset this check is not about. So: wait for live, and if the read meets such a reset (0x370
# with the controller not live any more), wait for live again and read once more, saying so.
check "port 2 live before the read" lab_wait_state 2 live 20
out=$("$P" -w 20 read "$B1" 2>&1)
if [ "$(res_of "$out")" = 880 ] && [ "$(lab_state 2)" != live ]; then
  echo "note - port 2's controller was reset under the read ($(lab_state 2); $(dmesg | grep -c 'keep-alive timer') keep-alive expiries in dmesg): waiting for live, reading again"
  lab_wait_state 2 live 20 >/dev/null
  B1=$(lab_ng 2 1)
fi
expect "port 2 back to non-optimized: success" 0 read "$B1"

# 3. Port down: 0x370 (host path error) at once while the controller reconnects; success after.
lab_port_down 2
_lab_sleep 0.5
expect "port 2 down: HOST_PATH_ERROR 0x370" 880 read "$B1"
lab_port_up 2
check "port 2 live again after the port returns" lab_wait_state 2 live 20
B1=$(lab_ng 2 1)
expect "port 2 up again: success ($B1)" 0 -e 0x5a -l 8 -n 8 read "$B1"

# 4. Reset: success once the controller is live again.
lab_reset 1
check "port 1 live after reset_controller" lab_wait_state 1 live 20
A1=$(lab_ng 1 1)
expect "read after the reset ($A1)" 0 -e 0x5a -l 8 -n 8 read "$A1"

# 5. Delete: -ENODEV on an fd held open; success on the reconnected path's new ng device.
go=$LAB_OUT/smoke-go.$$ held_out=$LAB_OUT/smoke-held.$$
[ -d "${LAB_OUT:-}" ] || { go=/tmp/smoke-go.$$; held_out=/tmp/smoke-held.$$; }
rm -f "$go"
"$P" -w 20 -W "$go" read "$B1" > "$held_out" 2>&1 &   # opens the device now, submits on "$go"
held=$!
_lab_sleep 0.5
old=$(lab_ctrl 2)
lab_delete 2
check "controller $old of port 2 gone after delete" lab_wait_state 2 gone 20
touch "$go"
wait $held
out=$(cat "$held_out")
case $(res_of "$out") in
  -19) ok "deleted controller: -ENODEV on the fd held open ($out)" ;;
  *) bad "deleted controller: want res=-19 (-ENODEV) on the held fd, got: $out" ;;
esac
rm -f "$go" "$held_out"
check "port 2 reconnected" lab_reconnect 2
B1=$(lab_ng 2 1)
echo "port 2 is now $(lab_ctrl 2), ns1 $B1 (it was $old)"
expect "reconnected path $B1 works and sees the data" 0 -e 0x5a -l 8 -n 8 read "$B1"

# 6. Blackhole (silent loss) with timeout_ms=500: -EINTR or 0x371 within a few seconds;
#    success after the blackhole lifts.
lab_blackhole 2 on
t0=$(date +%s.%N)
out=$("$P" -w 20 -T 500 read "$B1" 2>&1)
el=$(elapsed "$t0")
res=$(res_of "$out")
if [ "$res" = -4 ] || { [ -n "$res" ] && [ "$res" -gt 0 ] && [ $(( res & 0x7ff )) = $(( 0x371 )) ]; }; then
  ok "blackholed path, timeout_ms=500: -EINTR or 0x371 ($out)"
else bad "blackholed path, timeout_ms=500: want -4 or 0x371, got: $out"; fi
if awk -v e="$el" 'BEGIN{exit !(e < 6)}'; then ok "blackhole noticed in ${el}s (< 6 s)"; else bad "blackhole took ${el}s (want < 6 s)"; fi
lab_blackhole 2 off
check "port 2 live after the blackhole lifts" lab_wait_state 2 live 30
B1=$(lab_ng 2 1)
expect "read after the blackhole ($B1)" 0 -e 0x5a -l 8 -n 8 read "$B1"

lab_paths
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
