// libFuzzer target: the status decoder and the disposition table (nvme_mpath/status.h), with
// the invariants the engine relies on.
#include <cerrno>
#include <cstring>

#include <nvme_mpath/status.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvme_mpath;
  if (size < 4) return 0;
  int32_t res;
  memcpy(&res, data, 4);
  const Disposition d = Classify(res);
  if (StatusName(res) == nullptr || DispositionName(d) == nullptr) __builtin_trap();
  (void)MayStillExecute(res);
  if (res == 0 && d != Disposition::kComplete) __builtin_trap();
  if (res > 0 && res <= 0xffff) {
    const NvmeStatus st{static_cast<uint16_t>(res)};
    if (st.code() != 0 && st.dnr() && d != Disposition::kComplete) __builtin_trap();  // DNR wins
    if (!st.dnr() && st.is_ana_error() && d != Disposition::kAnaFailover) __builtin_trap();
    if (!st.dnr() && st.sct() == kSctPath && d != Disposition::kFailover &&
        d != Disposition::kAnaFailover) __builtin_trap();
  }
  if ((res == -ENODEV || res == -ENXIO) && d != Disposition::kPathGone) __builtin_trap();
  return 0;
}
