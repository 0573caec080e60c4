// File: nvmet_tcp_proxy.cc
//
// The lab's NVMe/TCP fault proxy: sits between the guest's NVMe/TCP host and nvmet on one port,
// forwards every PDU, and by a rule given at run time rewrites, delays or swallows the completion
// of matching commands. It is how the lab makes a real kernel hand the engine any NVMe status
// (0x006, 0x008, 0x022, CRD, DNR, ...) that nvmet itself never returns.
//
//   nvmet_tcp_proxy --listen PORT --target PORT --control PORT
//
// The host connects to 127.0.0.1:--listen; each connection (one per NVMe queue) is paired with a
// connection to nvmet on 127.0.0.1:--target. The control port takes one-line commands (bash can
// send them through /dev/tcp, see lab.sh: lab_inject, lab_delay, lab_proxy):
//
//   rule [status=S] [count=N] [every=K] [opcode=O] [queue=io|admin|any] [delay_ms=D] [drop]
//        replaces the rule. A completion matches when its queue and opcode match (default: I/O
//        queues, any opcode; Fabrics commands never match); every K-th match is acted on
//        (default 1), for the next N actions (default 1; 0 = until cleared). The action rewrites
//        the status to S — the value the host reports in cqe->res: SC | SCT<<8 | CRD<<11 |
//        More<<13 | DNR<<14 — and/or holds the completion D ms, or swallows it (`drop`: the
//        command never completes, the host's timeout handling takes over).
//   clear                drops the rule
//   delay MS [down|up]   holds every PDU from the target (down, the default) or from the host
//                        (up: commands reach the target late, even after the host gave up on
//                        them) MS ms; 0 ends it
//   stats                "ok seen=.. injected=.. dropped=.. delayed=.. conns=.. digest=..
//                        held_up=.. orphans=..": seen counts completions that matched the
//                        rule's filter, held_up PDUs the up delay held, orphans PDUs from the
//                        target that found the host gone (answers to commands executed after
//                        the host gave up on them)
//   reply to each command: "ok ..." or "error <why>"
//
// A read's data may carry its completion (C2HData with the SUCCESS flag): to rewrite or swallow
// it, the proxy clears the flag and sends (or withholds) a CapsuleResp of its own. PDUs are
// rewritten only with digests off (the lab's default); with digests on they are forwarded as they
// are and counted in `digest`.
//
// Threading model: per connection pair, one thread reads host->target PDUs (noting each
// command's opcode by command id and the queue id of the Fabrics Connect) and queues them by due
// time, one reads target->host PDUs, applies the rule and queues them, and one writer per
// direction writes them out when due (Pipe, its queue under its mutex). The opcode
// table is written by the first thread before the command is forwarded and read by the second
// after its completion arrived, so the target's round trip orders them (relaxed atomics suffice
// for a test tool; a stale read only mis-filters one completion). The rule and the counters are
// shared by all connections: the rule under a mutex, the counters atomic. Ordering of PDUs on a
// connection is kept (due times never go backwards) except for a completion the rule delays: it
// is the last PDU of its command, so later PDUs may overtake it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// NVMe/TCP PDU types and flags (NVMe/TCP Transport Specification, "PDU Header Format").
constexpr uint8_t kPduIcReq = 0x00;
constexpr uint8_t kPduCapsuleCmd = 0x04;
constexpr uint8_t kPduCapsuleResp = 0x05;
constexpr uint8_t kPduC2HData = 0x07;
constexpr uint8_t kFlagHdgst = 0x01;
constexpr uint8_t kFlagDdgst = 0x02;
constexpr uint8_t kFlagDataLast = 0x04;
constexpr uint8_t kFlagDataSuccess = 0x08;
constexpr size_t kCommonHeader = 8;
constexpr size_t kCapsuleRespLen = kCommonHeader + 16;  // + the 16-byte CQE
constexpr uint32_t kMaxPdu = 16u << 20;
constexpr uint8_t kOpcFabrics = 0x7f;
constexpr uint8_t kFctypeConnect = 0x01;

enum class QueueSel { kIo, kAdmin, kAny };

struct Rule {
  bool active = false;
  int status = -1;        // -1: leave the status alone
  uint64_t count = 1;     // actions left; 0 = unlimited
  uint64_t every = 1;
  int opcode = -1;        // -1: any
  QueueSel queue = QueueSel::kIo;
  uint32_t delay_ms = 0;
  bool drop = false;
  uint64_t matches = 0;   // filter matches since the rule was set
};

std::mutex g_rule_mu;
Rule g_rule;  // guarded by g_rule_mu
std::atomic<uint32_t> g_delay_ms{0};
std::atomic<uint64_t> g_seen{0}, g_injected{0}, g_dropped{0}, g_delayed{0}, g_conns{0},
    g_digest{0};
// PDUs the up pipe held (delay up), and PDUs from the target that found the host gone: answers
// to commands the target executed after the host had given up on them.
std::atomic<uint64_t> g_held_up{0}, g_orphans{0};
int g_target_port = 0;

uint16_t Le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t Le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
void Put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
void Put32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i)); }

bool ReadFull(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r > 0) { p += r; n -= size_t(r); continue; }
    if (r < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}
bool WriteFull(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r > 0) { p += r; n -= size_t(r); continue; }
    if (r < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}
// Reads one PDU (common header, then the rest up to PLEN). False at EOF or on a bad header.
bool ReadPdu(int fd, std::vector<uint8_t>* pdu) {
  pdu->resize(kCommonHeader);
  if (!ReadFull(fd, pdu->data(), kCommonHeader)) return false;
  const uint32_t plen = Le32(pdu->data() + 4);
  if (plen < kCommonHeader || plen > kMaxPdu) {
    fprintf(stderr, "nvmet_tcp_proxy: bad PDU length %u (type %#x)\n", plen, (*pdu)[0]);
    return false;
  }
  pdu->resize(plen);
  return ReadFull(fd, pdu->data() + kCommonHeader, plen - kCommonHeader);
}

// PDUs waiting for their due time, and the thread that writes them to one socket. A pipe whose
// source closed still delivers what it holds (a command already "on the wire" reaches the
// target even though the host gave up on it: what a late write on a real network does), then
// the connection is closed.
struct Pipe {
  struct Out {
    Clock::time_point due;
    uint64_t seq;
    std::vector<uint8_t> bytes;
    bool operator<(const Out& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  const std::atomic<uint32_t>* delay_ms = nullptr;
  std::atomic<uint64_t>* held = nullptr;     // counts PDUs given a delay (may be null)
  std::atomic<uint64_t>* orphans = nullptr;  // counts PDUs dropped at a failed destination
  std::mutex mu;
  std::condition_variable cv;
  std::priority_queue<Out> out;  // guarded by mu
  uint64_t seq = 0;              // guarded by mu
  Clock::time_point last_due{};  // guarded by mu: in-order PDUs never go earlier than this
  bool source_done = false;      // guarded by mu: no more PDUs will come
  bool dest_failed = false;      // guarded by mu

  // Queues PDU bytes; `extra` (a rule's delay) lets later PDUs overtake this one.
  void Send(std::vector<uint8_t> bytes, std::chrono::milliseconds extra) {
    const uint32_t d = delay_ms->load(std::memory_order_relaxed);
    auto due = Clock::now() + std::chrono::milliseconds(d);
    if (d != 0 && held != nullptr) held->fetch_add(1);
    std::lock_guard<std::mutex> l(mu);
    if (dest_failed) {
      if (orphans != nullptr) orphans->fetch_add(1);
      return;
    }
    if (extra.count() == 0) {
      if (due < last_due) due = last_due;
      last_due = due;
    } else {
      due += extra;
    }
    out.push(Out{due, seq++, std::move(bytes)});
    cv.notify_one();
  }
  void SourceDone() {
    std::lock_guard<std::mutex> l(mu);
    source_done = true;
    cv.notify_one();
  }
  // Writes queued PDUs to `fd` when due, until the source is done and the queue empty, or `fd`
  // fails. Returns when there is nothing more to do.
  void Run(int fd) {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      if (out.empty()) {
        if (source_done || dest_failed) return;
        cv.wait(l);
        continue;
      }
      const auto due = out.top().due;
      if (Clock::now() < due) { cv.wait_until(l, due); continue; }
      std::vector<uint8_t> bytes = std::move(const_cast<Out&>(out.top()).bytes);
      out.pop();
      l.unlock();
      const bool ok = WriteFull(fd, bytes.data(), bytes.size());
      l.lock();
      if (!ok) {
        dest_failed = true;
        if (orphans != nullptr) orphans->fetch_add(1 + out.size());
        while (!out.empty()) out.pop();
        return;
      }
    }
  }
};

std::atomic<uint32_t> g_up_delay_ms{0};

// One host connection (one NVMe queue) and its target connection.
struct Conn {
  int host = -1, target = -1;
  std::atomic<int> qid{-1};             // from the Fabrics Connect; -1 until seen
  std::atomic<bool> digests{false};     // header or data digest negotiated: never rewrite
  std::unique_ptr<std::atomic<uint8_t>[]> opcode{new std::atomic<uint8_t>[65536]};
  Pipe up;    // host -> target
  Pipe down;  // target -> host
  std::atomic<int> writers_left{2};

  Conn() {
    up.delay_ms = &g_up_delay_ms;
    up.held = &g_held_up;
    down.delay_ms = &g_delay_ms;
    down.orphans = &g_orphans;
  }
  ~Conn() {
    close(host);
    close(target);
  }
  // Called by each writer when it is done: the last one shuts both sockets, which ends the
  // readers.
  void WriterDone() {
    if (writers_left.fetch_sub(1) == 1) {
      shutdown(host, SHUT_RDWR);
      shutdown(target, SHUT_RDWR);
    }
  }
};

// Decides what to do with one completion of `opc` on queue `qid`. Returns false when the
// completion is to be left alone.
struct Action {
  int status = -1;
  uint32_t delay_ms = 0;
  bool drop = false;
};
bool Decide(int qid, uint8_t opc, Action* a) {
  if (opc == kOpcFabrics) return false;
  std::lock_guard<std::mutex> l(g_rule_mu);
  Rule& r = g_rule;
  if (!r.active) return false;
  if (r.queue == QueueSel::kIo && qid <= 0) return false;
  if (r.queue == QueueSel::kAdmin && qid != 0) return false;
  if (r.opcode >= 0 && r.opcode != opc) return false;
  g_seen.fetch_add(1);
  if (++r.matches % r.every != 0) return false;
  if (r.count != 0 && --r.count == 0) r.active = false;
  a->status = r.status;
  a->delay_ms = r.delay_ms;
  a->drop = r.drop;
  return true;
}

std::vector<uint8_t> MakeCapsuleResp(uint16_t cid, uint16_t sqid, int status) {
  std::vector<uint8_t> p(kCapsuleRespLen, 0);
  p[0] = kPduCapsuleResp;
  p[2] = uint8_t(kCapsuleRespLen);  // hlen
  Put32(p.data() + 4, uint32_t(kCapsuleRespLen));
  uint8_t* cqe = p.data() + kCommonHeader;
  Put16(cqe + 10, sqid);
  Put16(cqe + 12, cid);
  Put16(cqe + 14, uint16_t(status << 1));
  return p;
}

void HostToTarget(std::shared_ptr<Conn> c) {
  std::vector<uint8_t> pdu;
  while (ReadPdu(c->host, &pdu)) {
    const uint8_t type = pdu[0];
    if (type == kPduIcReq && pdu.size() >= 12 && (pdu[11] & 0x3) != 0) {
      c->digests = true;
      g_digest.fetch_add(1);
    }
    if (pdu[1] & (kFlagHdgst | kFlagDdgst)) c->digests = true;
    if (type == kPduCapsuleCmd && pdu.size() >= kCommonHeader + 64) {
      const uint8_t* sqe = pdu.data() + kCommonHeader;
      c->opcode[Le16(sqe + 2)].store(sqe[0], std::memory_order_relaxed);
      if (sqe[0] == kOpcFabrics && sqe[4] == kFctypeConnect) c->qid = Le16(sqe + 42);
    }
    c->up.Send(std::move(pdu), std::chrono::milliseconds(0));
  }
  // The host is gone (or sent garbage): what it sent still reaches the target; the target's
  // answers have nowhere to go.
  c->up.SourceDone();
  shutdown(c->host, SHUT_RD);
}

void TargetToHost(std::shared_ptr<Conn> c) {
  std::vector<uint8_t> pdu;
  while (ReadPdu(c->target, &pdu)) {
    const uint8_t type = pdu[0];
    Action a;
    const bool rewritable = !c->digests && !(pdu[1] & (kFlagHdgst | kFlagDdgst));
    if (type == kPduCapsuleResp && pdu.size() >= kCapsuleRespLen && rewritable) {
      uint8_t* cqe = pdu.data() + kCommonHeader;
      const uint16_t cid = Le16(cqe + 12);
      if (Decide(c->qid, c->opcode[cid].load(std::memory_order_relaxed), &a)) {
        if (a.drop) { g_dropped.fetch_add(1); continue; }
        if (a.status >= 0) {
          Put16(cqe + 14, uint16_t((a.status << 1) | (Le16(cqe + 14) & 1)));
          g_injected.fetch_add(1);
        }
        if (a.delay_ms) g_delayed.fetch_add(1);
        c->down.Send(std::move(pdu), std::chrono::milliseconds(a.delay_ms));
        continue;
      }
    } else if (type == kPduC2HData && pdu.size() >= 24 && rewritable &&
               (pdu[1] & (kFlagDataLast | kFlagDataSuccess)) == (kFlagDataLast | kFlagDataSuccess)) {
      // The data carries the completion (SUCCESS): take it apart into data + our own response.
      const uint16_t cid = Le16(pdu.data() + 8);
      if (Decide(c->qid, c->opcode[cid].load(std::memory_order_relaxed), &a)) {
        pdu[1] &= uint8_t(~kFlagDataSuccess);
        c->down.Send(std::move(pdu), std::chrono::milliseconds(0));
        if (a.drop) { g_dropped.fetch_add(1); continue; }
        if (a.status >= 0) g_injected.fetch_add(1);
        if (a.delay_ms) g_delayed.fetch_add(1);
        const int qid = c->qid;
        c->down.Send(MakeCapsuleResp(cid, uint16_t(qid < 0 ? 0 : qid), a.status < 0 ? 0 : a.status),
                std::chrono::milliseconds(a.delay_ms));
        continue;
      }
    }
    c->down.Send(std::move(pdu), std::chrono::milliseconds(0));
  }
  c->down.SourceDone();
}

void UpWriter(std::shared_ptr<Conn> c) {
  c->up.Run(c->target);
  // Everything the host sent is delivered: the target may close now, and the host side has
  // nothing more to receive once the down pipe is done.
  c->WriterDone();
}
void DownWriter(std::shared_ptr<Conn> c) {
  c->down.Run(c->host);
  // The target closed: the host must see it (it starts its recovery), even while delayed
  // commands of this connection still drain towards the target.
  shutdown(c->host, SHUT_RDWR);
  c->WriterDone();
}

int Listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 64) != 0) {
    fprintf(stderr, "nvmet_tcp_proxy: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    exit(1);
  }
  return fd;
}

int ConnectTarget() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(g_target_port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

void AcceptLoop(int lfd) {
  for (;;) {
    int h = accept(lfd, nullptr, nullptr);
    if (h < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fprintf(stderr, "nvmet_tcp_proxy: accept: %s\n", strerror(errno));
      exit(1);
    }
    // The target refusing (port unlinked) is passed on as a closed connection: the host sees
    // the same failed connect it would see without the proxy.
    int t = ConnectTarget();
    if (t < 0) { close(h); continue; }
    int one = 1;
    setsockopt(h, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_shared<Conn>();
    c->host = h;
    c->target = t;
    g_conns.fetch_add(1);
    std::thread(HostToTarget, c).detach();
    std::thread(TargetToHost, c).detach();
    std::thread(UpWriter, c).detach();
    std::thread(DownWriter, c).detach();
  }
}

// Parses a number in C syntax (0x.. hex), the whole string. False on junk.
bool ParseNum(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), &end, 0);
  if (errno != 0 || *end != '\0' || v > max || s[0] == '-') return false;
  *out = v;
  return true;
}

std::string Command(const std::string& line) {
  std::vector<std::string> w;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) w.push_back(line.substr(i, j - i));
    i = j;
  }
  if (w.empty()) return "error empty command";
  if (w[0] == "stats") {
    char b[320];
    snprintf(b, sizeof(b),
             "ok seen=%llu injected=%llu dropped=%llu delayed=%llu conns=%llu digest=%llu "
             "held_up=%llu orphans=%llu",
             (unsigned long long)g_seen, (unsigned long long)g_injected,
             (unsigned long long)g_dropped, (unsigned long long)g_delayed,
             (unsigned long long)g_conns, (unsigned long long)g_digest,
             (unsigned long long)g_held_up, (unsigned long long)g_orphans);
    return b;
  }
  if (w[0] == "clear" && w.size() == 1) {
    std::lock_guard<std::mutex> l(g_rule_mu);
    g_rule = Rule{};
    return "ok cleared";
  }
  if (w[0] == "delay" && (w.size() == 2 || w.size() == 3)) {
    uint64_t ms;
    if (!ParseNum(w[1], 600000, &ms)) return "error delay: want MS 0..600000, not '" + w[1] + "'";
    const std::string dir = w.size() == 3 ? w[2] : "down";
    if (dir == "down") g_delay_ms = uint32_t(ms);
    else if (dir == "up") g_up_delay_ms = uint32_t(ms);
    else return "error delay: direction is down (target->host) or up (host->target), not '" + dir + "'";
    return "ok delay " + std::to_string(ms) + " " + dir;
  }
  if (w[0] == "rule") {
    Rule r;
    r.active = true;
    for (size_t k = 1; k < w.size(); ++k) {
      const std::string& a = w[k];
      if (a == "drop") { r.drop = true; continue; }
      const size_t eq = a.find('=');
      if (eq == std::string::npos) return "error rule: unknown word '" + a + "'";
      const std::string key = a.substr(0, eq), val = a.substr(eq + 1);
      uint64_t v;
      if (key == "status") {
        if (!ParseNum(val, 0x7fff, &v)) return "error rule: status wants 0..0x7fff, not '" + val + "'";
        r.status = int(v);
      } else if (key == "count") {
        if (!ParseNum(val, 1u << 30, &v)) return "error rule: bad count '" + val + "'";
        r.count = v;
      } else if (key == "every") {
        if (!ParseNum(val, 1u << 30, &v) || v == 0) return "error rule: every wants >= 1, not '" + val + "'";
        r.every = v;
      } else if (key == "opcode") {
        if (!ParseNum(val, 0xff, &v)) return "error rule: opcode wants 0..0xff, not '" + val + "'";
        r.opcode = int(v);
      } else if (key == "delay_ms") {
        if (!ParseNum(val, 600000, &v)) return "error rule: delay_ms wants 0..600000, not '" + val + "'";
        r.delay_ms = uint32_t(v);
      } else if (key == "queue") {
        if (val == "io") r.queue = QueueSel::kIo;
        else if (val == "admin") r.queue = QueueSel::kAdmin;
        else if (val == "any") r.queue = QueueSel::kAny;
        else return "error rule: queue wants io|admin|any, not '" + val + "'";
      } else {
        return "error rule: unknown key '" + key + "'";
      }
    }
    if (r.status < 0 && r.delay_ms == 0 && !r.drop) return "error rule: give status=, delay_ms= or drop";
    std::lock_guard<std::mutex> l(g_rule_mu);
    g_rule = r;
    return "ok rule";
  }
  return "error unknown command '" + w[0] + "' (rule, clear, delay, stats)";
}

void ControlLoop(int lfd) {
  for (;;) {
    int fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) continue;
    std::string buf;
    char b[512];
    ssize_t r;
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 5000) > 0 && (r = read(fd, b, sizeof(b))) > 0) {
      buf.append(b, size_t(r));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string reply = Command(buf.substr(0, nl)) + "\n";
        buf.erase(0, nl + 1);
        fprintf(stderr, "nvmet_tcp_proxy[%d]: %s", g_target_port, reply.c_str());
        WriteFull(fd, reinterpret_cast<const uint8_t*>(reply.data()), reply.size());
      }
      if (buf.size() > 4096) break;
    }
    close(fd);
  }
}

int Usage() {
  fprintf(stderr, "usage: nvmet_tcp_proxy --listen PORT --target PORT --control PORT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int listen_port = 0, control_port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    uint64_t v;
    if (!ParseNum(argv[i + 1], 65535, &v) || v == 0) return Usage();
    if (k == "--listen") listen_port = int(v);
    else if (k == "--target") g_target_port = int(v);
    else if (k == "--control") control_port = int(v);
    else return Usage();
  }
  if (argc != 7 || listen_port == 0 || g_target_port == 0 || control_port == 0) return Usage();
  const int lfd = Listen(listen_port), cfd = Listen(control_port);
  std::thread(ControlLoop, cfd).detach();
  fprintf(stderr, "nvmet_tcp_proxy: 127.0.0.1:%d -> 127.0.0.1:%d, control on %d\n", listen_port,
          g_target_port, control_port);
  AcceptLoop(lfd);
}
