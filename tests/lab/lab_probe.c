/* lab_probe: one raw NVMe read or write on a generic char device through io_uring
 * IORING_OP_URING_CMD (NVME_URING_CMD_IO, SQE128|CQE32 ring), printing cqe->res. The lab's smoke
 * test uses it to check what each fault looks like before the engine handles it.
 *
 *   lab_probe [-l SLBA] [-n NLB] [-p BYTE] [-e BYTE] [-T TIMEOUT_MS] [-N NSID] [-W FILE]
 *             read|write DEV
 *
 * -W FILE: open DEV, then wait (up to 60 s) until FILE exists before sending the command, so a
 * test can hold the device open across a controller deletion.
 * Output: "res=<cqe->res> status=<0x...> name=<decoded>" and, for a read with -e, "verify=ok|bad".
 * Exit: 0 when res == 0 (and the verify passed), 1 otherwise, 2 on bad usage. */
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

static const char* name_of(int res) {
  if (res == 0) return "SUCCESS";
  if (res < 0) {
    const char* n = strerrorname_np(-res);
    return n ? n : "errno";
  }
  switch (res & 0x7ff) {
    case 0x301: return "ANA_PERSISTENT_LOSS";
    case 0x302: return "ANA_INACCESSIBLE";
    case 0x303: return "ANA_TRANSITION";
    case 0x370: return "HOST_PATH_ERROR";
    case 0x371: return "HOST_ABORTED_CMD";
    default: return "NVME_STATUS";
  }
}

int main(int argc, char** argv) {
  unsigned long long slba = 0;
  unsigned nlb = 1, timeout_ms = 0, nsid = 0;
  int pattern = 0xa5, expect = -1, opt;
  const char* wait_file = NULL;
  while ((opt = getopt(argc, argv, "l:n:p:e:T:N:W:")) != -1) {
    switch (opt) {
      case 'l': slba = strtoull(optarg, NULL, 0); break;
      case 'n': nlb = strtoul(optarg, NULL, 0); break;
      case 'p': pattern = (int)strtol(optarg, NULL, 0); break;
      case 'e': expect = (int)strtol(optarg, NULL, 0); break;
      case 'T': timeout_ms = strtoul(optarg, NULL, 0); break;
      case 'N': nsid = strtoul(optarg, NULL, 0); break;
      case 'W': wait_file = optarg; break;
      default: return 2;
    }
  }
  if (optind + 2 != argc || nlb == 0 || nlb > 256) {
    fprintf(stderr, "usage: lab_probe [-l SLBA] [-n NLB] [-p BYTE] [-e BYTE] [-T MS] [-N NSID] read|write DEV\n");
    return 2;
  }
  const int write = strcmp(argv[optind], "write") == 0;
  const char* dev = argv[optind + 1];
  int fd = open(dev, O_RDWR);
  if (fd < 0) {
    printf("res=%d status=0x0 name=open:%s\n", -errno, strerror(errno));
    return 1;
  }
  if (nsid == 0) {
    int id = ioctl(fd, NVME_IOCTL_ID);
    if (id <= 0) {
      printf("res=%d status=0x0 name=NVME_IOCTL_ID:%s\n", -errno, strerror(errno));
      return 1;
    }
    nsid = (unsigned)id;
  }
  /* LBA size from sysfs (/dev/ngXnY -> /sys/block/nvmeXnY), which needs no command on a path
   * that may be down; nvmet on a tmpfs file uses 4 KiB. */
  unsigned lba = 0;
  const char* base = strrchr(dev, '/');
  base = base ? base + 1 : dev;
  if (strncmp(base, "ng", 2) == 0) {
    char path[256];
    snprintf(path, sizeof(path), "/sys/block/nvme%s/queue/logical_block_size", base + 2);
    FILE* f = fopen(path, "r");
    if (f) {
      if (fscanf(f, "%u", &lba) != 1) lba = 0;
      fclose(f);
    }
  }
  if (lba < 512 || lba > 65536 || (lba & (lba - 1))) {
    printf("res=%d status=0x0 name=no-lba-size-for:%s\n", -EINVAL, dev);
    return 1;
  }
  if (wait_file) {
    for (int i = 0; i < 600 && access(wait_file, F_OK) != 0; i++) usleep(100000);
  }
  void* buf;
  if (posix_memalign(&buf, 4096, nlb * lba)) return 1;
  memset(buf, write ? pattern : 0, nlb * lba);
  struct io_uring ring;
  int r = io_uring_queue_init(4, &ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
  if (r < 0) {
    printf("res=%d status=0x0 name=io_uring_queue_init:%s\n", r, strerror(-r));
    return 1;
  }
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  /* SQE128: the command spills into the second 64 bytes of the slot. */
  unsigned char* slot = (unsigned char*)(uintptr_t)sqe;
  for (size_t i = 0; i < 2 * sizeof(*sqe); i++) slot[i] = 0;
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = NVME_URING_CMD_IO;
  sqe->user_data = 0x1ab;
  struct nvme_uring_cmd* cmd = (struct nvme_uring_cmd*)sqe->cmd;
  cmd->opcode = write ? 0x01 : 0x02;
  cmd->nsid = nsid;
  cmd->addr = (uintptr_t)buf;
  cmd->data_len = nlb * lba;
  cmd->cdw10 = (uint32_t)slba;
  cmd->cdw11 = (uint32_t)(slba >> 32);
  cmd->cdw12 = nlb - 1;
  cmd->timeout_ms = timeout_ms;
  io_uring_submit(&ring);
  struct io_uring_cqe* cqe;
  r = io_uring_wait_cqe(&ring, &cqe);
  if (r < 0) {
    printf("res=%d status=0x0 name=wait:%s\n", r, strerror(-r));
    return 1;
  }
  int res = cqe->res;
  printf("res=%d status=0x%x name=%s", res, res > 0 ? res : 0, name_of(res));
  int ok = res == 0;
  if (!write && expect >= 0 && res == 0) {
    for (unsigned i = 0; i < nlb * lba; i++)
      if (((unsigned char*)buf)[i] != (unsigned char)expect) { ok = 0; break; }
    printf(" verify=%s", ok ? "ok" : "bad");
  }
  printf("\n");
  io_uring_cqe_seen(&ring, cqe);
  return ok ? 0 : 1;
}
