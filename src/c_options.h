// File: c_options.h — the C API's option structs, converted to the C++ ones and checked.
//
// Pure (no device is touched), so the C API's option handling is unit-tested and fuzzed
// (tests/fuzz/capi_opts_fuzz.cc) without an engine.
#ifndef NVME_MPATH_SRC_C_OPTIONS_H_
#define NVME_MPATH_SRC_C_OPTIONS_H_

#include "absl/status/status.h"

#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>

namespace nvme_mpath::internal {

// Fills `out` from `o` and validates it (ValidateEngineOptions). Errors are InvalidArgument
// with a one-line message: NULL struct, a size older than this library's, a NULL path,
// an unknown policy, then whatever ValidateEngineOptions finds.
absl::Status EngineOptionsFromC(const nvme_mpath_options* o, EngineOptions* out);
// Same for a queue; `o` NULL means the defaults.
absl::Status QueueOptionsFromC(const nvme_mpath_queue_options* o, QueueOptions* out);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_C_OPTIONS_H_
