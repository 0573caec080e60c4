// libFuzzer target: the string parsers behind options and arguments: ANA state and I/O policy
// names (engine options, fio's iopolicy=, nvme-mpath-ctl), and sysfs transport addresses.
#include <string>

#include <nvme_mpath/types.h>

#include "address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvme_mpath;
  const std::string s(reinterpret_cast<const char*>(data), size);
  if (auto a = ParseAnaState(s); a && s != AnaStateName(*a)) __builtin_trap();
  if (auto p = ParseIoPolicy(s); p && s != IoPolicyName(*p)) __builtin_trap();
  const size_t half = size / 2;
  const std::string x = s.substr(0, half), y = s.substr(half);
  (void)internal::AddressField(x, "traddr");
  (void)internal::AddressField(y, "trsvcid");
  // Reflexive, except that an empty address (blanks only: sysfs values end in a newline) names
  // no endpoint, so it matches nothing, itself included (address.h: a controller whose address
  // is unknown is never taken for another).
  const bool blank = x.find_first_not_of(" \n\t") == std::string::npos;
  if (internal::SameTransportAddress(x, x) != !blank) __builtin_trap();
  if (internal::SameTransportAddress(x, y) != internal::SameTransportAddress(y, x)) __builtin_trap();
  PathKey k{"nqn", "tcp", x, 0};
  (void)k.SameEndpoint(PathKey{"nqn", "tcp", y, 1});
  return 0;
}
