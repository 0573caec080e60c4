// File: address.cc
//
// (Debian 12's Abseil has its own absl::string_view, distinct from std::string_view, so plain
// std::string_view code is used here rather than absl::StrSplit.)
#include "address.h"

namespace nvme_mpath::internal {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string AddressField(std::string_view address, std::string_view key) {
  while (!address.empty()) {
    const size_t comma = address.find(',');
    std::string_view kv = Trim(address.substr(0, comma));
    address = comma == std::string_view::npos ? std::string_view() : address.substr(comma + 1);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == key) return std::string(kv.substr(eq + 1));
  }
  return "";
}

bool SameTransportAddress(std::string_view a, std::string_view b) {
  a = Trim(a);
  b = Trim(b);
  if (a.empty() || b.empty()) return false;
  // A PCIe controller's sysfs address is its PCI function: a whole-string match. (Without this a
  // deleted PCIe controller's path was reopened on the other controller: no traddr on either
  // side compared equal. Seen in lab.pcie.)
  if (AddressField(a, "traddr").empty() || AddressField(b, "traddr").empty()) return a == b;
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
