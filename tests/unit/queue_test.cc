// The per-thread engine over a fake transport and a fake clock: deterministic, no sleeps. A
// command the test never completes models a silent path; time passes only through the clock
// (the fake's on_wait hook lets it pass when Poll would wait).
#include "queue.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "support/fake_clock.h"
#include "support/fake_transport.h"
#include "tag.h"
#include "write_hold.h"

namespace nvme_mpath::internal {
namespace {

using nvme_mpath::testing::FakeClock;
using nvme_mpath::testing::FakeTransport;

struct Done {
  int calls = 0;
  int res = 0;
  NvmeStatus status;
};

void OnDone(Io* io) {
  auto* d = static_cast<Done*>(io->ctx);
  d->calls++;
  d->res = io->res;
  d->status = io->status;
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(QueueConfig{}); }
  // Every Io of a test lives on the test body's stack, which is gone by now: an I/O still
  // outstanding here would be completed (by Close) into a dead frame.
  // Closes the queue (failing what it still holds with -ESHUTDOWN) while the test body's Io
  // objects are alive: for tests that end with I/O parked, held or in flight.
  void CloseQueue() { queue_.reset(); }
  void TearDown() override {
    if (queue_ != nullptr) {
      EXPECT_EQ(queue_->inflight(), 0u) << "the test left I/O outstanding; finish or close it in the test body";
    }
  }

  void Build(QueueConfig cfg, int npaths = 2) {
    queue_.reset();
    table_ = std::make_unique<PathTable>(npaths);
    for (int i = 0; i < npaths; ++i) {
      PathState& p = table_->path(i);
      p.ana = i == 0 ? AnaState::kOptimized : AnaState::kNonOptimized;
      p.fd = 100 + i;
      // The lab's association: nvmet (TBKAS), KATO 2 s, no CQT -> a 6 s write hold.
      p.write_hold_ns = WriteHoldNs({.kato_ms = 2000, .cqt_ms = 0, .tbkas = true, .fabrics = true});
      p.crdt = {5, 10, 20};
    }
    cfg.nsid = 7;
    cfg.nsze = 1 << 20;
    cfg.lba_size = 512;
    auto t = std::make_unique<FakeTransport>();
    transport_ = t.get();
    queue_ = std::make_unique<QueueCore>(cfg, table_.get(), std::move(t), &clock_, nullptr);
  }

  Io MakeRead(uint64_t slba, uint32_t nlb, Done* d) {
    Io io;
    io.op = IoOp::kRead;
    io.slba = slba;
    io.nlb = nlb;
    io.buf = buf_.data();
    io.done = OnDone;
    io.ctx = d;
    return io;
  }

  // A raw command without data (the queue does not look at the payload).
  Io MakeRaw(uint8_t opcode, Done* d) {
    Io io;
    io.op = IoOp::kRaw;
    io.raw.opcode = opcode;
    io.raw.cdw10 = 0x1234;
    io.done = OnDone;
    io.ctx = d;
    return io;
  }

  void Poll() { queue_->Poll(0, 0); }

  FakeClock clock_;
  std::unique_ptr<PathTable> table_;
  FakeTransport* transport_ = nullptr;
  std::unique_ptr<QueueCore> queue_;
  alignas(4096) std::vector<uint8_t> buf_ = std::vector<uint8_t>(1 << 20);
};

// The latency policy learns from the queue's own completions: once path 0 answered in 30 ms and
// path 1 in 1 ms, a lone read (QD 1) goes down path 1, and the estimate follows the samples.
TEST_F(QueueTest, LatencyPolicyLearnsFromCompletions) {
  table_->path(1).ana = AnaState::kOptimized;
  table_->SetPolicy(IoPolicy::kLatency, -1);
  clock_.AdvanceMs(5000);
  int64_t slow_ms = 30;  // path 0's latency; path 1 answers in 1 ms
  auto one_read = [&]() {
    Done d;
    Io io = MakeRead(0, 8, &d);
    EXPECT_EQ(queue_->Submit(&io), 0);
    EXPECT_EQ(queue_->Flush(), 1);
    EXPECT_EQ(transport_->inflight().size(), 1u);
    const int path = transport_->inflight()[0].path;
    clock_.AdvanceMs(path == 0 ? slow_ms : 1);
    transport_->Complete(0, 0);
    Poll();
    EXPECT_EQ(d.calls, 1);
    EXPECT_EQ(d.res, 0);
    return path;
  };
  // No samples yet: the first read takes either path, the second probes the other.
  const int first = one_read();
  EXPECT_EQ(one_read(), 1 - first);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(one_read(), 1) << i;
  const uint32_t lat0 = queue_->paths_for_test().latency_ns(0);
  EXPECT_EQ(lat0, 30'000'000u);
  EXPECT_EQ(queue_->paths_for_test().latency_ns(1), 1'000'000u);
  // After kLatencyProbeNs without a sample, path 0 is probed once; it healed: 1 ms now. The
  // policy's clock is the time of the latest completion: the probe is the read after the first
  // one that completes past the interval.
  clock_.Advance(kLatencyProbeNs);
  slow_ms = 1;
  EXPECT_EQ(one_read(), 1);
  EXPECT_EQ(one_read(), 0);
  EXPECT_EQ(queue_->paths_for_test().latency_ns(0), 1'000'000u);  // replaced, not averaged
  // Other policies leave the estimates alone (one compare per completion).
  table_->SetPolicy(IoPolicy::kRoundRobin, -1);
  slow_ms = 7;
  EXPECT_EQ(one_read() + one_read(), 1);  // one read on each path
  EXPECT_EQ(queue_->paths_for_test().latency_ns(0), 1'000'000u);
  EXPECT_EQ(queue_->paths_for_test().latency_ns(1), 1'000'000u);
}

TEST_F(QueueTest, ReadGoesToOptimizedPathWithCorrectCommand) {
  Done d;
  Io ok = MakeRead(1000, 8, &d);
  ASSERT_EQ(queue_->Submit(&ok), 0);
  ASSERT_EQ(queue_->Flush(), 1);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  const auto& s = transport_->inflight()[0];
  EXPECT_EQ(s.path, 0);
  EXPECT_EQ(s.fd, 100);
  EXPECT_EQ(s.cmd.opcode, 0x02);
  EXPECT_EQ(s.cmd.nsid, 7u);
  EXPECT_EQ(s.cmd.cdw10, 1000u);
  EXPECT_EQ(s.cmd.cdw11, 0u);
  EXPECT_EQ(s.cmd.cdw12, 7u);
  EXPECT_EQ(s.cmd.data_len, 8u * 512);
  EXPECT_EQ(s.cmd.addr, reinterpret_cast<uintptr_t>(buf_.data()));
  const Tag t = Tag::Unpack(s.tag);
  EXPECT_EQ(t.path, 0);
  EXPECT_EQ(t.attempt, 1);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->counters(0).ios.load(), 1u);
  EXPECT_EQ(queue_->counters(0).bytes.load(), 4096u);
  EXPECT_EQ(queue_->inflight(), 0u);
}

// A submit on a busy queue builds every byte of the command in the transport's entry (the fake
// poisons each entry first, so an unwritten byte shows: Transport::Reserve()), and still sees a
// path change made while commands are in flight.
TEST_F(QueueTest, BusyQueueSubmitBuildsTheWholeCommandAndSeesAPathChange) {
  Done d1, d2, d3;
  Io first = MakeRead(1000, 8, &d1);
  ASSERT_EQ(queue_->Submit(&first), 0);  // idle queue: the general path
  Io busy = MakeRead(2000, 16, &d2);
  busy.op = IoOp::kWrite;
  busy.cdw12_flags = kCdw12Fua;
  busy.cdw13 = 0x55;
  busy.reftag = 0x1234;
  busy.apptag = 0x77;
  busy.apptag_mask = 0xff00;
  ASSERT_EQ(queue_->Submit(&busy), 0);  // one in flight: the fast path
  ASSERT_EQ(queue_->Flush(), 2);
  ASSERT_EQ(transport_->inflight().size(), 2u);
  const nvme_uring_cmd& c = transport_->inflight()[1].cmd;
  EXPECT_EQ(transport_->inflight()[1].path, 0);
  EXPECT_EQ(c.opcode, 0x01);
  EXPECT_EQ(c.flags, 0);
  EXPECT_EQ(c.rsvd1, 0);
  EXPECT_EQ(c.nsid, 7u);
  EXPECT_EQ(c.cdw2, 0u);
  EXPECT_EQ(c.cdw3, 0u);
  EXPECT_EQ(c.metadata, 0u);
  EXPECT_EQ(c.addr, reinterpret_cast<uintptr_t>(buf_.data()));
  EXPECT_EQ(c.metadata_len, 0u);
  EXPECT_EQ(c.data_len, 16u * 512);
  EXPECT_EQ(c.cdw10, 2000u);
  EXPECT_EQ(c.cdw11, 0u);
  EXPECT_EQ(c.cdw12, 15u | kCdw12Fua);
  EXPECT_EQ(c.cdw13, 0x55u);
  EXPECT_EQ(c.cdw14, 0x1234u);
  EXPECT_EQ(c.cdw15, 0xff000077u);
  EXPECT_EQ(c.timeout_ms, 0u);
  EXPECT_EQ(c.rsvd2, 0u);
  // The optimized path goes while both are in flight: the next submit, on a busy queue, goes
  // down the other path at once.
  table_->path(0).ana = AnaState::kInaccessible;
  table_->BumpEpoch();
  Io third = MakeRead(3000, 1, &d3);
  ASSERT_EQ(queue_->Submit(&third), 0);
  ASSERT_EQ(queue_->Flush(), 1);
  ASSERT_EQ(transport_->inflight().size(), 3u);
  EXPECT_EQ(transport_->inflight()[2].path, 1);
  EXPECT_EQ(transport_->inflight()[2].cmd.cdw10, 3000u);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d1.calls + d2.calls + d3.calls, 3);
  EXPECT_EQ(d2.res, 0);
}

// SubmitBatch() takes the I/Os in order and stops at the first one it cannot take, as
// io_submit(2): the count taken, or that I/O's own error when it is the first.
TEST_F(QueueTest, SubmitBatchTakesInOrderAndStopsAtTheFirstRefusal) {
  QueueConfig cfg;
  cfg.depth = 3;
  Build(cfg);
  Done d[5];
  Io a = MakeRead(10, 1, &d[0]), b = MakeRead(20, 2, &d[1]);
  Io bad = MakeRead(1 << 20, 1, &d[2]);  // beyond the namespace: -ERANGE
  Io c = MakeRead(30, 1, &d[3]), e = MakeRead(40, 1, &d[4]);
  EXPECT_EQ(queue_->SubmitBatch(nullptr, 0), 0);
  Io* first[] = {&a, &b, &bad, &c};
  EXPECT_EQ(queue_->SubmitBatch(first, 4), 2);  // a and b; bad and c untouched
  EXPECT_EQ(queue_->inflight(), 2u);
  Io* from_bad[] = {&bad, &c};
  EXPECT_EQ(queue_->SubmitBatch(from_bad, 2), -ERANGE);  // the first refused: its own error
  EXPECT_EQ(queue_->inflight(), 2u);
  Io* rest[] = {&c, &e};
  EXPECT_EQ(queue_->SubmitBatch(rest, 2), 1);  // one slot left: c
  Io* full[] = {&e};
  EXPECT_EQ(queue_->SubmitBatch(full, 1), -EAGAIN);
  ASSERT_EQ(queue_->Flush(), 3);
  ASSERT_EQ(transport_->inflight().size(), 3u);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw10, 10u);  // in the order given
  EXPECT_EQ(transport_->inflight()[1].cmd.cdw10, 20u);
  EXPECT_EQ(transport_->inflight()[1].cmd.cdw12, 1u);  // nlb 2, 0-based
  EXPECT_EQ(transport_->inflight()[2].cmd.cdw10, 30u);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d[0].calls + d[1].calls + d[3].calls, 3);
  EXPECT_EQ(d[2].calls + d[4].calls, 0);  // refused: no callback
  // A split I/O in a batch goes the general way (3 commands of 128 LBAs at most); the next one
  // finds no slot. A closed queue takes nothing.
  QueueConfig split = cfg;
  split.max_transfer_bytes = 128 * 512;
  Build(split);
  std::vector<uint8_t> large(300 * 512);
  Done db, da;
  Io big = MakeRead(100, 300, &db);
  big.buf = large.data();
  a = MakeRead(10, 1, &da);
  Io* split_first[] = {&big, &a};
  EXPECT_EQ(queue_->SubmitBatch(split_first, 2), 1);
  ASSERT_EQ(queue_->Flush(), 3);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(db.calls, 1);
  EXPECT_EQ(db.res, 0);
  EXPECT_EQ(da.calls, 0);
  queue_->Close();
  Io* after[] = {&a};
  EXPECT_EQ(queue_->SubmitBatch(after, 1), -ESHUTDOWN);
  EXPECT_EQ(queue_->SubmitBatch(after, 0), 0);  // empty: 0 even on a closed queue
}

// An Io submitted again before its callback ran (an application bug: the engine's state of it
// lives in it) is refused before anything of it is touched, on every way in (the inline read,
// the general path, a batch); the one in flight completes once. After its callback it may be
// submitted again; a copy of an Io in flight is a request of its own.
TEST_F(QueueTest, AnIoInFlightIsRefusedWhenSubmittedAgain) {
  Done d, dc;
  Io io = MakeRead(10, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(queue_->Submit(&io), -EALREADY);
  Io* twice[] = {&io};
  EXPECT_EQ(queue_->SubmitBatch(twice, 1), -EALREADY);
  io.op = IoOp::kFlush;  // the general path (SubmitChecked) refuses it too
  EXPECT_EQ(queue_->Submit(&io), -EALREADY);
  io.op = IoOp::kRead;
  Io copy = io;  // not in flight: its own request
  copy.ctx = &dc;
  ASSERT_EQ(queue_->Submit(&copy), 0);
  EXPECT_EQ(queue_->inflight(), 2u);
  ASSERT_EQ(queue_->Flush(), 2);
  ASSERT_EQ(transport_->inflight().size(), 2u);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(dc.calls, 1);
  // Done: it may go again, and in one batch twice only once.
  Io* again[] = {&io, &io};
  EXPECT_EQ(queue_->SubmitBatch(again, 2), 1);
  ASSERT_EQ(queue_->Flush(), 1);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 2);
  EXPECT_EQ(queue_->inflight(), 0u);
}

TEST_F(QueueTest, AnaErrorFailsOverOnceWithFreshTag) {
  Done d;
  Io io = MakeRead(0, 8, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  const uint64_t first_tag = transport_->inflight()[0].tag;
  transport_->Complete(0, 0x2302);
  Poll();
  EXPECT_EQ(d.calls, 0);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  const auto& s = transport_->inflight()[0];
  EXPECT_EQ(s.path, 1);
  EXPECT_NE(s.tag, first_tag);
  EXPECT_EQ(Tag::Unpack(s.tag).attempt, 2);
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kFailed);
  EXPECT_TRUE(table_->TakeAnaRefresh());
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->counters(0).failovers.load(), 1u);
  EXPECT_EQ(queue_->counters(0).errors_by_class[static_cast<int>(ErrorClass::kAna)].load(), 1u);
  EXPECT_EQ(queue_->counters(1).ios.load(), 1u);
}

TEST_F(QueueTest, StaleCompletionIsIgnored) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  const uint64_t tag = transport_->inflight()[0].tag;
  Tag stale = Tag::Unpack(tag);
  stale.seq += 1000;
  transport_->InjectCompletion(stale.Pack(), 0);
  Tag wrong_path = Tag::Unpack(tag);
  wrong_path.path = 1;
  transport_->InjectCompletion(wrong_path.Pack(), 0);
  Poll();
  EXPECT_EQ(d.calls, 0);
  EXPECT_EQ(queue_->queue_counters().stale_completions, 2u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
}

TEST_F(QueueTest, HostPathErrorAndCancelFailOver) {
  for (int res : {0x370, 0x2371, -EINTR, -EIO, -ETIMEDOUT}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRead(0, 1, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    ASSERT_EQ(transport_->inflight().size(), 1u) << res;
    EXPECT_EQ(transport_->inflight()[0].path, 1) << res;
    transport_->Complete(0, 0);
    Poll();
    EXPECT_EQ(d.calls, 1);
    EXPECT_EQ(d.res, 0);
  }
}

TEST_F(QueueTest, MediaErrorAndDnrCompleteToTheApplication) {
  // With DNR: the application sees them at once (without DNR they are retried first, below).
  for (int res : {0x4281, 0x4302, 0x4002}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRead(0, 1, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    EXPECT_EQ(d.calls, 1);
    EXPECT_EQ(d.res, -EIO);
    EXPECT_EQ(d.status.raw, res);
    EXPECT_TRUE(transport_->inflight().empty());
  }
}

TEST_F(QueueTest, NonDnrErrorIsRetriedOnSamePathThenCompletes) {
  // Kernel parity: a media error without DNR is retried max_retries times on the same path,
  // then the application gets it.
  QueueConfig cfg;
  cfg.max_retries = 3;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  for (int i = 0; i <= 3; ++i) {
    queue_->Flush();
    ASSERT_EQ(transport_->inflight().size(), 1u) << i;
    EXPECT_EQ(transport_->inflight()[0].path, 0) << i;
    EXPECT_EQ(d.calls, 0) << i;
    transport_->Complete(0, 0x281);
    Poll();
  }
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -EIO);
  EXPECT_EQ(d.status.raw, 0x281);
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->counters(0).retries.load(), 3u);
  EXPECT_EQ(queue_->counters(0).failovers.load(), 0u);
  EXPECT_EQ(queue_->counters(0).errors_by_class[static_cast<int>(ErrorClass::kMedia)].load(), 4u);
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kLive);
}

TEST_F(QueueTest, StatusWithCodeZeroCompletesWithSuccess) {
  // Only More/CRD/DNR set, code 0: a success; the application must get 0, not -EIO.
  for (int res : {0x2000, 0x1800, 0x4000}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRead(0, 8, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    EXPECT_EQ(d.calls, 1) << res;
    EXPECT_EQ(d.res, 0) << res;
    EXPECT_EQ(d.status.raw, 0) << res;
    EXPECT_TRUE(transport_->inflight().empty()) << res;
    EXPECT_EQ(queue_->counters(0).ios.load(), 1u) << res;
    EXPECT_EQ(queue_->counters(0).errors.load(), 0u) << res;
  }
}

TEST_F(QueueTest, TransientTransportSqDeletionAndBadFileFailOver) {
  for (int res : {0x022, 0x008, 0x2008, -EBADF, -ECANCELED}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRead(0, 1, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    ASSERT_EQ(transport_->inflight().size(), 1u) << res;
    EXPECT_EQ(transport_->inflight()[0].path, 1) << res;
    EXPECT_EQ(table_->path(0).health.load(), PathHealth::kFailed) << res;
    transport_->Complete(0, 0);
    Poll();
    EXPECT_EQ(d.calls, 1) << res;
    EXPECT_EQ(d.res, 0) << res;
  }
}

TEST_F(QueueTest, CancelledAndSqDeletionAreCountedAsCancelled) {
  for (int res : {-ECANCELED, -EINTR, 0x008}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRead(0, 1, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    EXPECT_EQ(queue_->counters(0).errors_by_class[static_cast<int>(ErrorClass::kCancelled)].load(),
              1u) << res;
    EXPECT_EQ(queue_->counters(0).errors_by_class[static_cast<int>(ErrorClass::kOther)].load(), 0u)
        << res;
  }
  CloseQueue();
}

TEST_F(QueueTest, WriteAbortedBySqDeletionOrBadFileIsResentAtOnce) {
  // 0x008: the controller itself aborted it (final); -EBADF: never reached the target.
  for (int res : {0x008, -EBADF}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRead(0, 8, &d);
    io.op = IoOp::kWrite;
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    EXPECT_EQ(queue_->delayed(), 0u) << res;
    ASSERT_EQ(transport_->inflight().size(), 1u) << res;
    EXPECT_EQ(transport_->inflight()[0].path, 1) << res;
    EXPECT_EQ(transport_->inflight()[0].cmd.opcode, 0x01) << res;
  }
  CloseQueue();
}

TEST_F(QueueTest, CrdRetriesSamePathAfterDelay) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x0806);  // CRD=1 -> crdt[0] = 5 -> 500 ms
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->delayed(), 1u);
  clock_.AdvanceMs(499);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  clock_.AdvanceMs(1);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->counters(0).retries.load(), 1u);
}

TEST_F(QueueTest, RetryBudgetIsBounded) {
  QueueConfig cfg;
  cfg.max_retries = 2;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  for (int i = 0; i < 3; ++i) {
    queue_->Flush();
    ASSERT_EQ(transport_->inflight().size(), 1u) << i;
    transport_->Complete(0, 0x082);  // namespace not ready, no CRD: immediate retry
    Poll();
  }
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -EIO);
  EXPECT_EQ(d.status.code(), 0x082);
}

TEST_F(QueueTest, ParksWhenNoPathAndRedrivesWhenOneReturns) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x2302);
  Poll();
  transport_->Complete(0, 0x2303);  // path 1 in transition too
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->parked(), 1u);
  clock_.AdvanceMs(5000);
  Poll();
  EXPECT_EQ(d.calls, 0);
  // The control plane re-reads ANA: path 1 optimized now.
  table_->path(1).ana = AnaState::kOptimized;
  table_->path(1).health = PathHealth::kLive;
  table_->BumpEpoch();
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  EXPECT_EQ(queue_->parked(), 0u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

TEST_F(QueueTest, ParkedIoFailsAfterNoPathTimeout) {
  QueueConfig cfg;
  cfg.no_path_timeout_ns = 3'000'000'000;
  Build(cfg);
  table_->path(0).ana = AnaState::kInaccessible;
  table_->path(1).ana = AnaState::kInaccessible;
  table_->BumpEpoch();
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(queue_->parked(), 1u);
  clock_.AdvanceMs(2999);
  Poll();
  EXPECT_EQ(d.calls, 0);
  clock_.AdvanceMs(1);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
  EXPECT_EQ(queue_->queue_counters().parked_expired, 1u);
}

TEST_F(QueueTest, ZeroNoPathTimeoutFailsAtNextPoll) {
  QueueConfig cfg;
  cfg.no_path_timeout_ns = 0;
  Build(cfg);
  table_->path(0).health = PathHealth::kGone;
  table_->path(1).ana = AnaState::kPersistentLoss;
  table_->BumpEpoch();
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(d.calls, 0);  // callbacks only run from Poll()
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
}

TEST_F(QueueTest, WriteThatMayStillExecuteIsHeldUntilTeardown) {
  // Held for 3 x KATO (TBKAS) + CQT from the failing completion: 6 s here. The hold used to be
  // 1 x KATO (2 s), shorter than the target's teardown (issue #16).
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, -EINTR);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->delayed(), 1u);
  const int64_t failed_at = clock_.NowNs();
  for (int64_t ms : {1, 2000, 4000, 5999}) {  // never resent before the hold ends
    clock_.Advance(failed_at + ms * 1'000'000 - clock_.NowNs());
    Poll();
    EXPECT_TRUE(transport_->inflight().empty()) << ms;
    EXPECT_EQ(queue_->delayed(), 1u) << ms;
  }
  clock_.Advance(failed_at + int64_t{6000} * 1'000'000 - clock_.NowNs());
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  EXPECT_EQ(transport_->inflight()[0].cmd.opcode, 0x01);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

// A raw command (a Zone Append here, opcode 0x7d) that may have executed is not sent again:
// not failed over, not retried on the same path. It completes with its status, and a failover
// row still sets the path aside (issue #16: a Zone Append, a reservation or a vendor command
// could execute twice).
TEST_F(QueueTest, RawCommandThatMayHaveExecutedIsNotResent) {
  for (int res : {-EINTR, -ECANCELED, -EIO, -ETIMEDOUT, -ECONNRESET, -ENOLINK, -ESHUTDOWN, 0x371,
                  0x2371, 0x008, 0x022, 0x300, 0x360}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRaw(0x7d, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res, 0x55);
    Poll();
    clock_.AdvanceMs(60'000);  // past any write hold: nothing is resent later either
    Poll();
    EXPECT_TRUE(transport_->inflight().empty()) << res;
    EXPECT_EQ(queue_->delayed(), 0u) << res;
    EXPECT_EQ(d.calls, 1) << res;
    EXPECT_EQ(d.res, res < 0 ? res : -EIO) << res;
    EXPECT_EQ(d.status.raw, res > 0 ? res : 0) << res;
    EXPECT_EQ(table_->path(0).health.load(), PathHealth::kFailed) << res;  // the path did fail
    EXPECT_EQ(queue_->counters(0).failovers.load(), 0u) << res;
    EXPECT_EQ(queue_->counters(0).errors.load(), 1u) << res;
    EXPECT_EQ(queue_->inflight(), 0u) << res;
  }
}

TEST_F(QueueTest, RawCommandIsNotRetriedOnSamePathAfterTargetStatus) {
  // Statuses a read is retried on (same path, after CRD): the controller processed the command.
  for (int res : {0x281, 0x006, 0x0806, 0x082, 0x002, -EFAULT}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRaw(0x7d, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    clock_.AdvanceMs(10'000);
    Poll();
    EXPECT_TRUE(transport_->inflight().empty()) << res;
    EXPECT_EQ(d.calls, 1) << res;
    EXPECT_EQ(d.res, res < 0 ? res : -EIO) << res;
    EXPECT_EQ(d.status.raw, res > 0 ? res : 0) << res;
    EXPECT_EQ(queue_->counters(0).retries.load(), 0u) << res;
    EXPECT_EQ(table_->path(0).health.load(), PathHealth::kLive) << res;
  }
}

TEST_F(QueueTest, RawCommandThatDidNotExecuteIsResent) {
  // Raised by the host before sending (0x370), refused by the target (ANA), file slot or
  // namespace gone at submission: failed over at once (no write hold) and completed once.
  for (int res : {0x370, 0x2370, 0x301, 0x302, 0x2303, -EBADF, -ENODEV, -ENXIO}) {
    Build(QueueConfig{});
    Done d;
    Io io = MakeRaw(0x7d, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, res);
    Poll();
    ASSERT_EQ(transport_->inflight().size(), 1u) << res;
    EXPECT_EQ(transport_->inflight()[0].path, 1) << res;
    EXPECT_EQ(transport_->inflight()[0].cmd.opcode, 0x7d) << res;
    EXPECT_EQ(d.calls, 0) << res;
    transport_->Complete(0, 0);
    Poll();
    EXPECT_EQ(d.calls, 1) << res;
    EXPECT_EQ(d.res, 0) << res;
  }
  // Our own resource shortage: retried on the same path after 1 ms, then 2 ms, 4 ms...
  Build(QueueConfig{});
  Done d;
  Io io = MakeRaw(0x7d, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  for (int64_t ms : {1, 2, 4}) {
    transport_->Complete(0, ms == 2 ? -EBUSY : -EAGAIN);
    Poll();
    clock_.Advance(ms * 1'000'000 - 1);
    Poll();
    EXPECT_EQ(transport_->inflight().size(), 0u) << "retried before " << ms << " ms";
    clock_.Advance(1);
    Poll();
    ASSERT_EQ(transport_->inflight().size(), 1u) << "not retried after " << ms << " ms";
    EXPECT_EQ(transport_->inflight()[0].path, 0);
  }
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

TEST_F(QueueTest, IdempotentRawCommandIsRetriedAndFailedOver) {
  // A read-like raw command (opcode bits 1:0 = 10b) marked idempotent fails over at once...
  Done d;
  Io io = MakeRaw(0x02, &d);
  io.raw.idempotent = true;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, -EINTR);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  // ... and is retried on the same path after a status.
  transport_->Complete(0, 0x281);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  // A data-modifying one (Zone Append) marked idempotent still waits out the write hold.
  Build(QueueConfig{});
  Done d2;
  Io w = MakeRaw(0x7d, &d2);
  w.raw.idempotent = true;
  ASSERT_EQ(queue_->Submit(&w), 0);
  queue_->Flush();
  transport_->Complete(0, -EINTR);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->delayed(), 1u);
  clock_.AdvanceMs(6000);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d2.calls, 1);
  EXPECT_EQ(d2.res, 0);
}

TEST_F(QueueTest, WriteHoldIsThePathsOwn) {
  // Path 0 without TBKAS and with CQT 700 ms: 2 x 2000 + 700 = 4700 ms.
  table_->path(0).write_hold_ns =
      WriteHoldNs({.kato_ms = 2000, .cqt_ms = 700, .tbkas = false, .fabrics = true});
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x371);
  Poll();
  clock_.AdvanceMs(4699);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->delayed(), 1u);
  clock_.AdvanceMs(1);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  CloseQueue();
}

TEST_F(QueueTest, WriteHoldOptionOverridesThePathsRule) {
  QueueConfig cfg;
  cfg.write_hold_ns = 250'000'000;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, -EINTR);
  Poll();
  clock_.AdvanceMs(249);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  clock_.AdvanceMs(1);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  // write_hold 0: resent at once.
  cfg.write_hold_ns = 0;
  Build(cfg);
  Io io2 = MakeRead(0, 8, &d);
  io2.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io2), 0);
  queue_->Flush();
  transport_->Complete(0, -EINTR);
  Poll();
  Poll();  // due at once: resent by the next Poll()
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  CloseQueue();
}

TEST_F(QueueTest, WriteHoldIgnoresResetByDefault) {
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x371);
  Poll();
  table_->path(0).reset_gen.fetch_add(1);
  clock_.AdvanceMs(1000);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(queue_->delayed(), 1u);
  // TSan caught the callback into a dead frame when TearDown closed the queue.
  CloseQueue();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ESHUTDOWN);
}

TEST_F(QueueTest, WriteHoldEndsEarlyWhenControllerWasReset) {
  QueueConfig cfg;
  cfg.write_hold_release_on_reset = true;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x371);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  table_->path(0).reset_gen.fetch_add(1);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  CloseQueue();
}

TEST_F(QueueTest, WriteRefusedByTargetIsResentAtOnce) {
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x2302);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  CloseQueue();
}

TEST_F(QueueTest, ControllerGoneMarksPathGone) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, -ENODEV);
  Poll();
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kGone);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  CloseQueue();
}

TEST_F(QueueTest, ReopenedFdIsInstalledInTheRing) {
  EXPECT_EQ(transport_->file(0), 100);
  table_->path(0).fd = 200;
  table_->path(0).fd_gen.fetch_add(1);
  table_->BumpEpoch();
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(transport_->file(0), 200);
  CloseQueue();
}

TEST_F(QueueTest, SplitsAtMaxTransferAndCompletesOnce) {
  QueueConfig cfg;
  cfg.max_transfer_bytes = 8192;
  Build(cfg);
  Done d;
  Io io = MakeRead(3, 40, &d);  // 40 LBAs of 512 B, 16 LBAs per command -> 16+16+8
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 3u);
  uint64_t expect_lba = 3;
  for (size_t i = 0; i < 3; ++i) {
    const auto& s = transport_->inflight()[i];
    EXPECT_EQ(s.cmd.cdw10, expect_lba);
    EXPECT_EQ(s.cmd.addr, reinterpret_cast<uintptr_t>(buf_.data()) + (expect_lba - 3) * 512);
    expect_lba += s.cmd.cdw12 + 1;
  }
  EXPECT_EQ(expect_lba, 43u);
  transport_->Complete(1, 0);
  transport_->Complete(0, 0x2302);  // one part fails over
  Poll();
  EXPECT_EQ(d.calls, 0);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

// End-to-end protection across a split and a failover: each command of a split I/O carries the
// reference tag of its own first LBA (type 1: the I/O's reftag + offset), the same application
// tag and PRINFO bits; the command resent on the other path is the same bytes.
TEST_F(QueueTest, SplitProtectedIoKeepsItsTagsPerFragmentAcrossFailover) {
  QueueConfig cfg;
  cfg.max_transfer_bytes = 8192;
  Build(cfg);
  Done d;
  Io io = MakeRead(3, 40, &d);  // 16 + 16 + 8 LBAs
  io.op = IoOp::kWrite;
  io.cdw12_flags = 0x7u << 26;  // PRCHK guard, application and reference tag
  io.reftag = 3;                // type 1: the first LBA's low 32 bits
  io.apptag = 0xabcd;
  io.apptag_mask = 0xffff;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 3u);
  for (const auto& s : transport_->inflight()) {
    EXPECT_EQ(s.cmd.cdw14, s.cmd.cdw10) << "the fragment's reference tag is its first LBA";
    EXPECT_EQ(s.cmd.cdw15, 0xffffabcdu);
    EXPECT_EQ(s.cmd.cdw12 & ~0xffffu, 0x7u << 26);
  }
  const nvme_uring_cmd second = transport_->inflight()[1].cmd;
  EXPECT_EQ(second.cdw14, 19u);
  const int first_path = transport_->inflight()[1].path;
  transport_->Complete(1, 0x2302);  // the middle fragment fails over
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 3u);
  const auto& resent = transport_->inflight().back();
  EXPECT_NE(resent.path, first_path);
  EXPECT_EQ(std::memcmp(&resent.cmd, &second, sizeof(second)), 0) << "a resend is the same command";
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

TEST_F(QueueTest, SplitsAtNoiobBoundary) {
  QueueConfig cfg;
  cfg.noiob_lbas = 16;
  Build(cfg);
  Done d;
  Io io = MakeRead(10, 20, &d);  // 10..15 | 16..29
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 2u);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw12 + 1, 6u);
  EXPECT_EQ(transport_->inflight()[1].cmd.cdw10, 16u);
  CloseQueue();
}

// Extended-LBA format (metadata interleaved): each LBA is 512 + 8 bytes in the data buffer.
// The data length used to leave the 8 bytes out (issue #16). The lab's nvmet cannot export such
// a namespace: these unit tests are the proof.
TEST_F(QueueTest, ExtendedLbaDataLengthIncludesMetadata) {
  QueueConfig cfg;
  cfg.extended_metadata_size = 8;
  Build(cfg);
  Done d;
  const IoOp ops[] = {IoOp::kRead, IoOp::kWrite, IoOp::kCompare};
  const uint8_t opcodes[] = {0x02, 0x01, 0x05};
  std::vector<Io> ios;
  ios.reserve(3);
  for (IoOp op : ops) {
    ios.push_back(MakeRead(100, 8, &d));
    ios.back().op = op;
    ios.back().md = buf_.data() + 8192;  // a separate buffer has no meaning here: not sent
    ASSERT_EQ(queue_->Submit(&ios.back()), 0) << IoOpName(op);
  }
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& s = transport_->inflight()[i];
    EXPECT_EQ(s.cmd.opcode, opcodes[i]) << i;
    EXPECT_EQ(s.cmd.data_len, 8u * 520) << IoOpName(ops[i]);
    EXPECT_EQ(s.cmd.addr, reinterpret_cast<uintptr_t>(buf_.data())) << IoOpName(ops[i]);
    EXPECT_EQ(s.cmd.metadata, 0u) << IoOpName(ops[i]);
    EXPECT_EQ(s.cmd.metadata_len, 0u) << IoOpName(ops[i]);
    EXPECT_EQ(s.cmd.cdw10, 100u) << IoOpName(ops[i]);
    EXPECT_EQ(s.cmd.cdw12, 7u) << IoOpName(ops[i]);
  }
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 3);
  EXPECT_EQ(queue_->counters(0).bytes.load(), 3u * 8 * 512);  // data bytes, as on any format
}

TEST_F(QueueTest, ExtendedLbaSplitFragmentsOffsetByLbaPlusMetadata) {
  // MDTS 4096 B counts the interleaved metadata: 4096 / 520 = 7 LBAs per command (not 8).
  QueueConfig cfg;
  cfg.extended_metadata_size = 8;
  cfg.max_transfer_bytes = 4096;
  Build(cfg);
  for (IoOp op : {IoOp::kRead, IoOp::kWrite, IoOp::kCompare}) {
    Done d;
    Io io = MakeRead(3, 20, &d);  // 7 + 7 + 6
    io.op = op;
    ASSERT_EQ(queue_->Submit(&io), 0) << IoOpName(op);
    queue_->Flush();
    ASSERT_EQ(transport_->inflight().size(), 3u) << IoOpName(op);
    const uint32_t want_nlb[] = {7, 7, 6};
    uint32_t offset = 0;
    for (size_t i = 0; i < 3; ++i) {
      const auto& s = transport_->inflight()[i];
      EXPECT_EQ(s.cmd.cdw10, 3 + offset) << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.cdw12 + 1, want_nlb[i]) << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.addr, reinterpret_cast<uintptr_t>(buf_.data()) + uint64_t{offset} * 520)
          << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.data_len, want_nlb[i] * 520) << IoOpName(op) << i;
      EXPECT_LE(s.cmd.data_len, 4096u) << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.metadata_len, 0u) << IoOpName(op) << i;
      offset += want_nlb[i];
    }
    transport_->CompleteAll(0);
    Poll();
    EXPECT_EQ(d.calls, 1) << IoOpName(op);
    EXPECT_EQ(d.res, 0) << IoOpName(op);
  }
}

TEST_F(QueueTest, SeparateMetadataSplitKeepsDataAndMetadataApart) {
  // Separate metadata (8 B per LBA in io->md): data 512 B per LBA, metadata offset by 8 B per
  // LBA, MDTS applies to the data (8192 / 512 = 16 LBAs per command).
  QueueConfig cfg;
  cfg.metadata_size = 8;
  cfg.max_transfer_bytes = 8192;
  Build(cfg);
  for (IoOp op : {IoOp::kRead, IoOp::kWrite, IoOp::kCompare}) {
    Done d;
    Io io = MakeRead(0, 40, &d);  // 16 + 16 + 8
    io.op = op;
    io.md = buf_.data() + 65536;
    ASSERT_EQ(queue_->Submit(&io), 0) << IoOpName(op);
    queue_->Flush();
    ASSERT_EQ(transport_->inflight().size(), 3u) << IoOpName(op);
    const uint32_t want_nlb[] = {16, 16, 8};
    uint32_t offset = 0;
    for (size_t i = 0; i < 3; ++i) {
      const auto& s = transport_->inflight()[i];
      EXPECT_EQ(s.cmd.cdw10, offset) << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.addr, reinterpret_cast<uintptr_t>(buf_.data()) + uint64_t{offset} * 512)
          << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.data_len, want_nlb[i] * 512) << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.metadata, reinterpret_cast<uintptr_t>(io.md) + uint64_t{offset} * 8)
          << IoOpName(op) << i;
      EXPECT_EQ(s.cmd.metadata_len, want_nlb[i] * 8) << IoOpName(op) << i;
      offset += want_nlb[i];
    }
    transport_->CompleteAll(0);
    Poll();
    EXPECT_EQ(d.calls, 1) << IoOpName(op);
  }
}

TEST_F(QueueTest, RejectsBadRequestsAndSubmitsNothing) {
  Done d;
  Io io = MakeRead((1 << 20) - 4, 8, &d);
  EXPECT_EQ(queue_->Submit(&io), -ERANGE);
  io = MakeRead(0, 0, &d);
  EXPECT_EQ(queue_->Submit(&io), -EINVAL);
  io = MakeRead(0, 1, &d);
  io.buf = buf_.data() + 1;
  EXPECT_EQ(queue_->Submit(&io), -EINVAL);
  io = MakeRead(0, 1, &d);
  io.done = nullptr;
  EXPECT_EQ(queue_->Submit(&io), -EINVAL);
  io = MakeRead(0, 1, &d);
  io.op = static_cast<IoOp>(99);
  EXPECT_EQ(queue_->Submit(&io), -EOPNOTSUPP);
  io = MakeRead(0, 1, &d);
  io.op = IoOp::kRaw;
  io.raw.opcode = 0x02;
  io.raw.data_len = 510;
  EXPECT_EQ(queue_->Submit(&io), -EINVAL);
  queue_->Flush();
  EXPECT_TRUE(transport_->inflight().empty());
  queue_->Close();
  io = MakeRead(0, 1, &d);
  EXPECT_EQ(queue_->Submit(&io), -ESHUTDOWN);
  EXPECT_EQ(d.calls, 0);
}

TEST_F(QueueTest, BackPressureWhenAllSlotsAreBusy) {
  QueueConfig cfg;
  cfg.depth = 2;
  Build(cfg);
  Done d[3];
  Io io[3] = {MakeRead(0, 1, &d[0]), MakeRead(1, 1, &d[1]), MakeRead(2, 1, &d[2])};
  EXPECT_EQ(queue_->Submit(&io[0]), 0);
  EXPECT_EQ(queue_->Submit(&io[1]), 0);
  EXPECT_EQ(queue_->Submit(&io[2]), -EAGAIN);
  queue_->Flush();
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(queue_->Submit(&io[2]), 0);
  CloseQueue();
}

TEST_F(QueueTest, OtherCommandsAreBuiltPerSpec) {
  Done d;
  Io wz = MakeRead(100, 64, &d);
  wz.op = IoOp::kWriteZeroes;
  wz.buf = nullptr;
  ASSERT_EQ(queue_->Submit(&wz), 0);
  DsmRange ranges[2] = {{0, 8, 0}, {0, 16, 64}};
  Io dsm = MakeRead(0, 2, &d);
  dsm.op = IoOp::kDeallocate;
  dsm.buf = ranges;
  ASSERT_EQ(queue_->Submit(&dsm), 0);
  Io fl = MakeRead(0, 0, &d);
  fl.op = IoOp::kFlush;
  fl.buf = nullptr;
  ASSERT_EQ(queue_->Submit(&fl), 0);
  Io raw = MakeRead(0, 0, &d);
  raw.op = IoOp::kRaw;
  raw.raw.opcode = 0x80;
  raw.raw.cdw10 = 0xabc;
  raw.raw.cdw15 = 0xdef;
  ASSERT_EQ(queue_->Submit(&raw), 0);
  queue_->Flush();
  auto& f = transport_->inflight();
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].cmd.opcode, 0x08);
  EXPECT_EQ(f[0].cmd.cdw12, 63u);
  EXPECT_EQ(f[0].cmd.data_len, 0u);
  EXPECT_EQ(f[1].cmd.opcode, 0x09);
  EXPECT_EQ(f[1].cmd.cdw10, 1u);
  EXPECT_EQ(f[1].cmd.cdw11, 4u);
  EXPECT_EQ(f[1].cmd.data_len, 32u);
  EXPECT_EQ(f[2].cmd.opcode, 0x00);
  EXPECT_EQ(f[3].cmd.opcode, 0x80);
  EXPECT_EQ(f[3].cmd.cdw10, 0xabcu);
  EXPECT_EQ(f[3].cmd.cdw15, 0xdefu);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 4);
}

TEST_F(QueueTest, RepeatedPathErrorsMarkPathMarginal) {
  Done d;
  for (int i = 0; i < 3; ++i) {
    table_->path(0).health = PathHealth::kLive;  // the control plane saw it live again
    table_->BumpEpoch();
    Io io = MakeRead(0, 1, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, 0x370);
    Poll();
    transport_->CompleteAll(0);
    Poll();
  }
  EXPECT_TRUE(table_->path(0).marginal.load());
  // A marginal optimized path comes after a healthy non-optimized one.
  table_->path(0).health = PathHealth::kLive;
  table_->BumpEpoch();
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  CloseQueue();
}

// Marginal detection counts incidents, not commands (issue #16): one controller reset with 3
// commands in flight used to mark the optimized path marginal at once.
TEST_F(QueueTest, ResetWithCommandsInFlightIsOneIncident) {
  // Each reset cancels 3 commands, completed over two polls, 100 ms apart, with three
  // different statuses.
  for (int reset = 1; reset <= 3; ++reset) {
    table_->path(0).health = PathHealth::kLive;  // the control plane saw it live again
    table_->BumpEpoch();
    Done d;
    Io io[3] = {MakeRead(0, 1, &d), MakeRead(8, 1, &d), MakeRead(16, 1, &d)};
    for (Io& x : io) ASSERT_EQ(queue_->Submit(&x), 0);
    queue_->Flush();
    ASSERT_EQ(transport_->inflight().size(), 3u);
    for (const auto& s : transport_->inflight()) ASSERT_EQ(s.path, 0) << reset;
    transport_->Complete(0, -EINTR);
    Poll();
    clock_.AdvanceMs(100);
    transport_->Complete(0, 0x371);  // the first one was failed over to path 1: index 0 is ours
    transport_->Complete(0, 0x008);
    Poll();
    ASSERT_EQ(transport_->inflight().size(), 3u);
    for (const auto& s : transport_->inflight()) EXPECT_EQ(s.path, 1) << reset;
    transport_->CompleteAll(0);
    Poll();
    EXPECT_EQ(d.calls, 3) << reset;
    // marginal_errors (3) separate resets within the window mark it marginal, not fewer.
    EXPECT_EQ(table_->path(0).marginal.load(), reset == 3) << reset;
    clock_.AdvanceMs(1000);
  }
}

TEST_F(QueueTest, OptimizedPathStaysPreferredAfterOneReset) {
  Done d;
  Io io[3] = {MakeRead(0, 1, &d), MakeRead(8, 1, &d), MakeRead(16, 1, &d)};
  for (Io& x : io) ASSERT_EQ(queue_->Submit(&x), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->CompleteAll(-EINTR), 3);
  Poll();
  transport_->CompleteAll(0);
  Poll();
  EXPECT_FALSE(table_->path(0).marginal.load());
  table_->path(0).health = PathHealth::kLive;
  table_->BumpEpoch();
  Io next = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&next), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0);  // not beaten by the non-optimized path
  CloseQueue();
}

TEST_F(QueueTest, SeparateIncidentsWithinTheWindowMarkMarginal) {
  // Three incidents 4 s apart fit the 10 s window; 6 s apart they do not.
  for (int64_t gap_ms : {4000, 6000}) {
    Build(QueueConfig{});
    for (int i = 0; i < 3; ++i) {
      table_->path(0).health = PathHealth::kLive;
      table_->BumpEpoch();
      Done d;
      Io io = MakeRead(0, 1, &d);
      ASSERT_EQ(queue_->Submit(&io), 0);
      queue_->Flush();
      transport_->Complete(0, -EIO);
      Poll();
      transport_->CompleteAll(0);
      Poll();
      clock_.AdvanceMs(gap_ms);
    }
    EXPECT_EQ(table_->path(0).marginal.load(), gap_ms == 4000) << gap_ms;
  }
}

TEST_F(QueueTest, AnaErrorsNeverCountTowardMarginal) {
  // A planned ANA transition: many separate ANA refusals, plus two real incidents, within the
  // window: not marginal (2 < 3).
  int n = 0;
  for (int res : {0x303, 0x2303, 0x302, 0x301, -EINTR, 0x303, 0x2302, 0x370, 0x303}) {
    table_->path(0).health = PathHealth::kLive;
    table_->path(0).ana = AnaState::kOptimized;
    table_->BumpEpoch();
    Done d;
    Io io = MakeRead(0, 1, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    ASSERT_EQ(transport_->inflight()[0].path, 0) << res;
    transport_->Complete(0, res);
    Poll();
    transport_->CompleteAll(0);
    Poll();
    EXPECT_EQ(d.calls, 1) << res;
    EXPECT_FALSE(table_->path(0).marginal.load()) << res << " after " << ++n;
    clock_.AdvanceMs(500);
  }
}

TEST_F(QueueTest, FailbackDelayKeepsOptimizedPathAsNonOptimizedForAWhile) {
  QueueConfig cfg;
  cfg.failback_delay_ns = 1'000'000'000;
  Build(cfg);
  table_->path(0).usable_since_ns = clock_.NowNs();
  table_->BumpEpoch();
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight()[0].path, 0);  // tie with path 1: first of the tier
  table_->path(1).ana = AnaState::kOptimized;
  table_->path(1).usable_since_ns = clock_.NowNs() - 5'000'000'000;  // long usable
  table_->path(0).ana = AnaState::kNonOptimized;
  table_->BumpEpoch();
  transport_->CompleteAll(0);
  Poll();
  clock_.AdvanceMs(10);
  table_->path(0).ana = AnaState::kOptimized;
  table_->path(0).usable_since_ns = clock_.NowNs();
  table_->BumpEpoch();
  Poll();
  Io io2 = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io2), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight()[0].path, 1);  // path 1 trusted, path 0 not yet
  transport_->CompleteAll(0);
  clock_.AdvanceMs(2000);
  Poll();
  Io io3 = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io3), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight()[0].path, 0);  // both optimized and trusted: first wins
  CloseQueue();
}

// ---- Submission that the kernel refuses or takes in part (io_uring -EAGAIN/-EBUSY, short) ----

TEST_F(QueueTest, FailedSubmitKeepsCommandsAndRetriesThem) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  transport_->QueueSubmitResults({-EAGAIN, -EBUSY, -ENOMEM});
  EXPECT_EQ(queue_->Flush(), 0) << "none sent; not an error: the queue retries";
  EXPECT_EQ(transport_->prepared(), 1u) << "the command stays prepared";
  EXPECT_TRUE(transport_->inflight().empty());
  Poll();  // tries twice (before reaping, and before returning): -EBUSY, -ENOMEM
  EXPECT_EQ(transport_->prepared(), 1u);
  EXPECT_TRUE(transport_->inflight().empty());
  Poll();  // taken
  EXPECT_EQ(transport_->prepared(), 0u);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->queue_counters().submit_failures, 3u);
  EXPECT_EQ(queue_->queue_counters().unsent_failed, 0u);
}

// A full SQ (Prep() -EBUSY): the queue submits what it prepared and prepares the command again;
// refused again, the command waits for the next Poll(). It is counted in flight only once
// prepared, and the SQ-full count says how often Prep() was refused.
TEST_F(QueueTest, FullSubmissionQueueSubmitsAndPreparesAgain) {
  transport_->set_sq_entries(1);
  Done d;
  Io io[3] = {MakeRead(0, 1, &d), MakeRead(1, 1, &d), MakeRead(2, 1, &d)};
  ASSERT_EQ(queue_->Submit(&io[0]), 0);
  ASSERT_EQ(queue_->Submit(&io[1]), 0) << "SQ full: submits the first, prepares the second";
  EXPECT_EQ(queue_->queue_counters().sq_full, 1u);
  EXPECT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->prepared(), 1u);
  transport_->set_submit_error(-EAGAIN);  // the kernel takes nothing: the third finds no SQE
  ASSERT_EQ(queue_->Submit(&io[2]), 0);
  EXPECT_EQ(queue_->queue_counters().sq_full, 2u);
  EXPECT_EQ(transport_->prepared(), 1u);
  EXPECT_EQ(queue_->delayed(), 1u) << "waits for the next Poll()";
  EXPECT_EQ(queue_->Flush(), 0);
  EXPECT_EQ(queue_->counters(0).inflight.load(), 2u) << "the delayed one is not in flight";
  transport_->set_submit_error(0);
  transport_->set_sq_entries(8);
  Poll();  // submits the second, then resends the third
  EXPECT_EQ(queue_->delayed(), 0u);
  EXPECT_EQ(queue_->counters(0).inflight.load(), 3u);
  EXPECT_EQ(transport_->CompleteAll(0), 3);
  Poll();
  EXPECT_EQ(d.calls, 3);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->counters(0).inflight.load(), 0u);
  EXPECT_EQ(queue_->counters(0).ios.load(), 3u);
  EXPECT_EQ(queue_->queue_counters().sq_full, 2u);
}

TEST_F(QueueTest, ShortSubmitSendsTheRestNextTime) {
  Done d;
  Io io[3] = {MakeRead(0, 1, &d), MakeRead(1, 1, &d), MakeRead(2, 1, &d)};
  for (Io& x : io) ASSERT_EQ(queue_->Submit(&x), 0);
  transport_->QueueSubmitResults({1});
  EXPECT_EQ(queue_->Flush(), 1);
  EXPECT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->prepared(), 2u);
  EXPECT_EQ(queue_->Flush(), 2) << "the two left over are still counted, and sent";
  ASSERT_EQ(transport_->inflight().size(), 3u);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw10, 0u);  // in order
  EXPECT_EQ(transport_->inflight()[2].cmd.cdw10, 2u);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d.calls, 3);
}

// The hang of issue #16: one synchronous read while the kernel refuses submissions. Reap must
// not wait (for completions that cannot come) while the command sits unsent.
TEST_F(QueueTest, SyncIoUnderMemoryPressureCompletesInsteadOfHanging) {
  transport_->QueueSubmitResults({-EAGAIN, -EAGAIN, -EBUSY});
  transport_->on_wait = [this](int64_t ns) {
    clock_.Advance(ns < 0 ? 3'600'000'000'000 : ns);  // time passes while the ring is silent
    if (!transport_->inflight().empty()) transport_->Complete(0, 0);  // the device answers
  };
  EXPECT_EQ(queue_->Read(0, 8, buf_.data()), 0);
  const auto& w = transport_->waits();
  ASSERT_EQ(w.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(w[i], 1'000'000) << "capped while unsent, try " << i;
  EXPECT_GT(w[3], 0) << "sent: now it waits for the completion, bounded by the I/O deadline";
  EXPECT_LE(w[3], QueueConfig{}.io_timeout_ns);
  EXPECT_EQ(queue_->inflight(), 0u);
}

TEST_F(QueueTest, PersistentSubmitFailureFailsTheCommandsAfterOneSecond) {
  transport_->set_submit_error(-EAGAIN);
  Done d;
  Io io = MakeRead(0, 8, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  Poll();
  clock_.AdvanceMs(999);
  Poll();
  EXPECT_EQ(d.calls, 0);
  EXPECT_EQ(transport_->dropped(), 0);
  clock_.AdvanceMs(1);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -EAGAIN) << "the errno the kernel gave";
  EXPECT_EQ(transport_->dropped(), 1) << "taken back: it can never reach the device";
  EXPECT_EQ(queue_->queue_counters().unsent_failed, 1u);
  EXPECT_EQ(queue_->inflight(), 0u);
  EXPECT_EQ(queue_->counters(0).inflight.load(), 0u);
  // The kernel recovers: the dropped command completes as a NOP with its old tag (stale), the
  // next I/O goes through.
  transport_->set_submit_error(0);
  Done d2;
  Io io2 = MakeRead(8, 8, &d2);
  ASSERT_EQ(queue_->Submit(&io2), 0);
  EXPECT_EQ(queue_->Flush(), 2);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw10, 8u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d2.calls, 1);
  EXPECT_EQ(d2.res, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(queue_->queue_counters().stale_completions, 1u);
}

TEST_F(QueueTest, ProgressRestartsTheSubmitStallClock) {
  Done d;
  Io io[2] = {MakeRead(0, 1, &d), MakeRead(1, 1, &d)};
  for (Io& x : io) ASSERT_EQ(queue_->Submit(&x), 0);
  transport_->set_submit_error(-EAGAIN);
  Poll();
  clock_.AdvanceMs(900);
  transport_->QueueSubmitResults({1});  // one taken after 900 ms: progress
  transport_->set_submit_error(-ENOMEM);
  Poll();
  EXPECT_EQ(transport_->inflight().size(), 1u);
  clock_.AdvanceMs(900);  // 1.8 s since the first refusal, 0.9 s since the progress
  Poll();
  EXPECT_EQ(d.calls, 0);
  clock_.AdvanceMs(100);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOMEM);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 2);
  EXPECT_EQ(d.res, 0);
}

// ---- The I/O deadline (io_timeout) for commands that never complete ----

TEST_F(QueueTest, InFlightCommandTimesOutWhenTheRingIsSilent) {
  QueueConfig cfg;
  cfg.io_timeout_ns = 5'000'000'000;
  cfg.depth = 1;
  Build(cfg);
  transport_->on_wait = [this](int64_t ns) { clock_.Advance(ns < 0 ? 3'600'000'000'000 : ns); };
  Done d;
  Io io = MakeRead(0, 8, &d);
  const int64_t t0 = clock_.NowNs();
  ASSERT_EQ(queue_->Submit(&io), 0);
  ASSERT_EQ(queue_->Flush(), 1);
  // Never completed: Poll's wait ends at the deadline although a minute was allowed.
  EXPECT_EQ(queue_->Poll(1, 60'000'000), 1);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ETIMEDOUT);
  EXPECT_EQ(clock_.NowNs() - t0, 5'000'000'000);
  EXPECT_EQ(queue_->queue_counters().timed_out, 1u);
  EXPECT_EQ(queue_->inflight(), 0u);
  // The command is still the kernel's: its slot stays taken until the completion comes.
  Done d2;
  Io io2 = MakeRead(8, 8, &d2);
  EXPECT_EQ(queue_->Submit(&io2), -EAGAIN);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  transport_->Complete(0, 0);  // late
  Poll();
  EXPECT_EQ(d.calls, 1) << "answered once";
  EXPECT_EQ(queue_->queue_counters().late_completions, 1u);
  EXPECT_EQ(queue_->queue_counters().stale_completions, 0u);
  EXPECT_EQ(queue_->counters(0).inflight.load(), 0u);
  EXPECT_EQ(queue_->Submit(&io2), 0);
  CloseQueue();
}

TEST_F(QueueTest, TimedOutWriteIsNeverResent) {
  QueueConfig cfg;
  cfg.io_timeout_ns = 5'000'000'000;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 8, &d);
  io.op = IoOp::kWrite;
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  clock_.AdvanceMs(5000);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ETIMEDOUT);
  EXPECT_EQ(queue_->delayed(), 0u);
  // The late completion is a cancellation: normally a write hold, then a resend. Not here: the
  // application has its answer, and the write may still land, so nothing resends it.
  transport_->Complete(0, -EINTR);
  Poll();
  clock_.AdvanceMs(10'000);  // past any write hold
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(transport_->prepared(), 0u);
  EXPECT_EQ(queue_->delayed(), 0u);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(queue_->queue_counters().late_completions, 1u);
}

TEST_F(QueueTest, SplitIoTimesOutOnceWhenOnePartIsStuck) {
  QueueConfig cfg;
  cfg.io_timeout_ns = 2'000'000'000;
  cfg.max_transfer_bytes = 8192;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 40, &d);  // 16 + 16 + 8 LBAs
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 3u);
  transport_->Complete(2, 0);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 0);
  clock_.AdvanceMs(1999);
  Poll();
  EXPECT_EQ(d.calls, 0);
  clock_.AdvanceMs(1);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ETIMEDOUT);
  EXPECT_EQ(queue_->queue_counters().timed_out, 1u);
}

TEST_F(QueueTest, ParkedIoFailsAtItsDeadlineBeforeTheNoPathTimeout) {
  QueueConfig cfg;
  cfg.io_timeout_ns = 2'000'000'000;
  cfg.no_path_timeout_ns = 30'000'000'000;
  Build(cfg);
  table_->path(0).ana = AnaState::kInaccessible;
  table_->path(1).ana = AnaState::kInaccessible;
  table_->BumpEpoch();
  transport_->on_wait = [this](int64_t ns) { clock_.Advance(ns < 0 ? 3'600'000'000'000 : ns); };
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(queue_->parked(), 1u);
  EXPECT_EQ(queue_->Poll(1, 60'000'000), 1);
  EXPECT_EQ(d.res, -ETIMEDOUT);
  EXPECT_EQ(queue_->parked(), 0u);
  EXPECT_EQ(queue_->queue_counters().timed_out, 0u) << "it never reached the kernel";
}

TEST_F(QueueTest, NoIoTimeoutMeansNoDeadline) {
  QueueConfig cfg;
  cfg.io_timeout_ns = 0;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  clock_.AdvanceMs(24 * 3600 * 1000);
  Poll();
  EXPECT_EQ(d.calls, 0);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

// ---- issue #16: how long parked I/O waits depends on whether a path may come back ----

TEST(NoPathDeadlineTest, FollowsTheBestOutlook) {
  constexpr int64_t kS = 1'000'000'000;
  const int64_t parked = 100 * kS, submit = 95 * kS, no_path = 30 * kS, io = 120 * kS;
  EXPECT_EQ(NoPathDeadlineNs(PathOutlook::kComingBack, parked, submit, no_path, io), submit + io);
  EXPECT_EQ(NoPathDeadlineNs(PathOutlook::kMayReturn, parked, submit, no_path, io), parked + no_path);
  EXPECT_EQ(NoPathDeadlineNs(PathOutlook::kLost, parked, submit, no_path, io), parked);
  // Never shorter than the no-path timeout; no I/O deadline: waits as long as it takes.
  EXPECT_EQ(NoPathDeadlineNs(PathOutlook::kComingBack, parked, submit, no_path, 10 * kS),
            parked + no_path);
  EXPECT_EQ(NoPathDeadlineNs(PathOutlook::kComingBack, parked, submit, no_path, 0),
            std::numeric_limits<int64_t>::max());
  // no_path_timeout 0 means "do not park", whatever the outlook.
  EXPECT_EQ(NoPathDeadlineNs(PathOutlook::kComingBack, parked, submit, 0, io), parked);
}

// Both paths in ANA change on live controllers (an array controller failover).
void AllPathsComingBack(PathTable* t) {
  for (int i = 0; i < t->count(); ++i) {
    t->path(i).ana = AnaState::kChange;
    t->path(i).outlook = PathOutlook::kComingBack;
  }
  t->BumpEpoch();
}

TEST_F(QueueTest, AnaChangeLongerThanNoPathTimeoutKeepsIoParked) {
  // The lab's case: every path in change for 40 s, no_path_timeout 30 s.
  AllPathsComingBack(table_.get());
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(queue_->parked(), 1u);
  clock_.AdvanceMs(40'000);
  Poll();
  EXPECT_EQ(d.calls, 0);
  EXPECT_EQ(queue_->parked(), 1u);
  table_->path(1).ana = AnaState::kOptimized;
  table_->path(1).outlook = PathOutlook::kUsable;
  table_->BumpEpoch();
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->queue_counters().parked_expired, 0u);
}

TEST_F(QueueTest, ParkedIoWaitingForAnaChangeFailsAtTheIoDeadline) {
  QueueConfig cfg;
  cfg.io_timeout_ns = 60'000'000'000;
  Build(cfg);
  AllPathsComingBack(table_.get());
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  clock_.AdvanceMs(59'999);
  Poll();
  EXPECT_EQ(d.calls, 0);
  clock_.AdvanceMs(1);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
  EXPECT_EQ(queue_->queue_counters().parked_expired, 1u);
}

TEST_F(QueueTest, AnaChangeOnAControllerThatIsNotLiveKeepsTheNoPathTimeout) {
  // The control plane publishes kMayReturn for a path in change whose controller is
  // resetting/connecting (PathDecisionTest.ControllerNotLiveFailsThePathAndMayReturn).
  QueueConfig cfg;
  cfg.no_path_timeout_ns = 3'000'000'000;
  Build(cfg);
  AllPathsComingBack(table_.get());
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  clock_.AdvanceMs(2000);
  Poll();
  EXPECT_EQ(d.calls, 0);
  for (int i = 0; i < 2; ++i) {
    table_->path(i).health = PathHealth::kFailed;
    table_->path(i).outlook = PathOutlook::kMayReturn;
  }
  table_->BumpEpoch();
  clock_.AdvanceMs(999);
  Poll();
  EXPECT_EQ(d.calls, 0);
  clock_.AdvanceMs(1);  // 3 s after it was parked
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
}

TEST_F(QueueTest, PathGoneSeenByTheQueueIsNotComingBack) {
  QueueConfig cfg;
  cfg.no_path_timeout_ns = 3'000'000'000;
  Build(cfg);
  AllPathsComingBack(table_.get());
  table_->path(0).health = PathHealth::kGone;  // a queue saw -ENODEV since the last look
  table_->path(1).health = PathHealth::kGone;
  table_->BumpEpoch();
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  clock_.AdvanceMs(3000);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
}

TEST_F(QueueTest, ParkedIoFailsAtOnceWhenNoControllerCanComeBack) {
  for (int i = 0; i < 2; ++i) {
    table_->path(i).health = PathHealth::kGone;
    table_->path(i).fd = -1;
    table_->path(i).fd_gen.fetch_add(1);
    table_->path(i).outlook = PathOutlook::kLost;
  }
  table_->BumpEpoch();
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  EXPECT_EQ(d.calls, 0);  // callbacks only run from Poll()
  Poll();                 // no time passed: not 30 s
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
}

TEST_F(QueueTest, ParkedIoFailsAtOnceWhenTheLastControllerIsLost) {
  AllPathsComingBack(table_.get());
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  clock_.AdvanceMs(1000);
  Poll();
  EXPECT_EQ(d.calls, 0);
  table_->path(0).outlook = PathOutlook::kLost;
  table_->BumpEpoch();
  Poll();
  EXPECT_EQ(d.calls, 0);  // path 1 may still come back
  table_->path(1).outlook = PathOutlook::kLost;
  table_->BumpEpoch();
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK);
}

// ---- issue #16: an error is blamed on the association that carried the command ----

TEST_F(QueueTest, ErrorFromAnOldAssociationDoesNotFailTheReopenedFd) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight()[0].fd, 100);
  // The control plane reopened path 0 (new controller, new fd) while the command was out.
  table_->path(0).fd = 200;
  table_->path(0).fd_gen.fetch_add(1);
  table_->BumpEpoch();
  transport_->Complete(0, -ENODEV);  // the old association's controller is gone
  Poll();
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kLive);  // the new fd is not blamed
  EXPECT_FALSE(table_->TakeAttention());
  EXPECT_EQ(queue_->queue_counters().old_association_errors, 1u);
  // The command itself is still handled: failed over, counted on the path.
  EXPECT_EQ(queue_->counters(0).failovers.load(), 1u);
  EXPECT_EQ(queue_->counters(0).errors_by_class[static_cast<int>(ErrorClass::kGone)].load(), 1u);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0);  // path 0 is usable: its new fd
  EXPECT_EQ(transport_->inflight()[0].fd, 200);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

TEST_F(QueueTest, OldAssociationErrorsDoNotMarkTheNewOneMarginal) {
  QueueConfig cfg;
  cfg.marginal_errors = 1;
  Build(cfg);
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  table_->path(0).fd = 200;
  table_->path(0).fd_gen.fetch_add(1);
  table_->BumpEpoch();
  transport_->Complete(0, -EINTR);  // cancelled by the old association's teardown
  Poll();
  EXPECT_FALSE(table_->path(0).marginal.load());
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kLive);
  // An error on the current association is still reported (and marks it, marginal_errors 1).
  // (A host path error: an ANA status, 0x2302 here before, never counts toward marginal.)
  ASSERT_EQ(transport_->inflight()[0].fd, 200);
  transport_->Complete(0, 0x370);
  Poll();
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kFailed);
  EXPECT_TRUE(table_->path(0).marginal.load());
  CloseQueue();
}

// ---- issue #16: facts of a reopened association reach the queues ----

TEST_F(QueueTest, TransferLimitOfAReopenedPathIsUsedForSplitting) {
  Done d;
  Io io = MakeRead(0, 16, &d);  // 8 KiB
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight().size(), 1u);
  transport_->CompleteAll(0);
  Poll();
  // Path 1 came back with a smaller MDTS.
  table_->path(1).max_transfer_bytes = 4096;
  table_->BumpEpoch();
  Done d2;
  Io io2 = MakeRead(0, 16, &d2);
  ASSERT_EQ(queue_->Submit(&io2), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 2u);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw12, 7u);
  EXPECT_EQ(transport_->inflight()[1].cmd.cdw12, 7u);
  transport_->CompleteAll(0);
  Poll();
  EXPECT_EQ(d2.calls, 1);
  EXPECT_EQ(d2.res, 0);
}

TEST_F(QueueTest, CrdtOfAReopenedAssociationIsUsed) {
  table_->path(0).crdt = {1, 10, 20};  // republished on reopen: crdt[0] 100 ms
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, 0x0806);  // CRD=1
  Poll();
  clock_.AdvanceMs(99);
  Poll();
  EXPECT_TRUE(transport_->inflight().empty());
  clock_.AdvanceMs(1);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.res, 0);
}

// Head mode (one path, the multipath head): the kernel had no usable path at submission
// (-EINVAL for a command the engine built). The command is set aside, not failed: it waits out
// the backoff, parks while the control plane says the head is unusable, and is sent to the head
// again once it is usable.
TEST_F(QueueTest, HeadModeNoUsablePathParksAndResendsToTheHead) {
  QueueConfig cfg;
  cfg.head = true;
  Build(cfg, 1);
  Done d;
  Io io = MakeRead(8, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  transport_->Complete(0, -EINVAL);
  Poll();
  EXPECT_EQ(d.calls, 0) << "no usable path at submission is not the application's error";
  EXPECT_EQ(queue_->delayed(), 1u);
  EXPECT_TRUE(transport_->inflight().empty());
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kFailed) << "reported to the control plane";
  clock_.AdvanceMs(1);  // HeadResendDelayNs(1) = 2 ms
  Poll();
  EXPECT_EQ(queue_->delayed(), 1u);
  clock_.AdvanceMs(1);
  Poll();
  EXPECT_EQ(queue_->parked(), 1u) << "the head is still set aside";
  EXPECT_TRUE(transport_->inflight().empty());
  table_->path(0).health.store(PathHealth::kLive);  // the control plane: a controller is usable
  table_->BumpEpoch();
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw10, 8u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

// Head mode: an ANA error goes back to the head after the backoff, which grows with the
// attempts; a raw command's -EINVAL is still the caller's error.
TEST_F(QueueTest, HeadModeFailoverBacksOffAndRawEinvalCompletes) {
  QueueConfig cfg;
  cfg.head = true;
  Build(cfg, 1);
  Done d;
  Io io = MakeRead(8, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    transport_->Complete(0, 0x2302);  // ANA inaccessible, More set (nvmet)
    Poll();
    ASSERT_TRUE(transport_->inflight().empty()) << attempt;
    table_->path(0).health.store(PathHealth::kLive);  // the kernel's view says usable at once
    table_->BumpEpoch();
    clock_.Advance(HeadResendDelayNs(attempt) - 1);
    Poll();
    ASSERT_TRUE(transport_->inflight().empty()) << "resent before its backoff, attempt " << attempt;
    clock_.Advance(1);
    Poll();
    ASSERT_EQ(transport_->inflight().size(), 1u) << attempt;
  }
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  Done r;
  Io raw = MakeRaw(0x99, &r);
  ASSERT_EQ(queue_->Submit(&raw), 0);
  queue_->Flush();
  transport_->Complete(0, -EINVAL);
  Poll();
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.res, -EINVAL);
}

// Path maintenance (PathTable::SetDisabled, Engine::SetPathEnabled): the path carrying the I/O
// is disabled with commands in flight on it. New I/O goes down the other path at once, the
// commands in flight complete where they are, successfully, and nothing fails over or fails.
TEST_F(QueueTest, DisablingThePathInUseDrainsItWithoutFailingAnything) {
  Done before[4], after[2];
  std::vector<Io> ios;
  ios.reserve(6);
  for (Done& d : before) {
    ios.push_back(MakeRead(ios.size() * 8, 8, &d));
    ASSERT_EQ(queue_->Submit(&ios.back()), 0);
  }
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 4u);
  for (const auto& s : transport_->inflight()) EXPECT_EQ(s.path, 0);
  EXPECT_EQ(queue_->counters(0).inflight.load(), 4u);

  ASSERT_TRUE(table_->SetDisabled(0, true));
  for (Done& d : after) {
    ios.push_back(MakeRead(ios.size() * 8, 8, &d));
    ASSERT_EQ(queue_->Submit(&ios.back()), 0);
  }
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 6u);
  EXPECT_EQ(transport_->inflight()[4].path, 1) << "new I/O leaves the disabled path";
  EXPECT_EQ(transport_->inflight()[5].path, 1);
  // The drain: what was in flight on path 0 completes there, successfully.
  for (int i = 0; i < 4; ++i) transport_->Complete(0, 0);
  Poll();
  for (const Done& d : before) {
    EXPECT_EQ(d.calls, 1);
    EXPECT_EQ(d.res, 0);
  }
  EXPECT_EQ(queue_->counters(0).inflight.load(), 0u) << "drained";
  EXPECT_EQ(queue_->counters(0).ios.load(), 4u);
  transport_->CompleteAll(0);
  Poll();
  for (const Done& d : after) {
    EXPECT_EQ(d.calls, 1);
    EXPECT_EQ(d.res, 0);
  }
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(queue_->counters(p).errors.load(), 0u);
    EXPECT_EQ(queue_->counters(p).failovers.load(), 0u);
    EXPECT_EQ(queue_->counters(p).requeues.load(), 0u);
  }
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kLive);
  EXPECT_TRUE(transport_->inflight().empty());

  // Enabled again: the optimized path takes the new I/O back.
  ASSERT_TRUE(table_->SetDisabled(0, false));
  Done back;
  Io io = MakeRead(0, 8, &back);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(back.res, 0);
}

// A command on the disabled path that is retried (a status retried on the same path) moves to
// the other path; when the disabled path is the only usable one, I/O still goes there (the last
// resort) and a retry stays on it.
TEST_F(QueueTest, DisabledPathIsLeftByRetriesAndUsedAsTheLastResort) {
  Done d;
  Io io = MakeRead(0, 1, &d);
  ASSERT_EQ(queue_->Submit(&io), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight()[0].path, 0);
  table_->SetDisabled(0, true);
  transport_->Complete(0, 0x281);  // media error, no DNR: a same-path retry
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1) << "the retry leaves the disabled path";
  EXPECT_EQ(queue_->counters(0).retries.load(), 1u);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(d.res, 0);

  // Path 1 fails: the disabled path 0 is the only usable one left.
  Done e;
  Io io2 = MakeRead(8, 1, &e);
  ASSERT_EQ(queue_->Submit(&io2), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight()[0].path, 1);
  transport_->Complete(0, 0x370);  // host path error: path 1 set aside, fail over
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0) << "the last resort: nothing fails for the drain";
  transport_->Complete(0, 0x281);
  Poll();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0) << "a retry with nowhere better to go stays";
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(e.calls, 1);
  EXPECT_EQ(e.res, 0);
  Done f;
  Io io3 = MakeRead(16, 1, &f);
  ASSERT_EQ(queue_->Submit(&io3), 0);
  queue_->Flush();
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 0);
  transport_->Complete(0, 0);
  Poll();
  EXPECT_EQ(f.res, 0);
  EXPECT_EQ(queue_->counters(0).requeues.load() + queue_->counters(1).requeues.load(), 0u)
      << "never parked: a disabled path is usable";
}

}  // namespace
}  // namespace nvme_mpath::internal
