#!/bin/bash
# enghelp_test.sh MODULE — fio loads the engine module and lists its options; a faked fio version
# is refused with a clear message and no crash.
set -uo pipefail
M=$(readlink -f "$1")
# By its bare name through the loader's search path, as --ioengine=mpath_nvme finds it.
out=$(LD_LIBRARY_PATH=$(dirname "$M") fio --enghelp=mpath_nvme 2>&1) || { echo "FAIL: fio --enghelp=mpath_nvme: $out"; exit 1; }
for opt in paths iopolicy preferred_path rr_min_io no_path_timeout cmd_timeout io_timeout \
           max_retries write_hold failback_delay ana_poll fixedbufs sqpoll sqpoll_idle stats_json; do
  grep -q "^$opt" <<<"$out" || grep -q "[[:space:]]$opt[[:space:]:]" <<<"$out" || { echo "FAIL: option $opt missing:"; echo "$out"; exit 1; }
done
echo "ok: fio lists all engine options"
out=$(NVME_MPATH_FIO_VERSION_OVERRIDE=fio-9.99 fio --enghelp="$M" 2>&1); rc=$?
grep -q "built for fio-.* but loaded into fio-9.99" <<<"$out" || { echo "FAIL: no version message: $out"; exit 1; }
[ $rc -lt 128 ] || { echo "FAIL: fio crashed ($rc)"; exit 1; }
echo "ok: version mismatch refused: $(grep 'built for' <<<"$out")"
echo "2 passed, 0 failed"
