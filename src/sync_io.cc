// File: sync_io.cc
//
// The public Queue's synchronous helpers (engine.h): Execute() submits one I/O and polls until
// it completes; Read(), Write() and FlushCache() build the I/O for it.
#include <cstdlib>

#include <nvme_mpath/engine.h>

#include "log.h"

namespace nvme_mpath {
namespace {
struct SyncWait {
  bool done = false;
};
void SyncDone(Io* io) { static_cast<SyncWait*>(io->ctx)->done = true; }
}  // namespace

int Queue::Execute(Io* io) {
  // Enter the ring once before the I/O is accepted: a queue that this thread cannot use says so
  // (-EEXIST) while nothing of `io` is in it yet. After that it stays usable from this thread.
  if (int r = Poll(0, 0); r < 0) return r;
  IoDoneFn user_done = io->done;
  void* user_ctx = io->ctx;
  SyncWait wait;
  io->done = SyncDone;
  io->ctx = &wait;
  int r = Submit(io);
  while (r == -EAGAIN) {  // queue full of other I/O: make room
    Poll(1, 1000);
    r = Submit(io);
  }
  if (r == 0) {
    while (!wait.done) {
      // Poll fails only for a thread the ring refuses, which the Poll above ruled out unless
      // another thread used the queue meanwhile (not allowed): `io` is still in the queue, so
      // returning would leave it a dangling pointer.
      if (Poll(1, -1) < 0) {
        MPLOG_ERROR("Queue::Execute: the queue was used from another thread during a synchronous "
                    "I/O");
        abort();
      }
    }
    r = io->res;
  }
  io->done = user_done;
  io->ctx = user_ctx;
  return r;
}

int Queue::Read(uint64_t slba, uint32_t nlb, void* buf, NvmeStatus* status) {
  Io io;
  io.op = IoOp::kRead;
  io.slba = slba;
  io.nlb = nlb;
  io.buf = buf;
  int r = Execute(&io);
  if (status) *status = io.status;
  return r;
}

int Queue::Write(uint64_t slba, uint32_t nlb, const void* buf, NvmeStatus* status) {
  Io io;
  io.op = IoOp::kWrite;
  io.slba = slba;
  io.nlb = nlb;
  io.buf = const_cast<void*>(buf);
  int r = Execute(&io);
  if (status) *status = io.status;
  return r;
}

int Queue::FlushCache(NvmeStatus* status) {
  Io io;
  io.op = IoOp::kFlush;
  int r = Execute(&io);
  if (status) *status = io.status;
  return r;
}

}  // namespace nvme_mpath
