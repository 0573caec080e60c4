// File: debug_assert.h
//
// NVME_MPATH_ASSERT(cond) and NVME_MPATH_ASSERT_MSG(cond, msg): what must hold at this point of
// the code, stated where it matters (a command's state before it moves, the slot accounting of a
// queue, a closed queue holding nothing, a path table epoch that only grows). As TigerBeetle's
// style asks, assert both sides: what is expected and what is forbidden.
//
// On when NVME_MPATH_ASSERTS is defined: CMake defines it for Debug builds, for the sanitizer
// builds (NVME_MPATH_SANITIZE, NVME_MPATH_TSAN) and with -DNVME_MPATH_ASSERTS=ON, for the whole
// project at once (a class may keep debug-only bookkeeping, so every translation unit must agree).
// Off otherwise (Release, RelWithDebInfo: the library as shipped and the benchmark), where the
// condition is still compiled, so it cannot rot, but never evaluated: no cost on the hot path.
//
// A failed assertion prints where and what to stderr and aborts. A broken invariant in a queue
// means that an I/O may complete twice or never; going on would corrupt the application's I/O.
//
// The file is not named assert.h: src/ is on the include path, and <cassert> includes
// <assert.h>, which would then find this file.
#ifndef NVME_MPATH_SRC_DEBUG_ASSERT_H_
#define NVME_MPATH_SRC_DEBUG_ASSERT_H_

#include "absl/base/optimization.h"

#if defined(NVME_MPATH_ASSERTS)
#define NVME_MPATH_ASSERTS_ENABLED 1
#else
#define NVME_MPATH_ASSERTS_ENABLED 0
#endif

namespace nvme_mpath::internal {

inline constexpr bool kAssertsEnabled = NVME_MPATH_ASSERTS_ENABLED;

// Prints "nvme-mpath: FILE:LINE: assertion failed: COND (MSG)" to stderr and aborts.
[[noreturn]] void AssertFailed(const char* file, int line, const char* cond, const char* msg);

}  // namespace nvme_mpath::internal

#if NVME_MPATH_ASSERTS_ENABLED
#define NVME_MPATH_ASSERT_MSG(cond, msg)                                                  \
  (ABSL_PREDICT_TRUE(cond) ? static_cast<void>(0)                                         \
                           : ::nvme_mpath::internal::AssertFailed(__FILE__, __LINE__, #cond, \
                                                                  msg))
#else
#define NVME_MPATH_ASSERT_MSG(cond, msg) \
  (static_cast<void>(sizeof(!(cond))), static_cast<void>(sizeof(msg)))
#endif
#define NVME_MPATH_ASSERT(cond) NVME_MPATH_ASSERT_MSG(cond, nullptr)

#endif  // NVME_MPATH_SRC_DEBUG_ASSERT_H_
