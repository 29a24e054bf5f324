#!/usr/bin/env python3
"""What an attacker on the wire does, for secure.sh (root: raw sockets).

wire.py replay SRC DST N    sniff N sealed datagrams (first byte 4) from
                            127.0.0.1:SRC to 127.0.0.1:DST on lo, send
                            each again, and N forged ones, all from SRC
wire.py register PCAP       print the first signed register line that a
                            capture of lo (tcpdump -w) holds
"""
import os
import socket
import struct
import sys
import time


def udp_from(src, dst, payload):
    """An IPv4/UDP packet from 127.0.0.1:src (checksum 0: none)."""
    udp = struct.pack("!HHHH", src, dst, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64,
                     17, 0, socket.inet_aton("127.0.0.1"),
                     socket.inet_aton("127.0.0.1"))
    return ip + udp


def replay(src, dst, n):
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                          socket.htons(0x0800))
    sniff.bind(("lo", 0))
    sniff.settimeout(1)
    seen, deadline = [], time.time() + 30
    while len(seen) < n and time.time() < deadline:
        try:
            pkt = sniff.recv(65535)
        except socket.timeout:
            continue
        ihl = (pkt[0] & 15) * 4
        if pkt[9] != 17:
            continue
        sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
        data = pkt[ihl + 8:]
        if sport == src and dport == dst and data[:1] == b"\x04" \
                and data not in seen:
            seen.append(data)
    if len(seen) < n:
        sys.exit("saw %d sealed datagrams, not %d" % (len(seen), n))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    forged = [b"\x04" + os.urandom(8 + 1 + 16 + 40) for _ in range(n)]
    for data in seen + forged:
        raw.sendto(udp_from(src, dst, data), ("127.0.0.1", 0))
    print("replayed %d, forged %d" % (len(seen), len(forged)))


def register(path):
    data = open(path, "rb").read()
    at = 24  # the pcap file header; then records of 16 + caplen bytes
    while at + 16 <= len(data):
        caplen = struct.unpack("<I", data[at + 8:at + 12])[0]
        rec = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        i = rec.find(b'"register"')
        if i >= 0 and b'"sig"' in rec:
            print(rec[rec.rfind(b"{", 0, i):].split(b"\n")[0].decode())
            return
    sys.exit("no signed register in the capture")


if sys.argv[1] == "replay":
    replay(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
else:
    register(sys.argv[2])
