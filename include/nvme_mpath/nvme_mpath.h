/* File: nvme_mpath/nvme_mpath.h
 *
 * The stable C API of nvme-mpath, a userspace NVMe multipath I/O engine. It wraps the C++ API
 * (nvme_mpath/engine.h) for C, Rust, Go and other FFI users, and for the fio engine.
 *
 *   engine = one multipath namespace (every path to it), opened by any /dev/ngXnY of it, by an
 *            explicit list of paths, or by subsystem NQN + NSID
 *   queue  = per-thread I/O context with its own io_uring; not thread-safe, one per thread
 *   io     = caller-owned request; must stay valid and untouched from submit until its callback
 *
 * Errors: functions return 0 or a negative errno. An I/O that failed with an NVMe status
 * completes with res = -EIO and `status` = the NVMe status (SCT<<8 | SC, plus CRD/More/DNR bits
 * as in the completion queue entry). No C++ exception ever crosses this API.
 *
 * Threading: nvme_mpath_open/close, nvme_mpath_queue_create/destroy, the stats and policy calls
 * may be called from any thread. Every call taking a queue must come from the thread using that
 * queue; callbacks run inside nvme_mpath_poll() on that thread. Destroy all queues before
 * closing their engine. A queue may move to another thread when it has no I/O in flight; moved
 * with I/O in flight (and defer_taskrun on, the default), it answers -EEXIST on the new thread
 * (see engine.h, "Threading model"). Log lines may come from any library thread: see
 * nvme_mpath_set_log_fn().
 *
 * Versions: NVME_MPATH_VERSION_MAJOR.MINOR.PATCH is the release this header belongs to; the
 * library's SONAME is libnvme_mpath.so.MAJOR; NVME_MPATH_API_VERSION counts the releases that
 * added to the C API, and the symbols each added carry the version node NVME_MPATH_<that count>.
 * Option structs start with a `size` (set by their _init function): a program built against an
 * older header keeps working with a newer library, the fields it does not know taking their
 * defaults. docs/c-api.md is the reference of every function, with its return codes.
 */
#ifndef NVME_MPATH_C_H_
#define NVME_MPATH_C_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NVME_MPATH_API __attribute__((visibility("default")))
#else
#define NVME_MPATH_API
#endif

/* The release this header belongs to (the CMake project version is read from these lines). */
#define NVME_MPATH_VERSION_MAJOR 0
#define NVME_MPATH_VERSION_MINOR 4
#define NVME_MPATH_VERSION_PATCH 0
/* The C API level: 1 = release 0.1, 2 = release 0.2 (the log callback, the option fields below
 * marked "API 2", nvme_mpath_queue_create_err, nvme_mpath_version_check), 3 = release 0.3
 * (NVME_MPATH_POLICY_LATENCY; protection and placement fields of read/write: nvme_mpath_io
 * cdw12/cdw14/cdw15; path maintenance: nvme_mpath_set_path_enabled,
 * nvme_mpath_path_stats.disabled; nvme_mpath_queue_options.sqpoll_cpu, iopoll, iopoll_force),
 * 4 = release 0.4 (nvme_mpath_submit_batch). The symbols a level added are in version node
 * NVME_MPATH_<level> of libnvme_mpath.so (docs/c-api.md, "Versions"). */
#define NVME_MPATH_API_VERSION 4

typedef struct nvme_mpath_engine nvme_mpath_engine;
typedef struct nvme_mpath_queue nvme_mpath_queue;

enum nvme_mpath_policy {
  NVME_MPATH_POLICY_NUMA = 0,
  NVME_MPATH_POLICY_ROUND_ROBIN = 1,
  NVME_MPATH_POLICY_QUEUE_DEPTH = 2,
  NVME_MPATH_POLICY_ACTIVE_PASSIVE = 3,
  NVME_MPATH_POLICY_LATENCY = 4, /* API 3: lowest latency EWMA, ties to fewer in flight */
};

struct nvme_mpath_options {
  uint32_t size;                   /* sizeof(struct nvme_mpath_options), set by _init */
  const char* const* paths;        /* /dev/ngXnY; one = discover the others; NULL = use NQN */
  uint32_t npaths;
  const char* subsysnqn;           /* with nsid, instead of paths */
  uint32_t nsid;
  int explicit_paths_only;         /* 1: only `paths`, no discovery */
  int policy;                      /* enum nvme_mpath_policy */
  uint32_t rr_min_io;
  const char* preferred_path;      /* active-passive; NULL = first */
  uint32_t ana_poll_interval_ms;   /* default 1000 */
  uint32_t no_path_timeout_ms;     /* default 30000; 0 = fail at once when no path */
  uint32_t cmd_timeout_ms;         /* per command (nvme_uring_cmd.timeout_ms); 0 = kernel's */
  uint32_t io_timeout_ms;          /* deadline per I/O across retries, even in the kernel
                                      (then -ETIMEDOUT, see engine.h); 0 = none; default 120000 */
  uint32_t max_retries;            /* same-path retries; default 5 */
  int32_t write_hold_ms;           /* -1 (default) = (TBKAS ? 3 : 2) x KATO + CQT */
  uint32_t failback_delay_ms;      /* default 0 */
  int publish_stats;               /* default 1: visible to nvme-mpath-ctl stats */
  const char* name;                /* shown by nvme-mpath-ctl; NULL = program name */
  /* API 2. A caller built against API 1 passes the API 1 size: these keep their defaults. */
  int write_hold_release_on_reset; /* 1: end a path's write hold once its controller was reset
                                      (default 0: hold for write_hold_ms) */
  uint32_t marginal_errors;        /* path error incidents within marginal_window_ms that mark a
                                      path marginal (used last); default 3; 0 = never */
  uint32_t marginal_window_ms;     /* default 10000 */
  uint32_t reserved0;              /* 0; ends the struct on its alignment, so that the next
                                      field added starts at this layout's size */
};

/* Fills `o` with the defaults. */
NVME_MPATH_API void nvme_mpath_options_init(struct nvme_mpath_options* o);

/* Opens a namespace. On failure returns -errno and, when errbuf is not NULL, a one-line
 * message (for example "open /dev/ng1n1: Permission denied ..."). */
NVME_MPATH_API int nvme_mpath_open(const struct nvme_mpath_options* o, nvme_mpath_engine** out,
                                   char* errbuf, size_t errlen);
NVME_MPATH_API void nvme_mpath_close(nvme_mpath_engine* e);

struct nvme_mpath_ns_info {
  uint64_t nsze;                /* logical blocks */
  uint32_t lba_size;            /* bytes */
  uint32_t metadata_size;       /* separate metadata bytes per LBA (0 if none / extended: an
                                   extended-LBA namespace's buffers hold lba_size + its metadata
                                   bytes per LBA, which nvme_mpath_ns_format reports) */
  uint32_t nsid;
  uint32_t max_transfer_bytes;  /* larger I/O is split; 0 = no limit known */
  uint32_t npaths;
  char subsysnqn[256];
  char nguid[33];
  char uuid[37];
};
NVME_MPATH_API int nvme_mpath_ns_info(const nvme_mpath_engine* e, struct nvme_mpath_ns_info* out);
/* API 3. The namespace's LBA format beyond nvme_mpath_ns_info (Identify Namespace FLBAS, the
 * LBA format's MS, DPS), the same on every path (checked at open: a path that differs is
 * refused). Later levels fill `reserved` (0 until then), so the struct keeps its size. */
struct nvme_mpath_ns_format {
  uint32_t lba_data_size;  /* data bytes per LBA (ns_info's lba_size) */
  uint32_t metadata_size;  /* metadata bytes per LBA, separate or extended; 0: none */
  uint8_t extended;        /* 1: the metadata follows each LBA's data in the data buffer
                              (which holds nlb * (lba_data_size + metadata_size) bytes); 0: in
                              nvme_mpath_io.md (nlb * metadata_size bytes) */
  uint8_t pi_type;         /* end-to-end protection: 0 none, 1-3 the PI type */
  uint8_t pi_first;        /* 1: the PI is the first bytes of each LBA's metadata, 0: the last */
  uint8_t fdp;             /* 1: the controllers support Flexible Data Placement (CTRATT 19) */
  uint32_t reserved[6];
};
/* Fills *out. Returns 0, or -EINVAL for a NULL engine or out. */
NVME_MPATH_API int nvme_mpath_ns_format(const nvme_mpath_engine* e, struct nvme_mpath_ns_format* out);
/* Returns how many bytes a write is guaranteed to land atomically across a power failure when it
 * is aligned to its own size and that size is a power of two: Identify Controller AWUPF + 1 LBAs,
 * or Identify Namespace NAWUPF + 1 when NSFEAT bit 1 says the namespace has its own (capped by its
 * atomic boundaries, NABSPF/NABO), the smallest over all paths; at least one LBA. -EINVAL for a
 * NULL engine. */
NVME_MPATH_API int64_t nvme_mpath_atomic_write_bytes(const nvme_mpath_engine* e);
/* Returns 1 when the engine runs in head mode (opened through the kernel's multipath head,
 * nvme_core.multipath=Y: the kernel picks the controller of each command), 0 in per-path mode,
 * -EINVAL for a NULL engine. */
NVME_MPATH_API int nvme_mpath_head_mode(const nvme_mpath_engine* e);

struct nvme_mpath_path_stats {
  char ng_path[32];
  char ctrl[16];
  char address[128];
  char ana_state[16];
  char health[8];
  int usable;
  int disabled;                 /* API 3: 1 = disabled by the operator (no new I/O while another
                                   path is usable); fills what was padding, so the struct keeps
                                   its size and every offset (an API 1/2 library leaves it 0) */
  uint64_t ios, bytes, reads, writes, inflight, errors, retries, failovers, requeues, busy_ns;
};
/* Copies per-path state and counters (summed over queues) into out[0..max). Returns the number
 * of paths, or -errno. */
NVME_MPATH_API int nvme_mpath_path_stats(const nvme_mpath_engine* e,
                                         struct nvme_mpath_path_stats* out, uint32_t max);
/* Switches the policy at run time. preferred: for active-passive, NULL = first path. */
NVME_MPATH_API int nvme_mpath_set_policy(nvme_mpath_engine* e, int policy, const char* preferred);
/* API 3. Path maintenance: enabled 0 disables `path` (a /dev/ngXnY, ngXnY or controller name
 * nvmeX of the namespace): no new I/O goes down it while another path is usable, commands in
 * flight on it complete as usual, a flush still reaches it while it holds writes no flush
 * covers, and when no other path is usable I/O still goes down it (the last resort: nothing
 * fails because the last good path was drained). enabled 1 takes it back. Not persistent: a new
 * engine starts with every path enabled. Returns 0 (also when it already was in that state),
 * -EINVAL (NULL engine or path, not a path of this namespace), -EOPNOTSUPP (head mode: the
 * kernel's multipath head picks the controller of each command), -ENOMEM. `nvme-mpath-ctl path
 * disable|enable` does the same from another process. */
NVME_MPATH_API int nvme_mpath_set_path_enabled(nvme_mpath_engine* e, const char* path,
                                                      int enabled);
/* Name of the shared-memory stats segment ("" when not published). */
NVME_MPATH_API const char* nvme_mpath_stats_segment(const nvme_mpath_engine* e);

struct nvme_mpath_queue_options {
  uint32_t size;             /* sizeof(struct nvme_mpath_queue_options), set by _init */
  uint32_t depth;            /* default 128 */
  int sqpoll;
  uint32_t sqpoll_idle_ms;
  int fixed_buffers;         /* register `buffers` (io->buf_index selects one) */
  const struct iovec* buffers;
  uint32_t nbuffers;
  uint32_t reserved0;        /* 0 (the API 1 layout's padding; never read) */
  /* API 2. A caller built against API 1 passes the API 1 size: these keep their defaults. */
  int defer_taskrun;         /* default 1: SINGLE_ISSUER|DEFER_TASKRUN ring, owned by the first
                                thread that uses the queue; 0: COOP_TASKRUN (see engine.h) */
  uint32_t reserved1;        /* 0 (the API 2 layout's padding; never read) */
  /* API 3. A caller built against API 1 or 2 passes that size: these keep their defaults. */
  int32_t sqpoll_cpu;        /* default -1; with sqpoll, the CPU the SQPOLL thread is pinned to
                                (IORING_SETUP_SQ_AFF): 0 .. configured CPUs - 1 */
  int iopoll;                /* 1: IORING_SETUP_IOPOLL (fio's hipri): completions are polled;
                                needs poll queues on every path; nvme_mpath_queue_fd() is -1
                                (see QueueOptions::iopoll in engine.h) */
  int iopoll_force;          /* 1: poll even on the 6.1 series and on NVMe/TCP paths, where
                                polled passthrough is known to crash the kernel */
  uint32_t reserved2;        /* 0; ends the struct on its alignment, so that the next field
                                added starts at this layout's size */
};
NVME_MPATH_API void nvme_mpath_queue_options_init(struct nvme_mpath_queue_options* o);
/* Creates a queue (o NULL = the defaults). Returns 0, or -errno: -EINVAL bad arguments or
 * options, -EACCES io_uring refused (kernel.io_uring_disabled, seccomp, SQPOLL without the
 * privilege), -ENOSYS no io_uring, -EOPNOTSUPP the kernel lacks what NVMe passthrough needs,
 * -ENOMEM (RLIMIT_MEMLOCK); docs/c-api.md. It logs the reason of a failure
 * (nvme_mpath_set_log_fn); nvme_mpath_queue_create_err returns it instead. */
NVME_MPATH_API int nvme_mpath_queue_create(nvme_mpath_engine* e,
                                           const struct nvme_mpath_queue_options* o,
                                           nvme_mpath_queue** out);
/* API 2. nvme_mpath_queue_create with nvme_mpath_open's error buffer: on failure, when errbuf
 * is not NULL, a one-line message (for example "nvme_mpath_queue_create: queue depth 0 out of
 * range 1..65536"), "" on success; nothing is logged. */
NVME_MPATH_API int nvme_mpath_queue_create_err(nvme_mpath_engine* e,
                                               const struct nvme_mpath_queue_options* o,
                                               nvme_mpath_queue** out, char* errbuf,
                                               size_t errlen);
/* Fails parked and held I/O (-ESHUTDOWN), waits for commands in flight (at most 60 s; see
 * Queue in engine.h), then frees the queue. */
NVME_MPATH_API void nvme_mpath_queue_destroy(nvme_mpath_queue* q);

enum nvme_mpath_op {
  NVME_MPATH_OP_READ = 0,
  NVME_MPATH_OP_WRITE = 1,
  NVME_MPATH_OP_FLUSH = 2,
  NVME_MPATH_OP_WRITE_ZEROES = 3,
  NVME_MPATH_OP_DEALLOCATE = 4, /* buf: nlb struct nvme_mpath_dsm_range */
  NVME_MPATH_OP_COMPARE = 5,
  NVME_MPATH_OP_RAW = 6,
  NVME_MPATH_OP_VERIFY = 7,               /* API 3: no data; PRCHK in cdw12 checks the PI */
  NVME_MPATH_OP_WRITE_UNCORRECTABLE = 8,  /* API 3: no data; later reads of the LBAs fail */
};

struct nvme_mpath_dsm_range {
  uint32_t cattr;
  uint32_t nlb;
  uint64_t slba;
};

struct nvme_mpath_io;
typedef void (*nvme_mpath_cb)(struct nvme_mpath_io* io);

/* nvme_mpath_io.flags. */
/* A raw command (NVME_MPATH_OP_RAW) that may run twice with the same effect: retried and failed
 * over as a read or write is. Without it a raw command is sent again only when its failure
 * proves it did not execute (host path error 0x370 before sending, an ANA refusal, the path's
 * file or namespace gone at submission, -EAGAIN/-EBUSY/-ENOMEM); after any other failure (a
 * cancel or timeout, a transport error, any other NVMe status) it completes with that result, so
 * a Zone Append, a reservation or a vendor command never runs twice. Ignored for other ops. */
#define NVME_MPATH_IO_IDEMPOTENT (1u << 0)
/* Force Unit Access on a read or write (CDW12 bit 30): a write completes only once its data is
 * on non-volatile media, so it needs no flush to be durable; a read reads from the media.
 * docs/durability.md. Ignored for other ops. */
#define NVME_MPATH_IO_FUA (1u << 1)

struct nvme_mpath_io {
  /* request */
  uint8_t op;                /* enum nvme_mpath_op */
  uint8_t raw_opcode;        /* NVME_MPATH_OP_RAW */
  uint16_t flags;            /* NVME_MPATH_IO_*; set other bits to 0 (reserved; ignored today so
                                that callers of the former `reserved0`, same offset and size,
                                keep working). */
  uint32_t nlb;              /* LBAs (1-based), or DSM ranges */
  uint64_t slba;
  void* buf;
  void* md;
  int32_t buf_index;         /* fixed buffer, or -1 */
  uint32_t raw_data_len;     /* NVME_MPATH_OP_RAW */
  uint32_t raw_metadata_len;
  /* RAW: the command's dwords. Read, write, compare and write zeroes (API 3) use cdw12 bits
   * 31:16 (PRINFO 29:26, FUA 30, LR 31, DTYPE 23:20: protection, placement; bits 15:0 are the
   * engine's), cdw13 (DSPEC, DSM hints), cdw14 (the reference tag of the I/O's first LBA: each
   * command of a split I/O gets it plus its offset in LBAs) and cdw15 (application tag and
   * mask); every command of the I/O, resent or not, carries them. */
  uint32_t cdw2, cdw3, cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
  nvme_mpath_cb cb;
  void* ctx;                 /* caller's */
  /* result, valid in cb */
  int32_t res;               /* 0 or -errno */
  uint16_t status;           /* NVMe status when res == -EIO */
  uint16_t reserved1;
  uint32_t result;           /* CQE DW0 */
  uint32_t reserved2;
  /* engine-private */
  uint64_t opaque[24];
};

/* Initialises an io (zero, buf_index = -1). */
NVME_MPATH_API void nvme_mpath_io_init(struct nvme_mpath_io* io);
/* 0 = queued (cb runs once from nvme_mpath_poll); -EINVAL bad request (nothing submitted),
 * -ERANGE LBA out of range, -EALREADY io in flight (queued, its cb not run yet: that one goes
 * on untouched), -EAGAIN queue full, -ESHUTDOWN queue closed. */
NVME_MPATH_API int nvme_mpath_submit(nvme_mpath_queue* q, struct nvme_mpath_io* io);
/* nvme_mpath_submit() of ios[0], ios[1], ... in order, stopping at the first one the queue
 * cannot take (as io_submit(2) does). Returns how many it took (cb runs once for each); when it
 * took none, the error nvme_mpath_submit(q, ios[0]) returns (0 when n is 0; -EINVAL for a NULL
 * entry). The request fields of the ones not taken are left as they were: nvme_mpath_submit()
 * of the first of them says why. Cheaper per I/O than one nvme_mpath_submit() each. (API 4) */
NVME_MPATH_API int nvme_mpath_submit_batch(nvme_mpath_queue* q, struct nvme_mpath_io* const* ios,
                                           unsigned int n);
/* Sends queued commands to the kernel. Returns how many it took (0 when it is short of
 * resources: they stay queued, every flush and poll sends them again, and they fail with its
 * errno if it takes none for 1 s), or -EEXIST: this thread cannot use the queue's ring. */
NVME_MPATH_API int nvme_mpath_flush(nvme_mpath_queue* q);
/* Reaps completions and runs callbacks; waits up to timeout_us (-1 forever, 0 no wait) for at
 * least min_complete. Returns the number of I/Os completed, or -errno (-EEXIST: this thread
 * cannot use the queue's ring). */
NVME_MPATH_API int nvme_mpath_poll(nvme_mpath_queue* q, uint32_t min_complete, int64_t timeout_us);
/* An fd that polls readable when nvme_mpath_poll() has completions to reap; -1 for a polled
 * queue (iopoll: completions appear only when nvme_mpath_poll() polls). */
NVME_MPATH_API int nvme_mpath_queue_fd(const nvme_mpath_queue* q);
NVME_MPATH_API uint32_t nvme_mpath_queue_inflight(const nvme_mpath_queue* q);

/* Synchronous helpers on a queue. Return 0 or -errno; *status (when not NULL) gets the NVMe
 * status of an NVMe error. */
NVME_MPATH_API int nvme_mpath_read(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb, void* buf,
                                   uint16_t* status);
NVME_MPATH_API int nvme_mpath_write(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb,
                                    const void* buf, uint16_t* status);
NVME_MPATH_API int nvme_mpath_flush_cache(nvme_mpath_queue* q, uint16_t* status);
NVME_MPATH_API int nvme_mpath_write_zeroes(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb,
                                           uint16_t* status);
NVME_MPATH_API int nvme_mpath_trim(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb,
                                   uint16_t* status);
/* Any I/O command, synchronously (fills io->res/status/result). */
NVME_MPATH_API int nvme_mpath_execute(nvme_mpath_queue* q, struct nvme_mpath_io* io);

/* "ANA_INACCESSIBLE", "HOST_PATH_ERROR", "-ENODEV", ... for a cqe->res value. */
NVME_MPATH_API const char* nvme_mpath_status_name(int res);
/* Library version, "MAJOR.MINOR.PATCH" (the library's NVME_MPATH_VERSION_* macros). */
NVME_MPATH_API const char* nvme_mpath_version(void);
/* API 2. Returns 1 when the library running is compatible with a program built against release
 * major.minor (same major, minor at most the library's), else 0. Call it as
 * NVME_MPATH_VERSION_CHECK() at start-up to fail with a clear message instead of misbehaving. */
NVME_MPATH_API int nvme_mpath_version_check(int major, int minor);
#define NVME_MPATH_VERSION_CHECK() \
  nvme_mpath_version_check(NVME_MPATH_VERSION_MAJOR, NVME_MPATH_VERSION_MINOR)

/* API 2. Log lines: levels, and where they go. */
enum nvme_mpath_log_level {
  NVME_MPATH_LOG_DEFAULT = -1, /* as nvme_mpath_set_log_fn's level: the level NVME_MPATH_LOG
                                  names (error|warn|info|debug), warn when it is unset */
  NVME_MPATH_LOG_ERROR = 0,
  NVME_MPATH_LOG_WARN = 1,
  NVME_MPATH_LOG_INFO = 2,
  NVME_MPATH_LOG_DEBUG = 3,
};
/* One log line: `level` an enum nvme_mpath_log_level, `message` without prefix or newline,
 * valid during the call only. */
typedef void (*nvme_mpath_log_fn)(void* ctx, int level, const char* message);
/* Sends every library log line of `level` or more severe (a smaller value) to fn(ctx, ...), or,
 * with fn NULL, to stderr as "nvme-mpath: <level>: <message>" (the default). Without a call the
 * level is NVME_MPATH_LOG's. Lines come from state changes (paths failing, coming back, ANA
 * moves, reopened controllers), never one per I/O.
 *
 * Threading contract: fn runs on whichever library thread logs: the engine's control thread,
 * a path's refresh worker, a thread inside nvme_mpath_open, or a queue's thread inside
 * nvme_mpath_poll/submit/flush. The library calls it for one line at a time (a lock is held
 * around each call; calls never overlap), so fn needs no locking of its own against itself,
 * but it must be safe to run on any thread, return quickly (other threads' lines wait for it)
 * and not call into nvme_mpath other than nvme_mpath_status_name/nvme_mpath_version (a line
 * that call logs goes to stderr). nvme_mpath_set_log_fn may be called from any thread, at any
 * time; it returns once no thread is inside the previous fn, so the previous ctx may be freed
 * then. Returns 0, -EINVAL for an unknown level (nothing changed), -EDEADLK when called from
 * inside fn (nothing changed). */
NVME_MPATH_API int nvme_mpath_set_log_fn(nvme_mpath_log_fn fn, void* ctx, int level);

#ifdef __cplusplus
}
#endif

#endif /* NVME_MPATH_C_H_ */
