// File: path_admin.cc — `nvme-mpath-ctl path disable|enable` (see path_admin.h).
#include "path_admin.h"

#include <cstring>

#include <fmt/format.h>

namespace nvme_mpath::ctl {

int FindPath(const std::vector<internal::ShmPath>& paths, std::string_view dev) {
  if (dev.empty()) return -1;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string_view ng = paths[i].ng_path, ctrl = paths[i].ctrl;
    if (dev == ng || dev == ctrl || (ng.size() == dev.size() + 5 && ng.substr(0, 5) == "/dev/" &&
                                     ng.substr(5) == dev))
      return int(i);
  }
  return -1;
}

namespace {

// Where one target stands while the tool waits.
struct Waiting {
  PathAdminResult r;
  bool done = false;
};

// Looks at target `t` once: the engine's published state of its path, and, once that is the
// state asked for, what disable still waits for. Sets w->done when there is nothing more to
// wait for (ok or failed).
void Look(const PathTarget& t, bool disable, Waiting* w) {
  // The pending request first: the engine publishes the new state before it clears the request,
  // so a request seen cleared here means the descriptors read after show what it did.
  const internal::AdminWant pending = t.reader->PendingRequest(t.path);
  const std::vector<internal::ShmPath> paths = t.reader->Paths();
  if (t.path >= int(paths.size())) {
    w->r.error = "the engine no longer publishes that path";
    w->done = true;
    return;
  }
  if ((paths[size_t(t.path)].disabled != 0) != disable) {
    if (pending == internal::AdminWant::kNone) {
      // Taken, and the path is not in that state: another request (another tool, the
      // application's own SetPathEnabled) changed it back, or the engine refused (its log says).
      w->r.error = fmt::format("the engine took the request but the path is {} now (another "
                               "request changed it since? see the engine's log)",
                               disable ? "enabled" : "disabled");
      w->done = true;
    }
    return;
  }
  if (!disable) {
    w->r.ok = w->done = true;
    return;
  }
  bool other_usable = false;
  for (size_t i = 0; i < paths.size(); ++i)
    other_usable |= int(i) != t.path && paths[i].usable != 0 && paths[i].disabled == 0;
  const std::vector<PathStatsSnapshot> sums = t.reader->Sum();
  w->r.inflight = size_t(t.path) < sums.size() ? sums[size_t(t.path)].inflight : 0;
  if (!other_usable) {
    w->r.last_resort = w->r.ok = w->done = true;
    return;
  }
  if (w->r.inflight == 0) w->r.drained = w->r.ok = w->done = true;
}

}  // namespace

std::vector<PathAdminResult> RunPathRequests(const std::vector<PathTarget>& targets, bool disable,
                                             int timeout_ms, const PathWaitHooks& hooks) {
  const int64_t deadline = hooks.now_ms() + timeout_ms;
  std::vector<Waiting> ws(targets.size());
  for (size_t k = 0; k < targets.size(); ++k) {
    const PathTarget& t = targets[k];
    PathAdminResult& r = ws[k].r;
    r.engine = t.engine;
    r.segment = t.segment;
    r.disable = disable;
    const std::vector<internal::ShmPath> paths = t.reader->Paths();
    if (t.path < 0 || t.path >= int(paths.size())) {
      r.error = "not a path of this engine";
      ws[k].done = true;
      continue;
    }
    r.ng = paths[size_t(t.path)].ng_path;
    r.ctrl = paths[size_t(t.path)].ctrl;
    r.already = (paths[size_t(t.path)].disabled != 0) == disable;
    const internal::ShmHeader& h = t.reader->header();
    if (std::string_view(h.mode, strnlen(h.mode, sizeof(h.mode))) == "head") {
      r.error = "the engine runs in head mode: the kernel's multipath head picks the controller "
                "of each command, so the engine has no path of its own to disable";
      ws[k].done = true;
      continue;
    }
    if (absl::Status st = t.reader->RequestPathState(t.path, disable); !st.ok()) {
      r.error = std::string(st.message());
      ws[k].done = true;
    }
  }
  for (;;) {
    bool waiting = false;
    for (size_t k = 0; k < targets.size(); ++k) {
      if (ws[k].done) continue;
      Look(targets[k], disable, &ws[k]);
      if (!ws[k].done && !hooks.alive(targets[k].engine.pid)) {
        ws[k].r.error = "the engine's process exited";
        ws[k].done = true;
      }
      waiting |= !ws[k].done;
    }
    if (!waiting) break;
    if (hooks.now_ms() >= deadline) {
      for (size_t k = 0; k < targets.size(); ++k) {
        if (ws[k].done) continue;
        const PathTarget& t = targets[k];
        PathAdminResult& r = ws[k].r;
        const std::vector<internal::ShmPath> paths = t.reader->Paths();
        const bool applied = size_t(t.path) < paths.size() &&
                             (paths[size_t(t.path)].disabled != 0) == disable;
        if (!applied) {
          // Not taken in time: withdrawn, so that it does not apply after this said it failed.
          t.reader->WithdrawRequest(t.path, disable);
          r.error = fmt::format("the engine did not take the request within {} ms (its control "
                                "thread looks every 250 ms: is the process stopped?)", timeout_ms);
        } else {
          r.error = fmt::format("disabled, but not drained: {} command(s) still in flight after "
                                "{} ms (they complete, or time out, on their own)", r.inflight,
                                timeout_ms);
        }
      }
      break;
    }
    hooks.sleep_ms(kPathPollMs);
  }
  std::vector<PathAdminResult> out;
  for (Waiting& w : ws) out.push_back(std::move(w.r));
  return out;
}

}  // namespace nvme_mpath::ctl
