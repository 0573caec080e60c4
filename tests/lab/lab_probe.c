/* lab_probe: one raw NVMe read or write on a generic char device (/dev/ngXnY) through io_uring
 * IORING_OP_URING_CMD (NVME_URING_CMD_IO on an IORING_SETUP_SQE128|IORING_SETUP_CQE32 ring),
 * printing cqe->res decoded. The lab's smoke test uses it to pin down what each fault looks like
 * before the engine has to handle it.
 *
 *   lab_probe [options] read|write DEV
 *     -l SLBA        first LBA (default 0)
 *     -n NLB         number of LBAs, 1..256 (default 1)
 *     -N NSID        namespace id (default: NVME_IOCTL_ID of DEV)
 *     -p BYTE        write: fill pattern (default 0xa5)
 *     -e BYTE        read: verify every byte equals BYTE
 *     -T MS          nvme_uring_cmd.timeout_ms (default 0: the kernel's io_timeout)
 *     -w SEC         give up waiting for the completion after SEC s (default 60; prints
 *                    res=-62 name=PROBE_WAIT_TIMEOUT, exit 3)
 *     -W FILE        open DEV, then wait (up to 60 s) until FILE exists before submitting, so a
 *                    test can hold the device open across a controller deletion
 * Output: "res=<cqe->res> status=0x<res if > 0> sct=<> sc=<> dnr=<> more=<> name=<decoded>
 *          [verify=ok|bad] us=<latency>"
 * Exit: 0 when res == 0 (and the verify passed), 1 otherwise, 2 on bad usage, 3 on wait timeout.
 *
 * liburing 2.3 (Debian 12) has no io_uring_prep_uring_cmd(): prep_nvme_uring_cmd() below fills the
 * 128-byte SQE itself. */
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
#include <time.h>
#include <unistd.h>

enum { NVME_CMD_WRITE = 0x01, NVME_CMD_READ = 0x02 };

static const char* status_name(int res) {
  if (res == 0) return "SUCCESS";
  if (res < 0) {
    const char* n = strerrorname_np(-res);
    return n ? n : "ERRNO";
  }
  switch (res & 0x7ff) { /* SCT (bits 10:8) + SC (bits 7:0); 0x2000 = More, 0x4000 = DNR */
    case 0x002: return "INVALID_FIELD";
    case 0x004: return "DATA_XFER_ERROR";
    case 0x006: return "INTERNAL";
    case 0x080: return "LBA_RANGE";
    case 0x301: return "ANA_PERSISTENT_LOSS";
    case 0x302: return "ANA_INACCESSIBLE";
    case 0x303: return "ANA_TRANSITION";
    case 0x370: return "HOST_PATH_ERROR";
    case 0x371: return "HOST_ABORTED_CMD";
    default: return "NVME_STATUS";
  }
}

/* Fills an SQE128 slot with an NVME_URING_CMD_IO passthrough command. The nvme_uring_cmd (72
 * bytes) lives in sqe->cmd and spills into the second 64 bytes of the slot. */
static void prep_nvme_uring_cmd(struct io_uring_sqe* sqe, int fd, const struct nvme_uring_cmd* cmd,
                                uint64_t user_data) {
  /* Byte by byte: GCC's -Warray-bounds does not know the slot is 128 bytes. */
  volatile unsigned char* slot = (volatile unsigned char*)sqe;
  for (size_t i = 0; i < 2 * sizeof(*sqe); i++) slot[i] = 0;
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = NVME_URING_CMD_IO;
  sqe->user_data = user_data;
  memcpy(sqe->cmd, cmd, sizeof(*cmd));
}

static unsigned lba_size_of(const char* dev) {
  /* From sysfs (/dev/ngXnY -> /sys/block/nvmeXnY): needs no command on a path that may be down.
   * nvmet on a tmpfs file with buffered_io reports 4 KiB. */
  unsigned lba = 0;
  const char* base = strrchr(dev, '/');
  base = base ? base + 1 : dev;
  if (strncmp(base, "ng", 2) != 0) return 0;
  char path[256];
  snprintf(path, sizeof(path), "/sys/block/nvme%s/queue/logical_block_size", base + 2);
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  if (fscanf(f, "%u", &lba) != 1) lba = 0;
  fclose(f);
  return lba;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void usage(void) {
  fprintf(stderr,
          "usage: lab_probe [-l SLBA] [-n NLB] [-N NSID] [-p BYTE] [-e BYTE] [-T TIMEOUT_MS] [-w SEC] [-W FILE] "
          "read|write /dev/ngXnY\n");
}

int main(int argc, char** argv) {
  unsigned long long slba = 0;
  unsigned nlb = 1, timeout_ms = 0, nsid = 0, wait_sec = 60;
  int pattern = 0xa5, expect = -1, opt;
  const char* wait_file = NULL;
  while ((opt = getopt(argc, argv, "l:n:p:e:T:N:w:W:h")) != -1) {
    switch (opt) {
      case 'l': slba = strtoull(optarg, NULL, 0); break;
      case 'n': nlb = strtoul(optarg, NULL, 0); break;
      case 'p': pattern = (int)strtol(optarg, NULL, 0); break;
      case 'e': expect = (int)strtol(optarg, NULL, 0); break;
      case 'T': timeout_ms = strtoul(optarg, NULL, 0); break;
      case 'N': nsid = strtoul(optarg, NULL, 0); break;
      case 'w': wait_sec = strtoul(optarg, NULL, 0); break;
      case 'W': wait_file = optarg; break;
      default: usage(); return 2;
    }
  }
  if (optind + 2 != argc || nlb == 0 || nlb > 256 || wait_sec == 0 ||
      (strcmp(argv[optind], "read") != 0 && strcmp(argv[optind], "write") != 0)) {
    usage();
    return 2;
  }
  const int is_write = strcmp(argv[optind], "write") == 0;
  const char* dev = argv[optind + 1];
  int fd = open(dev, O_RDWR);
  if (fd < 0) {
    int e = errno;
    printf("res=%d name=%s stage=open\n", -e, status_name(-e));
    return 1;
  }
  if (nsid == 0) {
    int id = ioctl(fd, NVME_IOCTL_ID);
    if (id <= 0) {
      int e = id < 0 ? errno : EINVAL;
      printf("res=%d name=%s stage=NVME_IOCTL_ID\n", -e, status_name(-e));
      return 1;
    }
    nsid = (unsigned)id;
  }
  unsigned lba = lba_size_of(dev);
  if (lba < 512 || lba > 65536 || (lba & (lba - 1))) {
    printf("res=%d name=EINVAL stage=lba-size (not an ng device with a sysfs block twin: %s)\n", -EINVAL, dev);
    return 1;
  }
  if (wait_file) {
    for (int i = 0; i < 600 && access(wait_file, F_OK) != 0; i++) usleep(100000);
  }
  const size_t len = (size_t)nlb * lba;
  void* buf;
  if (posix_memalign(&buf, 4096, len)) return 1;
  memset(buf, is_write ? pattern : 0, len);

  struct io_uring ring;
  int r = io_uring_queue_init(4, &ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
  if (r < 0) {
    printf("res=%d name=%s stage=io_uring_queue_init\n", r, status_name(r));
    return 1;
  }
  struct nvme_uring_cmd cmd;
  memset(&cmd, 0, sizeof(cmd));
  cmd.opcode = is_write ? NVME_CMD_WRITE : NVME_CMD_READ;
  cmd.nsid = nsid;
  cmd.addr = (uintptr_t)buf;
  cmd.data_len = (uint32_t)len;
  cmd.cdw10 = (uint32_t)slba;
  cmd.cdw11 = (uint32_t)(slba >> 32);
  cmd.cdw12 = nlb - 1; /* 0's based */
  cmd.timeout_ms = timeout_ms;
  prep_nvme_uring_cmd(io_uring_get_sqe(&ring), fd, &cmd, 0x1ab);
  const double t0 = now_us();
  r = io_uring_submit(&ring);
  if (r != 1) {
    printf("res=%d name=%s stage=submit\n", r < 0 ? r : -EIO, status_name(r < 0 ? r : -EIO));
    return 1;
  }
  struct io_uring_cqe* cqe;
  struct __kernel_timespec ts = {.tv_sec = wait_sec, .tv_nsec = 0};
  r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
  if (r == -ETIME) {
    printf("res=%d name=PROBE_WAIT_TIMEOUT stage=wait (no completion in %u s)\n", -ETIME, wait_sec);
    fflush(stdout);
    _exit(3); /* the command is still in flight: do not wait for it in exit */
  }
  if (r < 0) {
    printf("res=%d name=%s stage=wait\n", r, status_name(r));
    return 1;
  }
  const double us = now_us() - t0;
  const int res = cqe->res;
  if (res > 0)
    printf("res=%d status=0x%x sct=%d sc=0x%x dnr=%d more=%d name=%s", res, res, (res >> 8) & 7, res & 0xff,
           !!(res & 0x4000), !!(res & 0x2000), status_name(res));
  else
    printf("res=%d name=%s", res, status_name(res));
  int ok = res == 0;
  if (!is_write && expect >= 0 && res == 0) {
    const unsigned char* p = buf;
    for (size_t i = 0; i < len; i++)
      if (p[i] != (unsigned char)expect) {
        ok = 0;
        printf(" verify=bad (byte %zu is 0x%02x, want 0x%02x)", i, p[i], expect & 0xff);
        break;
      }
    if (ok) printf(" verify=ok");
  }
  printf(" us=%.0f\n", us);
  io_uring_cqe_seen(&ring, cqe);
  io_uring_queue_exit(&ring);
  close(fd);
  free(buf);
  return ok ? 0 : 1;
}
