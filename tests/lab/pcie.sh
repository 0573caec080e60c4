# pcie.sh — the guest library of the PCIe lab topology (vm.sh --topology pcie), sourced like
# lab.sh, whose helpers it reuses (_lab_until, _lab_rd, lab_state, lab_wait_state, lab_reset).
#
# Target: QEMU's emulated NVMe subsystem $LAB_PCIE_NQN (nvme-subsys) with two PCIe controllers,
# "path" 1 and 2 (QEMU ids ctrl1/ctrl2, on root ports rp1/rp2, so at PCI addresses 0000:01:00.0
# and 0000:02:00.0), sharing three 64 MiB namespaces, 4096-byte LBAs:
#   nsid 1  plain
#   nsid 2  8 bytes of separate metadata per LBA, protection information type 1 (16-bit guard,
#           first 8 bytes of the metadata)
#   nsid 3  8 bytes of metadata per LBA, extended (interleaved after each LBA's data)
# and a second subsystem $LAB_PCIE_FDP_NQN with Flexible Data Placement (8 reclaim unit handles,
# one reclaim group, 4 MiB reclaim units; FDP gives a whole endurance group one LBA format, so
# it has a subsystem of its own) with controllers 3 and 4 (ctrl3/ctrl4, rp3/rp4) sharing
#   nsid 1  plain data, placement handles 0-3
# Booted with nvme_core.multipath=N: one /dev/ngXnY per (controller, namespace).
#
#   lab_setup                      load the PCIe driver, wait for both controllers and every ng
#   lab_ctrl PATH                  controller name (nvmeX) of path 1-4, by PCI address (names
#                                  change after a hot-plug; the address does not)
#   lab_ng PATH NSID               its generic char device
#   lab_reset PATH                 reset the controller (lab.sh)
#   lab_unplug PATH                QEMU monitor device_del of the controller: the guest's pciehp
#                                  removes it (attention button); waits until it is gone
#   lab_plug PATH                  device_add it back on its root port; waits for its ng devices
#   lab_monitor CMD...             one QEMU human-monitor command, through vm.sh's relay
#   lab_oncs PATH                  the controller's ONCS (optional commands), decimal
#   lab_fdp_ruamw PATH NSID PID    (PATH 3|4, NSID 1) Reclaim Unit Available Media Writes of placement handle PID
#                                  (nvme fdp status: the reclaim unit handle status)
#   lab_state PATH / lab_wait_state PATH STATE SEC / lab_paths   as in lab.sh
# Every wait is bounded; functions return non-zero and log to stderr on failure.
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh" || return 1
LAB_PCIE_NQN=nqn.2019-08.org.qemu:nvme-mpath-pcie  # QEMU's prefix + vm.sh's nvme-subsys nqn
LAB_PCIE_FDP_NQN=nqn.2019-08.org.qemu:nvme-mpath-pcie-fdp
LAB_NQN=$LAB_PCIE_NQN
LAB_NSIDS="1 2 3"
LAB_PORTS=2

lab_setup() {
  local t0 p ns
  t0=$(_lab_now_us)
  [ -d /sys/module/nvme ] || modprobe nvme || { _lab_log "modprobe nvme failed"; return 1; }
  for p in 1 2 3 4; do
    for ns in $(_lab_pcie_nsids "$p"); do
      _lab_wait_ng "$p" "$ns" "${LAB_DEV_TIMEOUT:-30}" || { _lab_log "no ng device for controller $p nsid $ns ($(lab_state "$p"))"; return 1; }
    done
  done
  _lab_log "4 PCIe controllers in 2 subsystems ready in $(( ($(_lab_now_us) - t0) / 1000 )) ms"
}

_lab_pcie_nsids() { if [ "$1" -ge 3 ]; then echo 1; else echo "$LAB_NSIDS"; fi; }
_lab_pcie_nqn() { if [ "$1" -ge 3 ]; then echo "$LAB_PCIE_FDP_NQN"; else echo "$LAB_PCIE_NQN"; fi; }

lab_ctrl() {
  local c nqn addr state want
  want=$(_lab_pcie_nqn "$1")
  for c in /sys/class/nvme/nvme*; do
    _lab_rd nqn "$c/subsysnqn" && [ "$nqn" = "$want" ] || continue
    _lab_rd addr "$c/address" || continue
    [ "$addr" = "0000:0$1:00.0" ] || continue
    _lab_rd state "$c/state"
    case $state in deleting*) continue ;; esac
    echo "${c##*/}"
    return 0
  done
  return 1
}

_lab_mon_seq=0
lab_monitor() {
  local d=$LAB_RUN/monitor n rep
  [ -d "$d" ] || { _lab_log "monitor: no relay ($d): not a PCIe-topology VM?"; return 1; }
  _lab_mon_seq=$((_lab_mon_seq + 1)); n=$$.$_lab_mon_seq
  echo "$*" > "$d/.req.$n" && mv "$d/.req.$n" "$d/req.$n" || return 1
  _lab_until 40 test -f "$d/rep.$n" || { _lab_log "monitor: no answer to '$*' in 40 s"; return 1; }
  rep=$(cat "$d/rep.$n"); rm -f "$d/rep.$n"
  printf '%s\n' "$rep" | sed '$d'
  case $rep in *rc=0) return 0 ;; esac
  _lab_log "monitor: '$*' failed: $rep"
  return 1
}

lab_fdp_ruamw() {
  local ng
  ng=$(lab_ng "$1" "$2") || { _lab_log "fdp: no ng for controller $1 nsid $2"; return 1; }
  nvme fdp status "$ng" -o json | python3 -c '
import json, sys
want = int(sys.argv[1])
def walk(x):  # the list of handle descriptors, wherever the tool puts it
    if isinstance(x, list) and x and isinstance(x[0], dict) and "pid" in x[0]:
        return x
    for v in (x.values() if isinstance(x, dict) else x if isinstance(x, list) else []):
        r = walk(v)
        if r:
            return r
d = walk(json.load(sys.stdin))
print([r for r in d if int(r["pid"]) == want][0]["ruamw"])' "$3"
}

# ONCS (Optional NVM Command Support) of controller PATH, decimal.
lab_oncs() {
  local ng
  ng=$(lab_ng "$1" 1) || return 1
  nvme id-ctrl "$ng" -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["oncs"])'
}

_lab_gone() { ! lab_ctrl "$1" >/dev/null; }
lab_unplug() {
  local c
  c=$(lab_ctrl "$1") || { _lab_log "unplug: controller $1 is not there"; return 1; }
  lab_monitor device_del "ctrl$1" >/dev/null || return 1
  # pciehp waits 5 s after the attention button before it removes the device.
  _lab_until "${LAB_UNPLUG_TIMEOUT:-30}" _lab_gone "$1" || { _lab_log "unplug: $c still there after ${LAB_UNPLUG_TIMEOUT:-30}s"; return 1; }
  _lab_log "controller $1 ($c) unplugged"
}
lab_plug() {
  local ns
  lab_ctrl "$1" >/dev/null && { _lab_log "plug: controller $1 is already there"; return 1; }
  # QEMU finishes the removal once the guest let the slot go; until then the id is taken.
  local serial=mpath-pcie s=0
  [ "$1" -ge 3 ] && serial=mpath-pcie-fdp s=1
  _lab_until 20 lab_monitor device_add "nvme,id=ctrl$1,serial=$serial,subsys=subsys$s,bus=rp$1" >/dev/null \
    || { _lab_log "plug: device_add of controller $1 refused"; return 1; }
  for ns in $(_lab_pcie_nsids "$1"); do
    _lab_wait_ng "$1" "$ns" "${LAB_DEV_TIMEOUT:-30}" || { _lab_log "plug: no ng for controller $1 nsid $ns"; return 1; }
  done
  _lab_log "controller $1 plugged back as $(lab_ctrl "$1")"
}

lab_paths() {
  local p ns c line
  printf '%-5s %-7s %-11s' PATH CTRL STATE; for ns in $LAB_NSIDS; do printf ' %-11s' "NS$ns"; done; echo
  for p in 1 2 3 4; do
    c=$(lab_ctrl "$p") || c=-
    line=$(printf '%-5s %-7s %-11s' "$p" "$c" "$(lab_state "$p")")
    for ns in $(_lab_pcie_nsids "$p"); do line+=$(printf ' %-11s' "$(lab_ng "$p" "$ns" || echo -)"); done
    echo "$line"
  done
}
