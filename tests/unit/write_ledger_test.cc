// The write ledger (which paths a Flush must reach) and the queue's Flush fan-out over a fake
// transport and clock: every rule of docs/durability.md, "Flush across paths".
#include "write_ledger.h"

#include <cerrno>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue.h"
#include "support/fake_clock.h"
#include "support/fake_transport.h"

namespace nvme_mpath::internal {
namespace {

using nvme_mpath::testing::FakeClock;
using nvme_mpath::testing::FakeTransport;

TEST(FlushTargetsTest, PathsWithUncoveredWritesOnly) {
  const uint64_t completed[4] = {5, 0, 7, 9};
  const uint64_t flushed[4] = {5, 0, 3, 0};
  EXPECT_EQ(FlushTargets(completed, flushed, 4), 0b1100u);
  EXPECT_EQ(FlushTargets(completed, flushed, 2), 0u);  // paths past npaths are not looked at
  const uint64_t none[4] = {};
  EXPECT_EQ(FlushTargets(none, none, 4), 0u);
}

TEST(WriteLedgerTest, RowsAreExclusiveThenOneSharedOverflowRow) {
  auto ledger = std::make_unique<WriteLedger>();
  std::vector<WriteLedger::Writer> w;
  for (int i = 0; i < WriteLedger::kRows; ++i) {
    w.push_back(ledger->Acquire());
    EXPECT_FALSE(w.back().shared);
    EXPECT_EQ(w.back().index, i);
  }
  const WriteLedger::Writer over1 = ledger->Acquire(), over2 = ledger->Acquire();
  EXPECT_TRUE(over1.shared && over2.shared);
  EXPECT_EQ(over1.row, over2.row);
  WriteLedger::Count(w[3], 1);
  WriteLedger::Count(over1, 1);
  WriteLedger::Count(over2, 1);
  ledger->Release(w[3]);
  // A released row keeps its count (its writes still need a flush) and is handed out again.
  const WriteLedger::Writer again = ledger->Acquire();
  EXPECT_EQ(again.index, 3);
  WriteLedger::Count(again, 1);
  uint64_t completed[2], flushed[2];
  ledger->Read(2, completed, flushed);
  EXPECT_EQ(completed[0], 0u);
  EXPECT_EQ(completed[1], 4u);
  EXPECT_EQ(flushed[1], 0u);
}

TEST(WriteLedgerTest, FlushedOnlyGrows) {
  WriteLedger ledger;
  ledger.MarkFlushed(0, 10);
  ledger.MarkFlushed(0, 4);  // an older flush completing late covers less: no step back
  uint64_t completed[1], flushed[1];
  ledger.Read(1, completed, flushed);
  EXPECT_EQ(flushed[0], 10u);
}

// The overflow row is shared by queues on different threads: atomic adds lose nothing.
TEST(WriteLedgerTest, OverflowRowCountsFromManyThreads) {
  auto ledger = std::make_unique<WriteLedger>();
  for (int i = 0; i < WriteLedger::kRows; ++i) ledger->Acquire();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&ledger] {
      const WriteLedger::Writer w = ledger->Acquire();
      for (int i = 0; i < 10000; ++i) WriteLedger::Count(w, 0);
    });
  for (auto& t : threads) t.join();
  uint64_t completed[1], flushed[1];
  ledger->Read(1, completed, flushed);
  EXPECT_EQ(completed[0], 40000u);
}

struct Done {
  int calls = 0;
  int res = 0;
};
void OnDone(Io* io) {
  auto* d = static_cast<Done*>(io->ctx);
  d->calls++;
  d->res = io->res;
}

// Two optimized paths, round-robin: writes alternate between them.
class FlushFanoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = std::make_unique<PathTable>(2);
    for (int i = 0; i < 2; ++i) {
      table_->path(i).ana = AnaState::kOptimized;
      table_->path(i).fd = 100 + i;
    }
    table_->SetPolicy(IoPolicy::kRoundRobin, -1);
    queue_ = MakeQueue(&transport_);
  }
  void TearDown() override {
    for (auto* q : {queue_.get(), other_.get()})
      if (q != nullptr) {
      EXPECT_EQ(q->inflight(), 0u);
    }
  }
  std::unique_ptr<QueueCore> MakeQueue(FakeTransport** t, QueueConfig cfg = {}) {
    cfg.nsze = 1 << 20;
    cfg.lba_size = 512;
    auto ft = std::make_unique<FakeTransport>();
    *t = ft.get();
    return std::make_unique<QueueCore>(cfg, table_.get(), std::move(ft), &clock_, nullptr);
  }
  Io Make(IoOp op, Done* d) {
    Io io;
    io.op = op;
    io.slba = 8;
    io.nlb = 1;
    io.buf = buf_.data();
    io.done = OnDone;
    io.ctx = d;
    return io;
  }
  // Writes `n` LBAs through `q`, each completed with success where it went.
  void Write(QueueCore* q, FakeTransport* t, int n) {
    for (int i = 0; i < n; ++i) {
      Done d;
      Io io = Make(IoOp::kWrite, &d);
      ASSERT_EQ(q->Submit(&io), 0);
      q->Flush();
      t->Complete(0, 0);
      q->Poll(0, 0);
      ASSERT_EQ(d.calls, 1);
      ASSERT_EQ(d.res, 0);
    }
  }
  // The paths of the flush commands now in flight on `t`, in order.
  static std::vector<int> FlushPaths(FakeTransport* t) {
    std::vector<int> paths;
    for (const auto& s : t->inflight()) {
      EXPECT_EQ(s.cmd.opcode, 0x00);
      paths.push_back(s.path);
    }
    return paths;
  }

  FakeClock clock_;
  std::unique_ptr<PathTable> table_;
  FakeTransport* transport_ = nullptr;
  FakeTransport* other_transport_ = nullptr;
  std::unique_ptr<QueueCore> queue_, other_;
  alignas(4096) std::vector<uint8_t> buf_ = std::vector<uint8_t>(4096);
};

TEST_F(FlushFanoutTest, WithNoWritesOneFlushGoesDownOnePath) {
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_).size(), 1u);
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

TEST_F(FlushFanoutTest, ReachesEveryPathThatCompletedWritesAndCompletesAfterAll) {
  Write(queue_.get(), transport_, 2);  // one on each path
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{0, 1}));
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 0) << "a flush is done only when every path's flush is";
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  // Now nothing is uncovered: the next flush is one command again.
  Io f2 = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f2), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_).size(), 1u);
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
}

TEST_F(FlushFanoutTest, OnlyThePathsWithUncoveredWrites) {
  table_->SetPolicy(IoPolicy::kActivePassive, 1);  // every write down path 1
  Write(queue_.get(), transport_, 3);
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1}));
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
}

// Writes another queue (another thread's) completed are covered as well: a flush is for the
// namespace, not for one queue.
TEST_F(FlushFanoutTest, CoversWritesOfOtherQueuesEvenClosedOnes) {
  other_ = MakeQueue(&other_transport_);
  table_->SetPolicy(IoPolicy::kActivePassive, 1);
  Write(other_.get(), other_transport_, 1);
  other_.reset();  // its row keeps the count
  table_->SetPolicy(IoPolicy::kActivePassive, 0);
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1}));
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
}

// Reads, compares and flushes are not writes: nothing to cover after them.
TEST_F(FlushFanoutTest, ReadsAndComparesNeedNoFlush) {
  for (IoOp op : {IoOp::kRead, IoOp::kCompare, IoOp::kRead}) {
    Done d;
    Io io = Make(op, &d);
    ASSERT_EQ(queue_->Submit(&io), 0);
    queue_->Flush();
    transport_->Complete(0, 0);
    queue_->Poll(0, 0);
  }
  uint64_t completed[2], flushed[2];
  table_->write_ledger().Read(2, completed, flushed);
  EXPECT_EQ(completed[0] + completed[1], 0u);
  Done dz;  // write zeroes and deallocate are writes
  Io wz = Make(IoOp::kWriteZeroes, &dz);
  ASSERT_EQ(queue_->Submit(&wz), 0);
  queue_->Flush();
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  table_->write_ledger().Read(2, completed, flushed);
  EXPECT_EQ(completed[0] + completed[1], 1u);
}

// A path that completed writes is not usable when the flush comes: its flush goes down the
// other path (where the data now lives), is counted, and still marks that path's writes covered.
TEST_F(FlushFanoutTest, UnusablePathsFlushGoesElsewhereAndIsCounted) {
  Write(queue_.get(), transport_, 2);
  table_->path(0).ana = AnaState::kInaccessible;
  table_->BumpEpoch();
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1, 1}));
  transport_->CompleteAll(0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->queue_counters().flush_redirected, 1u);
  uint64_t completed[2], flushed[2];
  table_->write_ledger().Read(2, completed, flushed);
  EXPECT_EQ(flushed[0], completed[0]);
  EXPECT_EQ(flushed[1], completed[1]);
}

// A path the operator disabled (path maintenance) gets no new writes, but the writes it
// completed still need a flush down its own controller: the Flush reaches it (pinned, not
// redirected), also when that flush is retried on the same path; afterwards, with the new
// writes all on the other path, a Flush goes there only.
TEST_F(FlushFanoutTest, ADisabledPathWithUnflushedWritesStillGetsItsFlush) {
  Write(queue_.get(), transport_, 2);  // one on each path (round-robin)
  ASSERT_TRUE(table_->SetDisabled(0, true));
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{0, 1}));
  transport_->Complete(0, 0x281);  // path 0's flush: a status retried on the same path
  queue_->Poll(0, 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1, 0})) << "the retry stays on path 0";
  transport_->CompleteAll(0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
  EXPECT_EQ(queue_->queue_counters().flush_redirected, 0u);
  uint64_t completed[2], flushed[2];
  table_->write_ledger().Read(2, completed, flushed);
  EXPECT_EQ(completed[0], 1u);
  EXPECT_EQ(flushed[0], 1u);
  EXPECT_EQ(flushed[1], completed[1]);

  Write(queue_.get(), transport_, 3);  // all on path 1 now
  table_->write_ledger().Read(2, completed, flushed);
  EXPECT_EQ(completed[0], 1u);
  Done d2;
  Io f2 = Make(IoOp::kFlush, &d2);
  ASSERT_EQ(queue_->Submit(&f2), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1}));
  transport_->CompleteAll(0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d2.res, 0);
  // And a Flush with nothing to cover goes down an enabled path, as any new I/O.
  Done d3;
  Io f3 = Make(IoOp::kFlush, &d3);
  ASSERT_EQ(queue_->Submit(&f3), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1}));
  transport_->CompleteAll(0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d3.res, 0);
}

// A flush that fails with a path error fails over like any command; it never succeeds silently:
// with no usable path it parks, and fails with -ENOLINK after the no-path timeout.
TEST_F(FlushFanoutTest, PathErrorFailsOverAndNoPathFailsTheFlush) {
  QueueConfig cfg;
  cfg.no_path_timeout_ns = 1'000'000'000;
  queue_.reset();
  queue_ = MakeQueue(&transport_, cfg);
  Write(queue_.get(), transport_, 2);
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  ASSERT_EQ(FlushPaths(transport_), (std::vector<int>{0, 1}));
  transport_->Complete(0, 0x370);  // host path error on path 0: resent on path 1
  queue_->Poll(0, 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1, 1}));
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 0);
  // Path 1 goes too before its own flush answers: that flush fails, finds no usable path, parks.
  table_->path(1).ana = AnaState::kInaccessible;
  table_->BumpEpoch();
  transport_->Complete(0, 0x2302);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 0);
  EXPECT_EQ(queue_->parked(), 1u);
  clock_.Advance(2'000'000'000);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, -ENOLINK) << "a flush that reached no device must not succeed";
}

// A queue with fewer free slots than targets sends the flush to the paths one after another.
TEST_F(FlushFanoutTest, FewerSlotsThanPathsChainsTheFlushes) {
  QueueConfig cfg;
  cfg.depth = 1;
  queue_.reset();
  queue_ = MakeQueue(&transport_, cfg);
  Write(queue_.get(), transport_, 2);
  Done d;
  Io f = Make(IoOp::kFlush, &d);
  ASSERT_EQ(queue_->Submit(&f), 0);
  queue_->Flush();
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{0}));
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 0);
  EXPECT_EQ(FlushPaths(transport_), (std::vector<int>{1}));
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 1);
  EXPECT_EQ(d.res, 0);
}

// FUA sets CDW12 bit 30 of the command, and the LBA count stays the engine's.
TEST_F(FlushFanoutTest, FuaSetsCdw12Bit30) {
  Done d;
  Io w = Make(IoOp::kWrite, &d);
  w.nlb = 4;
  w.cdw12_flags = kCdw12Fua | 0xffff;  // the low half is the engine's: ignored
  ASSERT_EQ(queue_->Submit(&w), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw12, (1u << 30) | 3u);
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  Io r = Make(IoOp::kRead, &d);
  ASSERT_EQ(queue_->Submit(&r), 0);
  queue_->Flush();
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw12, 0u);
  transport_->Complete(0, 0);
  queue_->Poll(0, 0);
  EXPECT_EQ(d.calls, 2);
}

}  // namespace
}  // namespace nvme_mpath::internal
