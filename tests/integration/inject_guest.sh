#!/bin/bash
# Runs in the VM lab with LAB_PROXY_PORTS=1: the engine's disposition rows through the real
# kernel, statuses injected by the fault proxy (inject_lab_test, a gtest binary).
set -uo pipefail
B=${NVME_MPATH_BUILD_DIR:?}
exec "$B/tests/integration/inject_lab_test" --gtest_color=no
