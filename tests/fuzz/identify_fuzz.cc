// libFuzzer target: Identify Controller / Namespace parsing and the namespace identification
// descriptor list (src/identify.h).
#include <libnvme.h>

#include <cstring>

#include "identify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvme_mpath::internal;
  nvme_id_ctrl ctrl;
  nvme_id_ns ns;
  memset(&ctrl, 0, sizeof(ctrl));
  memset(&ns, 0, sizeof(ns));
  memcpy(&ctrl, data, std::min(size, sizeof(ctrl)));
  memcpy(&ns, data, std::min(size, sizeof(ns)));
  auto c = ParseIdCtrl(ctrl);
  if (c.ok()) {
    for (uint8_t crd = 0; crd < 5; ++crd) (void)c->CrdDelayMs(crd);
  }
  auto n = ParseIdNs(ns, 1);
  if (n.ok()) {
    if (n->lba_size < 512 || n->lba_size > 65536) __builtin_trap();
    (void)n->GroupingId();
    NamespaceIdentity copy = *n;
    (void)ParseNsDescriptors(absl::MakeConstSpan(data, size), &copy);
  }
  NamespaceIdentity empty;
  (void)ParseNsDescriptors(absl::MakeConstSpan(data, size), &empty);
  return 0;
}
