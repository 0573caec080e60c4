/* sqe_reread_probe: does this kernel read a uring_cmd's SQE again after io_uring_enter()
 * returned? nvme-mpath's transport gives every command its own SQE until its completion is
 * reaped (src/uring_transport.h, "SQE ownership") because some kernels do; this probe shows
 * which ones, on a real /dev/ngXnY.
 *
 *   sqe_reread_probe DEV LBA_SIZE [NCMDS]
 *
 * It writes blocks 0..NCMDS (each 4 KiB block b filled with a word naming b), then
 * submits NCMDS single-block reads of blocks 1..NCMDS (read i into its own zeroed buffer) in one
 * io_uring_enter(). More reads than the hardware queue has tags (nvme-tcp: 128) makes the kernel
 * punt the rest to io-wq (-EAGAIN on the inline issue). As soon as io_uring_enter() returns, the
 * probe rewrites every one of those SQEs in the ring to read block 0 instead, as an application
 * reusing ring slots would. Then it reaps every completion and classifies each read:
 *   own     res 0 and the buffer holds the block it asked for
 *   reread  res 0 and the buffer holds block 0: the kernel issued the rewritten SQE
 *           (a zero buffer with res 0, the read never filled, counts as other)
 *   efault  res -EFAULT (on 6.12 a command issued from io-wq can get its address truncated
 *           to 32 bits: nvme_to_user_ptr() tests in_compat_syscall() in the worker)
 *   other   any other res, or a success with neither content
 * Output: one line "sqe_reread: cmds=N own=A reread=B efault=C other=D" and the first few
 * odd ones. Exit 0 when it ran (whatever it found), 1 on a set-up error, 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BUF 4096
#define MARK(b) (0x5a5a000000000000ull + (b)) /* what block b holds: never 0 */

static void prep(struct io_uring_sqe *sqe, int fd, uint32_t nsid, uint8_t opc, uint64_t slba,
                 uint32_t nlb, void *buf, uint32_t len, uint64_t ud) {
  memset(sqe, 0, 2 * sizeof(*sqe));
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = NVME_URING_CMD_IO;
  sqe->user_data = ud;
  struct nvme_uring_cmd *c = (struct nvme_uring_cmd *)sqe->cmd;
  c->opcode = opc;
  c->nsid = nsid;
  c->addr = (uint64_t)(uintptr_t)buf;
  c->data_len = len;
  c->cdw10 = (uint32_t)slba;
  c->cdw11 = (uint32_t)(slba >> 32);
  c->cdw12 = nlb - 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: sqe_reread_probe DEV LBA_SIZE [NCMDS]\n");
    return 2;
  }
  const unsigned lba = (unsigned)atoi(argv[2]);
  const unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 384;
  if (lba == 0 || BUF % lba != 0 || n < 1 || n > 1024) {
    fprintf(stderr, "sqe_reread_probe: LBA_SIZE must divide %d and NCMDS be 1..1024\n", BUF);
    return 2;
  }
  const uint32_t nlb = BUF / lba;
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  int nsid = ioctl(fd, NVME_IOCTL_ID);
  if (nsid <= 0) {
    perror("NVME_IOCTL_ID");
    return 1;
  }
  struct io_uring ring;
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE;
  p.cq_entries = 2048;
  int r = io_uring_queue_init_params(1024, &ring, &p);
  if (r < 0) {
    fprintf(stderr, "io_uring_queue_init_params: %s\n", strerror(-r));
    return 1;
  }
  char *bufs;
  if (posix_memalign((void **)&bufs, BUF, (size_t)(n + 1) * BUF) != 0) return 1;
  /* Fill blocks 0..n (4 KiB each), in batches well under the tag count. */
  for (unsigned b = 0; b <= n; ++b)
    for (unsigned w = 0; w < BUF / 8; ++w) ((uint64_t *)(bufs + (size_t)b * BUF))[w] = MARK(b);
  for (unsigned b = 0; b <= n;) {
    unsigned k = 0;
    for (; k < 32 && b + k <= n; ++k)
      prep(io_uring_get_sqe(&ring), fd, (uint32_t)nsid, 0x01, (uint64_t)(b + k) * nlb, nlb,
           bufs + (size_t)(b + k) * BUF, BUF, b + k);
    if ((r = io_uring_submit_and_wait(&ring, k)) < 0) {
      fprintf(stderr, "fill submit: %s\n", strerror(-r));
      return 1;
    }
    for (unsigned j = 0; j < k; ++j) {
      struct io_uring_cqe *cqe;
      if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0) return 1;
      if (cqe->res != 0) {
        fprintf(stderr, "fill write of block %llu: res=%d\n", (unsigned long long)cqe->user_data,
                cqe->res);
        return 1;
      }
      io_uring_cqe_seen(&ring, cqe);
    }
    b += k;
  }
  memset(bufs, 0, (size_t)(n + 1) * BUF);
  /* Reads of blocks 1..n, read i into buffer i, in one io_uring_enter(). */
  struct io_uring_sqe *sqes[1024];
  for (unsigned i = 1; i <= n; ++i) {
    sqes[i - 1] = io_uring_get_sqe(&ring);
    prep(sqes[i - 1], fd, (uint32_t)nsid, 0x02, (uint64_t)i * nlb, nlb, bufs + (size_t)i * BUF,
         BUF, i);
  }
  r = io_uring_submit(&ring);
  if (r != (int)n) {
    fprintf(stderr, "submit: %d of %u\n", r, n);
    return 1;
  }
  /* The kernel has taken them all. Reuse the slots: every SQE now reads block 0. */
  for (unsigned i = 0; i < n; ++i) {
    struct nvme_uring_cmd *c = (struct nvme_uring_cmd *)sqes[i]->cmd;
    __atomic_store_n(&c->cdw10, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&c->cdw11, 0u, __ATOMIC_RELAXED);
  }
  unsigned own = 0, reread = 0, efault = 0, other = 0, shown = 0;
  for (unsigned j = 0; j < n; ++j) {
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {.tv_sec = 60, .tv_nsec = 0};
    if ((r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) < 0) {
      fprintf(stderr, "wait: %s after %u completions\n", strerror(-r), j);
      return 1;
    }
    const uint64_t i = cqe->user_data;
    const uint64_t got = ((uint64_t *)(bufs + (size_t)i * BUF))[0];
    const char *what;
    if (cqe->res == 0 && got == MARK(i)) {
      ++own;
      what = NULL;
    } else if (cqe->res == 0 && got == MARK(0)) {
      ++reread;
      what = "reread";
    } else if (cqe->res == -EFAULT) {
      ++efault;
      what = NULL;
    } else {
      ++other;
      what = "other";
    }
    if (what && shown++ < 5)
      printf("  read of block %llu: res=%d, buffer starts %#llx (%s)\n",
             (unsigned long long)i, cqe->res, (unsigned long long)got, what);
    io_uring_cqe_seen(&ring, cqe);
  }
  printf("sqe_reread: cmds=%u own=%u reread=%u efault=%u other=%u\n", n, own, reread, efault,
         other);
  io_uring_queue_exit(&ring);
  close(fd);
  return 0;
}
