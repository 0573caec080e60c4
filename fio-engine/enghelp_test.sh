#!/bin/bash
# enghelp_test.sh MODULE JOBFILE — the real fio with the engine module, no device needed:
#  * fio loads it by its bare name and lists every option; the details show the enumerated values
#    (iopolicy, cmd_type), the ranges and the sqthread_poll alias;
#  * JOBFILE, a job file written for fio 3.33's io_uring_cmd (tests/unit/testdata/fio/
#    io_uring_cmd.fio), passes fio --parse-only with io_uring_cmd itself (less readfua/writefua,
#    io_uring_cmd's only in later fio) and with its ioengine= replaced by mpath_nvme;
#  * a bad value is refused by fio's parser naming the option; io_uring_cmd's options that
#    mpath_nvme takes only at their defaults are refused when the job starts (fio's
#    create_serialize=0 starts the engine before it touches the file), their defaults accepted;
#  * a faked fio version is refused with a clear message and no crash.
set -uo pipefail
M=$(readlink -f "$1")
JOB=${2:?usage: enghelp_test.sh MODULE JOBFILE}
export LD_LIBRARY_PATH=$(dirname "$M")  # by its bare name, as --ioengine=mpath_nvme finds it
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
ok() { echo "ok: $*"; pass=$((pass+1)); }
fail() { echo "FAIL: $*"; exit 1; }

out=$(fio --enghelp=mpath_nvme 2>&1) || fail "fio --enghelp=mpath_nvme: $out"
for opt in paths iopolicy preferred_path rr_min_io no_path_timeout cmd_timeout io_timeout \
           max_retries write_hold failback_delay ana_poll fixedbufs sqpoll sqpoll_idle stats_json \
           hipri hipri_force sqthread_poll_cpu readfua writefua registerfiles nonvectored cmd_type \
           cmdprio_percentage cmdprio_class cmdprio cmdprio_bssplit uncached nowait force_async \
           pi_act pi_chk apptag apptag_mask md_per_io_size; do
  grep -q "^$opt[[:space:]]*:" <<<"$out" || fail "option $opt missing:"$'\n'"$out"
done
ok "fio lists all engine options"

# fio --enghelp=mpath_nvme,OPT: OPT's details. PATTERN... must each match a line.
details() {
  local opt=$1 d p
  shift
  d=$(fio --enghelp=mpath_nvme,"$opt" 2>&1) || fail "fio --enghelp=mpath_nvme,$opt: $d"
  for p in "$@"; do grep -qE "$p" <<<"$d" || fail "$opt: no line matching '$p' in:"$'\n'"$d"; done
}
details iopolicy "valid values: numa " ": round-robin " ": queue-depth " ": active-passive " ": latency " "default: numa"
details cmd_type "valid values: nvme " "default: nvme"
details sqthread_poll "^ +sqpoll: " "alias: sqthread_poll"
for opt in no_path_timeout cmd_timeout io_timeout failback_delay ana_poll sqpoll_idle; do
  details $opt "range: min=0, max=86400000$"
done
details write_hold "range: min=-1, max=86400000$" "default: -1"
details max_retries "range: min=0, max=255$"
details rr_min_io "range: min=1" "default: 1"
details cmdprio_percentage "range: min=0, max=100$"
details cmdprio_class "range: min=1, max=3$"
details cmdprio "range: min=0, max=7$"
details nonvectored "default: -1"
details readfua "boolean" "default: 0"
details writefua "boolean" "default: 0"
details pi_act "boolean" "default: 1"
details apptag "range: min=0, max=65535$" "default: 0x1234"
details apptag_mask "range: min=0, max=65535$" "default: 0xffff"
details md_per_io_size "default: 0"
ok "fio shows the values, ranges and defaults (iopolicy's five policies, cmd_type=nvme, sqthread_poll alias)"

# The job file: a real io_uring_cmd one (fio 3.33 knows every option but readfua/writefua) ...
grep -q '^ioengine=io_uring_cmd$' "$JOB" || fail "$JOB is not an io_uring_cmd job file"
grep -vE '^(readfua|writefua)=' "$JOB" > "$T/uring.fio"
out=$(fio --parse-only --filename=/dev/ng0n1 "$T/uring.fio" 2>&1) || fail "io_uring_cmd refuses $JOB: $out"
# ... that a job file for another engine fails to parse (parse-only checks the engine's options) ...
sed 's/^ioengine=io_uring_cmd$/ioengine=psync/' "$JOB" > "$T/psync.fio"
out=$(fio --parse-only --filename=/dev/ng0n1 "$T/psync.fio" 2>&1) && fail "psync accepted $JOB"
grep -q "Bad option <cmd_type=nvme>" <<<"$out" || fail "psync: $out"
# ... and mpath_nvme takes whole.
sed 's/^ioengine=io_uring_cmd$/ioengine=mpath_nvme/' "$JOB" > "$T/mpath.fio"
out=$(fio --parse-only --filename=/dev/ng0n1 "$T/mpath.fio" 2>&1) || fail "mpath_nvme refuses $JOB: $out"
cmd=$(fio --showcmd "$T/mpath.fio" 2>&1)
for o in --ioengine=mpath_nvme --cmd_type=nvme --sqpoll=1 --registerfiles=1 --nonvectored=1 --fixedbufs=1 --readfua=0 --writefua=0; do
  grep -q -- "$o" <<<"$cmd" || fail "fio --showcmd lacks $o: $cmd"
done
ok "the io_uring_cmd job file parses with io_uring_cmd and, ioengine replaced, with mpath_nvme"

# A bad value: fio's parser refuses it, naming the option as typed.
refused() {  # OPTION=VALUE PATTERN...
  local arg=$1 p
  shift
  out=$(fio --parse-only --name=x --ioengine=mpath_nvme --filename=/dev/ng0n1 --"$arg" 2>&1) &&
    fail "--$arg accepted: $out"
  grep -qF "fio: failed parsing $arg" <<<"$out" || fail "--$arg: fio does not name the option: $out"
  for p in "$@"; do grep -qF -- "$p" <<<"$out" || fail "--$arg: no '$p' in: $out"; done
}
refused iopolicy=foo "mpath_nvme: iopolicy=foo: not one of numa, round-robin, queue-depth, active-passive, latency"
refused iopolicy=Numa "mpath_nvme: iopolicy=Numa: not one of"
refused iopolicy=round-robin,x "mpath_nvme: iopolicy=round-robin,x: not one of"
refused cmd_type=scsi "valid values: nvme"
refused max_retries=256 "max_retries: max value out of range: 256 (255 max)"
refused io_timeout=86400001 "io_timeout: max value out of range"
refused rr_min_io=0 "rr_min_io: min value out of range: 0 (1 min)"
refused readfua=2 "max value out of range: 2 (1 max)"
refused cmdprio_class=4 "cmdprio_class: max value out of range"
refused cmdprio_percentage=101 "cmdprio_percentage: max value out of range"
refused apptag=0x10000 "apptag: max value out of range"
refused apptag_mask=65536 "apptag_mask: max value out of range"
for v in numa round-robin queue-depth active-passive latency; do
  out=$(fio --parse-only --name=x --ioengine=mpath_nvme --filename=/dev/ng0n1 --iopolicy=$v 2>&1) ||
    fail "--iopolicy=$v refused: $out"
done
ok "bad values are refused by fio's parser, naming the option (iopolicy, cmd_type, ranges, booleans)"

# When the job starts: fio starts the engine before it opens the file with create_serialize=0,
# so a file that is no NVMe device (/dev/null) shows how far the job got.
start() { fio --name=x --ioengine=mpath_nvme --filename=/dev/null --create_serialize=0 --size=1m "$@" 2>&1; }
at_init() {  # MESSAGE OPTION...
  local msg=$1
  shift
  out=$(start "$@") && fail "$* accepted: $out"
  grep -qF "mpath_nvme: $msg" <<<"$out" || fail "$*: no 'mpath_nvme: $msg' in: $out"
  grep -q "not an NVMe generic char device" <<<"$out" && fail "$*: refused only at open: $out"
}
at_init "cmdprio_percentage=10: not supported yet by mpath_nvme (per-I/O priorities)" --cmdprio_percentage=10
at_init "cmdprio_percentage=0,20: not supported yet by mpath_nvme" --cmdprio_percentage=0,20
at_init "cmdprio_class=2: not supported yet by mpath_nvme" --cmdprio_class=2
at_init "cmdprio=3: not supported yet by mpath_nvme" --cmdprio=3
at_init "cmdprio_bssplit=4k/10: not supported yet by mpath_nvme" --cmdprio_bssplit=4k/10
at_init "uncached=1: not supported by mpath_nvme" --uncached=1
at_init "nowait=1: not supported by mpath_nvme" --nowait=1
at_init "force_async=4: not supported yet by mpath_nvme" --force_async=4
at_init "sqthread_poll_cpu=0 without sqthread_poll (sqpoll): there is no SQ thread to pin" --sqthread_poll_cpu=0
at_init "sqthread_poll_cpu=-1: not a CPU of this machine" --sqthread_poll --sqthread_poll_cpu=-1
at_init "sqthread_poll_cpu=100000: not a CPU of this machine" --sqthread_poll --sqthread_poll_cpu=100000
at_init "md_per_io_size=64: not supported yet by mpath_nvme" --md_per_io_size=64
at_init 'pi_chk=GUARD,crc: "crc" is not one of GUARD, REFTAG, APPTAG' --pi_chk=GUARD,crc
# Their defaults, set explicitly, and the always-on ones: the job gets as far as the file. (fio
# 3.33 exits 0 when sizing fails in the job with create_serialize=0, io_uring_cmd alike: only
# the message tells.)
out=$(start --cmdprio_percentage=0 --cmdprio=0 --uncached=0 --nowait=0 --force_async=0 --registerfiles=0 \
        --nonvectored=0 --cmd_type=nvme --readfua=1 --writefua=1 --sqthread_poll --sqthread_poll_cpu=0 \
        --pi_act=1 --pi_chk=GUARD,REFTAG,APPTAG --apptag=0x5a5a --apptag_mask=0xff00 --md_per_io_size=0)
grep -q "mpath_nvme: /dev/null is not an NVMe generic char device" <<<"$out" || fail "defaults refused: $out"
grep -q "io engine mpath_nvme init failed" <<<"$out" && fail "init failed: $out"
ok "io_uring_cmd's options mpath_nvme lacks are refused when the job starts, their defaults accepted"

out=$(NVME_MPATH_FIO_VERSION_OVERRIDE=fio-9.99 fio --enghelp="$M" 2>&1); rc=$?
grep -q "built for fio-.* but loaded into fio-9.99" <<<"$out" || fail "no version message: $out"
[ $rc -lt 128 ] || fail "fio crashed ($rc)"
ok "version mismatch refused: $(grep 'built for' <<<"$out")"
echo "$pass passed, 0 failed"
