"""A link delay in user space, for kernels without ``tc netem``.

``python -m bench.net.delay --queue 0 --delay-ms 5`` (run inside a network
namespace) binds netfilter queue ``--queue`` and lets every packet that the
namespace's firewall sends there pass ``--delay-ms`` after it arrived, in the
order they came (a constant delay keeps the order, so one batch verdict lets
all due packets go at once). With ``iptables -t raw -A PREROUTING -i DEV -j
NFQUEUE --queue-num 0 --queue-bypass`` every packet arriving over ``DEV`` is held
back that long: half the round-trip time on each side of a link, as ``tc qdisc
... netem delay`` would add it. Only packet metadata reaches this process (copy
mode "meta"), and large GSO packets are queued whole (``NFQA_CFG_F_GSO``), so a
1 Gbit/s stream is a few thousand packets a second.

The protocol is spoken over a raw netlink socket (``nfnetlink_queue``; the
constants are those of ``linux/netfilter/nfnetlink_queue.h``); it runs until
SIGTERM. Without a listener the rule's ``--queue-bypass`` lets packets through
undelayed, so stopping this process never cuts a link.
"""

from __future__ import annotations

import argparse
import collections
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_GSO = 1 << 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _message(kind: int, flags: int, queue: int, attrs: list[bytes], seq: int = 0) -> bytes:
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def _request(sock: socket.socket, queue: int, attrs: list[bytes], seq: int) -> None:
    """Send one config message and wait for its acknowledgement."""
    sock.send(_message(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, queue, attrs, seq))
    while True:
        data = sock.recv(65536)
        length, kind, _, got_seq, _ = struct.unpack_from("=IHHII", data)
        if kind == NLMSG_ERROR and got_seq == seq:
            (error,) = struct.unpack_from("=i", data, 16)
            if error:
                raise OSError(-error, f"nfnetlink_queue config refused: {os_error(-error)}")
            return


def os_error(code: int) -> str:
    import os

    return os.strerror(code)


def bind(queue: int) -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE (root): bursts of a fast link
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    _request(sock, queue, [_attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET))], 1)
    _request(sock, queue, [_attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)),
                           _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 1 << 20)),
                           _attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_GSO)),
                           _attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_GSO))], 2)
    return sock


def _packet_ids(data: bytes, n: int) -> list[int]:
    """The packet ids of the queued-packet messages in ``data[:n]``."""
    ids = []
    off = 0
    while off + 16 <= n:
        length, kind, _, _, _ = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            a = off + 20
            end = off + length
            while a + 4 <= end:
                alen, akind = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if akind & 0x7FFF == NFQA_PACKET_HDR:
                    ids.append(struct.unpack_from("!I", data, a + 4)[0])
                    break
                a += (alen + 3) & ~3
        off += (length + 3) & ~3
    return ids


def run(queue: int, delay: float) -> None:
    sock = bind(queue)
    sock.setblocking(False)
    held: collections.deque[tuple[float, int]] = collections.deque()
    buf = bytearray(1 << 20)
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print(f"delaying queue {queue} by {delay * 1000:.2f} ms", flush=True)
    while not stop:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
        ready, _, _ = select.select([sock], [], [], timeout)
        if ready:
            now = time.monotonic()
            while True:
                try:
                    n = sock.recv_into(buf)
                except BlockingIOError:
                    break
                held.extend((now + delay, i) for i in _packet_ids(bytes(buf[:n]), n))
        now = time.monotonic()
        due = None
        while held and held[0][0] <= now:
            due = held.popleft()[1]
        if due is not None:
            sock.send(_message(NFQNL_MSG_VERDICT_BATCH, NLM_F_REQUEST, queue,
                               [_attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, due))]))
    # Whatever is still held goes at once: a stopped delay never drops packets.
    if held:
        sock.send(_message(NFQNL_MSG_VERDICT_BATCH, NLM_F_REQUEST, queue,
                           [_attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, held[-1][1]))]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.net.delay", description=__doc__.split("\n\n")[0])
    ap.add_argument("--queue", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, required=True)
    args = ap.parse_args(argv)
    run(args.queue, args.delay_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
