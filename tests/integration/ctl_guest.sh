#!/bin/bash
# Runs in the VM lab: nvme-mpath-ctl against nvme-cli and a running engine.
#  1. after each ANA flip, `list -o json` and `ana-log -o json` agree with `nvme list-subsys` and
#     `nvme ana-log`;
#  2. `probe` decodes an inaccessible path by name;
#  3. during a failover under fio (mpath_nvme), `stats` shows the I/O moving to the other path;
#  4. errors: a non-NVMe device (1), no engine running (5), bad arguments (NaN interval, NSID 0):
#     one line, "Try 'nvme-mpath-ctl --help'." and exit 2.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
CTL=$B/tools/nvme-mpath-ctl/nvme-mpath-ctl
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:-/tmp}" || exit 1
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }

compare() {  # our list/ana-log vs nvme-cli, for every path of both namespaces
  "$CTL" list -o json > list.json || return 1
  for p in 1 2; do for ns in 1 2; do
    ng=$(lab_ng $p $ns)
    nvme ana-log "$ng" -o json > cli-ana.json 2>/dev/null || return 1
    "$CTL" ana-log "$ng" -o json > our-ana.json || return 1
    python3 - "$ng" $ns <<'PY' || return 1
import json, sys
ng, nsid = sys.argv[1], int(sys.argv[2])
ours = json.load(open("our-ana.json")); cli = json.load(open("cli-ana.json"))
def walk(o):
    if isinstance(o, dict):
        if "grpid" in o and "state" in o: yield o
        for v in o.values(): yield from walk(v)
    elif isinstance(o, list):
        for v in o: yield from walk(v)
cli_states = {int(g["grpid"]): g["state"] for g in walk(cli)}
our_states = {g["grpid"]: g["state"] for g in ours["groups"]}
assert ours["schema_version"] == 1
assert cli_states == our_states, (ng, cli_states, our_states)
lst = json.load(open("list.json"))
path = [p for s in lst["subsystems"] for n in s["namespaces"] if n["nsid"] == nsid for p in n["paths"] if p["ng"] == ng]
assert path, ("path missing from list", ng)
assert path[0]["ana_state"] == our_states[path[0]["ana_group"]], (ng, path[0], our_states)
PY
  done; done
  # The controllers we list are the ones nvme-cli lists; our subsystem keys match its
  # (docs/nvme-mpath-ctl.md maps them): Name, NQN, HostNQN, and per controller Transport and
  # Address.
  nvme list-subsys -o json > cli-subsys.json 2>/dev/null
  python3 - <<'PY'
import json
raw = json.load(open("cli-subsys.json"))
cli = json.dumps(raw)
lst = json.load(open("list.json"))
for s in lst["subsystems"]:
    for n in s["namespaces"]:
        for p in n["paths"]:
            assert '"%s"' % p["ctrl"] in cli, ("controller not in nvme list-subsys", p["ctrl"])
            assert p["ana_state"] in ("optimized", "non-optimized", "inaccessible", "persistent-loss", "change", "unknown"), p
hosts = raw if isinstance(raw, list) else [raw]
by_name = {c["Name"]: (h, c) for h in hosts for c in h.get("Subsystems", [])}
for s in lst["subsystems"]:
    assert s["name"] in by_name, ("subsystem not in nvme list-subsys", s["name"], sorted(by_name))
    h, c = by_name[s["name"]]
    assert c["NQN"] == s["nqn"], (s["name"], c["NQN"], s["nqn"])
    if s["hostnqn"]:
        assert h.get("HostNQN") == s["hostnqn"], (s["name"], h.get("HostNQN"), s["hostnqn"])
    paths = {p["Name"]: p for p in c.get("Paths", [])}
    for ctrl in s["controllers"]:
        assert ctrl["name"] in paths, ("controller not under its subsystem in nvme list-subsys", ctrl["name"])
        p = paths[ctrl["name"]]
        assert (p["Transport"], p["Address"]) == (ctrl["transport"], ctrl["address"]), (p, ctrl)
PY
}
for step in "1 optimized 2 non-optimized" "1 inaccessible 2 optimized" "1 change 2 persistent-loss" "1 optimized 2 non-optimized"; do
  set -- $step
  lab_ana $1 $2; lab_ana $3 $4
  DESC="after port1=$2 port2=$4: list and ana-log agree with nvme-cli"
  check compare
done
"$CTL" list -v

lab_ana 2 inaccessible
DESC="probe decodes an inaccessible path as ANA_INACCESSIBLE / ana-failover"
check bash -c "'$CTL' probe $(lab_ng 1 1) > probe.txt; cat probe.txt; grep -q 'ANA_INACCESSIBLE *ana-failover' probe.txt"
lab_ana 2 non-optimized

# Stats under fio during a failover.
fio --name=ctljob --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --rw=randread --bs=4k --iodepth=8 \
  --runtime=20 --time_based > fio-ctl.log 2>&1 &
fpid=$!
# Until the job's engine publishes its stats (fio takes seconds to start under TCG, more on a
# loaded host: a fixed 4 s once found no engine yet), then 2 s of I/O on path 0.
for ((i = 0; i < 300; i++)); do "$CTL" stats --name ctljob > /dev/null 2>&1 && break; sleep 0.1; done
sleep 2
"$CTL" stats --name ctljob -o json > s1.json; "$CTL" stats --name ctljob
lab_ana 1 inaccessible; lab_ana 2 optimized
sleep 3
"$CTL" stats --name ctljob -o json > s2.json
sleep 3
"$CTL" stats --name ctljob -o json > s3.json; "$CTL" stats --name ctljob
"$CTL" watch --name ctljob --count 2 --interval 1
wait $fpid
lab_ana 1 optimized; lab_ana 2 non-optimized
DESC="stats shows the I/O moving from path 0 to path 1 during the failover"
check python3 - <<'PY'
import json
def ios(f):
    e = json.load(open(f))["engines"]
    assert len(e) == 1 and e[0]["name"] == "ctljob"
    return [p["ios"] for p in e[0]["paths"]]
a, b, c = ios("s1.json"), ios("s2.json"), ios("s3.json")
print("ios per path:", a, b, c)
assert a[0] > 0 and a[1] == 0, "before: all on path 0"
assert c[0] == b[0], "after the flip: none on path 0"
assert c[1] > b[1] > 0, "after the flip: path 1 carries the I/O"
PY
DESC="fio saw no error during the failover"
check grep -q "err= 0" fio-ctl.log

"$CTL" ana-log /dev/null; rc=$?
DESC="non-NVMe device: exit 1 ($rc)"; check test $rc -eq 1
"$CTL" stats --pid 1; rc=$?
DESC="no engine running: exit 5 ($rc)"; check test $rc -eq 5
"$CTL" probe nqn.none 7; rc=$?
DESC="no such namespace: exit 4 ($rc)"; check test $rc -eq 4
"$CTL" list --bogus 2> bogus.err; rc=$?
DESC="usage error: exit 2 ($rc), one line and Try 'nvme-mpath-ctl --help'."; check test $rc -eq 2
check test "$(sed -n 2p bogus.err)" = "Try 'nvme-mpath-ctl --help'."
"$CTL" watch --interval nan --count 1 2> nan.err; rc=$?
DESC="watch --interval nan: usage error, exit 2 ($rc), the value named"; check grep -q "not 'nan'" nan.err
check test $rc -eq 2
"$CTL" list --count 3 2> count.err; rc=$?
DESC="list --count 3: an option the command does not take, exit 2 ($rc)"; check grep -q "list does not take --count" count.err
check test $rc -eq 2
"$CTL" probe nqn.none 0x0 2> nsid.err; rc=$?
DESC="probe NQN 0x0: NSID refused, exit 2 ($rc)"; check grep -q "NSID must be a number in 1..4294967294" nsid.err
check test $rc -eq 2
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
