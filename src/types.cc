// File: types.cc
//
// Names and parsers of the small public value types (types.h, io.h).
#include <nvme_mpath/io.h>
#include <nvme_mpath/types.h>

#include "address.h"

namespace nvme_mpath {

const char* AnaStateName(AnaState s) {
  switch (s) {
    case AnaState::kOptimized: return "optimized";
    case AnaState::kNonOptimized: return "non-optimized";
    case AnaState::kInaccessible: return "inaccessible";
    case AnaState::kPersistentLoss: return "persistent-loss";
    case AnaState::kChange: return "change";
    case AnaState::kUnknown: break;
  }
  return "unknown";
}

std::optional<AnaState> ParseAnaState(std::string_view s) {
  for (AnaState a : {AnaState::kOptimized, AnaState::kNonOptimized, AnaState::kInaccessible,
                     AnaState::kPersistentLoss, AnaState::kChange}) {
    if (s == AnaStateName(a)) return a;
  }
  return std::nullopt;
}

const char* IoPolicyName(IoPolicy p) {
  switch (p) {
    case IoPolicy::kNuma: return "numa";
    case IoPolicy::kRoundRobin: return "round-robin";
    case IoPolicy::kQueueDepth: return "queue-depth";
    case IoPolicy::kActivePassive: return "active-passive";
    case IoPolicy::kLatency: return "latency";
  }
  return "?";
}

std::optional<IoPolicy> ParseIoPolicy(std::string_view s) {
  for (IoPolicy p : {IoPolicy::kNuma, IoPolicy::kRoundRobin, IoPolicy::kQueueDepth,
                     IoPolicy::kActivePassive, IoPolicy::kLatency}) {
    if (s == IoPolicyName(p)) return p;
  }
  return std::nullopt;
}

const char* PathHealthName(PathHealth h) {
  switch (h) {
    case PathHealth::kLive: return "live";
    case PathHealth::kFailed: return "failed";
    case PathHealth::kGone: return "gone";
  }
  return "?";
}

const char* IoOpName(IoOp op) {
  switch (op) {
    case IoOp::kRead: return "read";
    case IoOp::kWrite: return "write";
    case IoOp::kFlush: return "flush";
    case IoOp::kWriteZeroes: return "write-zeroes";
    case IoOp::kDeallocate: return "deallocate";
    case IoOp::kCompare: return "compare";
    case IoOp::kVerify: return "verify";
    case IoOp::kWriteUncorrectable: return "write-uncorrectable";
    case IoOp::kRaw: return "raw";
  }
  return "?";
}

bool PathKey::SameEndpoint(const PathKey& o) const {
  return subsysnqn == o.subsysnqn && transport == o.transport &&
         internal::SameTransportAddress(address, o.address);
}

}  // namespace nvme_mpath
