// File: address.cc
#include "address.h"

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

namespace nvme_mpath::internal {

std::string AddressField(std::string_view address, std::string_view key) {
  for (std::string_view kv : absl::StrSplit(address, ',')) {
    kv = absl::StripAsciiWhitespace(kv);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    if (kv.substr(0, eq) == key) return std::string(kv.substr(eq + 1));
  }
  return "";
}

bool SameTransportAddress(std::string_view a, std::string_view b) {
  for (std::string_view key : {"traddr", "trsvcid"}) {
    if (AddressField(a, key) != AddressField(b, key)) return false;
  }
  for (std::string_view key : {"host_traddr", "host_iface"}) {
    std::string x = AddressField(a, key), y = AddressField(b, key);
    if (!x.empty() && !y.empty() && x != y) return false;
  }
  return true;
}

}  // namespace nvme_mpath::internal
