// File: status_macros.h
//
// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status (Debian 12's Abseil 20220623 has none).
#ifndef NVME_MPATH_SRC_STATUS_MACROS_H_
#define NVME_MPATH_SRC_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NVME_MPATH_CONCAT_INNER_(a, b) a##b
#define NVME_MPATH_CONCAT_(a, b) NVME_MPATH_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    if (absl::Status _st = (expr); !_st.ok()) return _st;       \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(NVME_MPATH_CONCAT_(_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // NVME_MPATH_SRC_STATUS_MACROS_H_
