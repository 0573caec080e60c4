// File: address.h
//
// Comparison of sysfs transport address strings ("traddr=...,trsvcid=...,src_addr=...").
#ifndef NVME_MPATH_SRC_ADDRESS_H_
#define NVME_MPATH_SRC_ADDRESS_H_

#include <string>
#include <string_view>

namespace nvme_mpath::internal {

// Returns the value of `key` in a comma-separated k=v list, or "" when absent.
std::string AddressField(std::string_view address, std::string_view key);

// Returns true when two addresses name the same target endpoint. Fabrics ("traddr=..."): equal
// traddr, trsvcid and host_traddr/host_iface when both give them; src_addr is ignored: the
// kernel fills it in after connecting, so it differs between a live and a reconnecting
// controller. Anything else (PCIe: the function's address, "0000:02:00.0"): equal strings.
// Two empty addresses are not the same endpoint (nothing says they are).
bool SameTransportAddress(std::string_view a, std::string_view b);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_ADDRESS_H_
