#!/usr/bin/python3
"""hmp.py SOCKET COMMAND: run one QEMU human-monitor command over the monitor's unix socket and
print its answer (vm.sh's monitor relay for the PCIe topology). Exit 1 when the monitor cannot
be reached or does not answer within 30 s, or when the answer reports an error."""
import socket
import sys
import time

PROMPT = b"(qemu) "


def read_until_prompt(s, deadline):
    buf = b""
    while not buf.endswith(PROMPT):
        s.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("monitor closed the connection")
        buf += chunk
    return buf[: -len(PROMPT)]


def main():
    if len(sys.argv) != 3:
        print("usage: hmp.py SOCKET COMMAND", file=sys.stderr)
        return 2
    deadline = time.monotonic() + 30
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        read_until_prompt(s, deadline)  # the banner
        s.sendall(sys.argv[2].encode() + b"\n")
        out = read_until_prompt(s, deadline)
    except OSError as e:
        print(f"hmp.py: {e}", file=sys.stderr)
        return 1
    # The monitor echoes the command line (with terminal escapes); the answer follows it.
    text = out.decode(errors="replace").replace("\r", "")
    lines = [l for l in text.split("\n")[1:] if l.strip()]
    print("\n".join(lines))
    return 1 if any(("Error" in l or "error" in l) for l in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
