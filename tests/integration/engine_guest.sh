#!/bin/bash
# Runs in the VM lab: the engine core's lab tests (engine_lab_test, a gtest binary).
set -uo pipefail
B=${NVME_MPATH_BUILD_DIR:?}
exec "$B/tests/integration/engine_lab_test" --gtest_color=no
