# nvme_mpath_add_lab_test(NAME SCRIPT [ARGS...] [PORTS n] [MP N|Y] [TIMEOUT s] [KERNEL 6.1|6.12]
#                         [MEM size] [PROXY "1 2"] [TOPOLOGY tcp|pcie] [NO_SETUP])
#
# Registers a CTest test (label "lab", SKIP_RETURN_CODE 77) that boots the lab VM
# (tests/lab/vm.sh) and runs `bash SCRIPT ARGS...` inside it, as root in a chroot of the host root,
# after the nvmet target is set up and every port connected (unless NO_SETUP). The script sees:
#   LAB_LIB               tests/lab/lab.sh (source it: lab_ng, lab_ana, lab_port_down, ...)
#   LAB_OUT               a writable directory kept on the host (the run directory's out/)
#   LAB_PORTS, LAB_MP     the topology
#   NVME_MPATH_BUILD_DIR  this CMake build directory (shared into the guest at the same path)
#   NVME_MPATH_SOURCE_DIR the source tree (shared read-only at the same path)
#   LAB_TOPOLOGY          tcp, or pcie (TOPOLOGY pcie: QEMU's dual-controller PCIe subsystem,
#                         LAB_LIB is then tests/lab/pcie.sh; PORTS, MP and PROXY do not apply)
#   LAB_PROXY_PORTS       PROXY's ports: their host traffic goes through the fault proxy
#                         (lab_inject, lab_delay, lab_proxy)
# and every NVME_MPATH_* / LAB_* variable of the environment ctest runs in.
# The script's exit status is the test's; 77 means skipped (vm.sh also exits 77 when the host
# cannot run QEMU at all, unless NVME_MPATH_LAB_REQUIRED=1 as in CI).
#
# Lab VMs are safe to run in parallel (own run directory each, the kernel cache build is behind
# flock), but two TCG VMs on a 2-core host each take about 3x longer, so by default the lab tests
# share a RESOURCE_LOCK and ctest -jN runs them one at a time next to the other tests.
# -DNVME_MPATH_LAB_PARALLEL=ON lifts that on bigger hosts.
include_guard(GLOBAL)
option(NVME_MPATH_LAB_PARALLEL "Let ctest run several lab VMs at once" OFF)
set(NVME_MPATH_LAB_SRC_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "tests/lab")

function(nvme_mpath_add_lab_test name script)
  cmake_parse_arguments(LT "NO_SETUP" "PORTS;MP;TIMEOUT;KERNEL;MEM;PROXY;TOPOLOGY" "" ${ARGN})
  if(NOT LT_PORTS)
    set(LT_PORTS 2)
  endif()
  if(NOT LT_MP)
    set(LT_MP N)
  endif()
  if(NOT LT_TIMEOUT)
    set(LT_TIMEOUT 600)
  endif()
  # vm.sh stops the VM (and prints the console tail) before ctest's own timeout kills it.
  math(EXPR vm_timeout "${LT_TIMEOUT} - 20")
  set(opts --ports ${LT_PORTS} --mp ${LT_MP} --timeout ${vm_timeout})
  if(LT_KERNEL)
    list(APPEND opts --kernel ${LT_KERNEL})
  endif()
  if(LT_TOPOLOGY)
    list(APPEND opts --topology ${LT_TOPOLOGY})
  endif()
  if(LT_MEM)
    list(APPEND opts --mem ${LT_MEM})
  endif()
  if(LT_NO_SETUP)
    list(APPEND opts --no-setup)
  endif()
  add_test(NAME ${name}
    COMMAND ${NVME_MPATH_LAB_SRC_DIR}/vm.sh ${opts} -- /bin/bash ${script} ${LT_UNPARSED_ARGUMENTS})
  set(env "NVME_MPATH_BUILD_DIR=${CMAKE_BINARY_DIR}")
  if(LT_PROXY)
    list(APPEND env "LAB_PROXY_PORTS=${LT_PROXY}")
  endif()
  set_tests_properties(${name} PROPERTIES LABELS lab SKIP_RETURN_CODE 77 TIMEOUT ${LT_TIMEOUT}
    ENVIRONMENT "${env}")
  if(NOT NVME_MPATH_LAB_PARALLEL)
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK nvme_mpath_lab_vm)
  endif()
endfunction()
