// File: debug_assert.cc
//
// The failure path of NVME_MPATH_ASSERT (debug_assert.h). Always built, so that a test compiled
// with assertions links against any build of the library.
#include "debug_assert.h"

#include <cstdio>
#include <cstdlib>

namespace nvme_mpath::internal {

void AssertFailed(const char* file, int line, const char* cond, const char* msg) {
  // stdio, not the logger: this must work from any state, and must not allocate.
  if (msg != nullptr && msg[0] != '\0')
    fprintf(stderr, "nvme-mpath: %s:%d: assertion failed: %s (%s)\n", file, line, cond, msg);
  else
    fprintf(stderr, "nvme-mpath: %s:%d: assertion failed: %s\n", file, line, cond);
  fflush(stderr);
  abort();
}

}  // namespace nvme_mpath::internal
