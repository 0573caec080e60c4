// File: c_options.h — the C API's option structs: their defaults, the layouts older callers
// pass, and their conversion to the C++ ones, checked.
//
// Pure (no device is touched), so the C API's option handling is unit-tested and fuzzed
// (tests/fuzz/capi_opts_fuzz.cc) without an engine.
//
// Layouts: a struct's `size` says which fields the caller has. Each API level that adds fields
// appends them (and pads the struct so that the next one starts at its size); a caller built
// against an older header passes that header's size and gets the defaults for the fields it
// lacks. Only the sizes below are accepted: any other is a caller that did not call _init.
#ifndef NVME_MPATH_SRC_C_OPTIONS_H_
#define NVME_MPATH_SRC_C_OPTIONS_H_

#include <cstddef>

#include "absl/status/status.h"

#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>

namespace nvme_mpath::internal {

// sizeof(struct nvme_mpath_options) in API 1 (ends with `name`) and now.
inline constexpr size_t kCOptionsSizeV1 = offsetof(nvme_mpath_options, name) + sizeof(const char*);
inline constexpr size_t kCOptionsSizeV2 = sizeof(nvme_mpath_options);
// sizeof(struct nvme_mpath_queue_options) in API 1 (ends with `nbuffers` and its padding), API 2
// (ends with `defer_taskrun` and its padding) and now.
inline constexpr size_t kCQueueOptionsSizeV1 = offsetof(nvme_mpath_queue_options, reserved0) + 4;
inline constexpr size_t kCQueueOptionsSizeV2 = offsetof(nvme_mpath_queue_options, reserved1) + 4;
inline constexpr size_t kCQueueOptionsSizeV3 = sizeof(nvme_mpath_queue_options);
static_assert(kCOptionsSizeV1 == 96 && kCOptionsSizeV2 == 112, "the ABI of nvme_mpath_options");
static_assert(kCQueueOptionsSizeV1 == 40 && kCQueueOptionsSizeV2 == 48 && kCQueueOptionsSizeV3 == 64,
              "the ABI of nvme_mpath_queue_options");
static_assert(offsetof(nvme_mpath_options, write_hold_release_on_reset) == kCOptionsSizeV1);
static_assert(offsetof(nvme_mpath_queue_options, defer_taskrun) == kCQueueOptionsSizeV1);
static_assert(offsetof(nvme_mpath_queue_options, sqpoll_cpu) == kCQueueOptionsSizeV2);

// Writes the first `size` bytes of the defaults (the library's EngineOptions) into `o`, `size`
// being one of the layout sizes above: nvme_mpath_options_init (size V2, and V1 for callers
// linked against API 1's nvme_mpath_options_init@NVME_MPATH_1, which must not write past their
// smaller struct); nvme_mpath_queue_options_init likewise (V3; V2 and V1 for callers linked
// against its NVME_MPATH_2 and NVME_MPATH_1 versions).
void InitCOptions(nvme_mpath_options* o, size_t size);
void InitCQueueOptions(nvme_mpath_queue_options* o, size_t size);

// Fills `out` from `o` and validates it (ValidateEngineOptions). Errors are InvalidArgument
// with a one-line message: NULL struct, a size that is no layout's (older than API 1's, larger
// than this library's, or none of them), a NULL path, an unknown policy, then whatever
// ValidateEngineOptions finds.
absl::Status EngineOptionsFromC(const nvme_mpath_options* o, EngineOptions* out);
// Same for a queue; `o` NULL means the defaults.
absl::Status QueueOptionsFromC(const nvme_mpath_queue_options* o, QueueOptions* out);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_C_OPTIONS_H_
