# nvme_mpath_add_lab_test(NAME SCRIPT [ARGS...] [PORTS n] [MP N|Y] [TIMEOUT s] [KERNEL 6.1|6.12])
#
# Registers a CTest test that boots the lab VM (tests/lab/vm.sh) and runs SCRIPT inside it with
# bash, after the nvmet target is set up and every port connected. The script sees $LAB_LIB
# (tests/lab/lab.sh), $LAB_OUT (a writable directory) and $NVME_MPATH_BUILD_DIR. Label "lab";
# exit 77 (this host cannot run QEMU) is a skip, except where NVME_MPATH_LAB_REQUIRED=1 (CI).
set(NVME_MPATH_LAB_DIR_SRC ${CMAKE_CURRENT_LIST_DIR})
# Kernels the lab tests also run on, besides Debian 12's 6.1 (scripts/test.sh prepares them).
set(NVME_MPATH_LAB_EXTRA_KERNELS "6.12" CACHE STRING "extra lab kernels (6.12 = bookworm-backports)")
function(nvme_mpath_add_lab_test name script)
  cmake_parse_arguments(LT "" "PORTS;MP;TIMEOUT;KERNEL" "" ${ARGN})
  if(NOT LT_KERNEL)
    set(LT_KERNEL 6.1)
  endif()
  if(NOT LT_PORTS)
    set(LT_PORTS 2)
  endif()
  if(NOT LT_MP)
    set(LT_MP N)
  endif()
  if(NOT LT_TIMEOUT)
    set(LT_TIMEOUT 600)
  endif()
  math(EXPR vm_timeout "${LT_TIMEOUT} - 20")
  add_test(NAME ${name}
    COMMAND ${NVME_MPATH_LAB_DIR_SRC}/vm.sh --kernel ${LT_KERNEL} --ports ${LT_PORTS} --mp ${LT_MP} --timeout ${vm_timeout}
            -- /bin/bash ${script} ${LT_UNPARSED_ARGUMENTS})
  set(labels lab)
  if(NOT LT_KERNEL STREQUAL "6.1")
    list(APPEND labels lab-${LT_KERNEL})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" SKIP_RETURN_CODE 77 TIMEOUT ${LT_TIMEOUT}
    ENVIRONMENT "NVME_MPATH_BUILD_DIR=${CMAKE_BINARY_DIR}" RESOURCE_LOCK lab_cpu)
endfunction()
