#!/usr/bin/env python3
"""A minimal N4 client written from n4.py's wire format, for tests.

It binds TCP and UDP to SRC_IP, so that on loopback it differs from
natclient by IP, as N4 needs.  Usage: n4peer.py PORT IDENT SRC_IP SRC_PORT
[DELAY]: a SRC_PORT other than 0 is both sockets' port, as n4.py binds
them; DELAY seconds pass between READY and the first EXCHANGE.
Prints "won IP:PORT" and exits 0 when a PUNCH from the peer arrived.
"""
import socket
import struct
import sys
import time

port, ident, src_ip, src_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0
server = ("127.0.0.1", int(port))
ident = ident.encode().ljust(6, b" ")

tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((src_ip, src_port))
tcp.settimeout(20)
tcp.connect(server)
tcp.sendall(struct.pack("!BB6s", 1, 0, ident))
ready = tcp.recv(8)
assert len(ready) == 8 and ready[0] == 2, ready
time.sleep(delay)

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((src_ip, src_port))
udp.settimeout(0.2)
tcp.settimeout(0.2)
info = b""
for _ in range(50):
    udp.sendto(struct.pack("!BB6s", 3, 0, ident), server)
    try:
        info += tcp.recv(8 - len(info))
    except socket.timeout:
        continue
    if len(info) == 8:
        break
cmd, _, ip, pport = struct.unpack("!BB4sH", info)
assert cmd == 4, info
peer = (socket.inet_ntoa(ip), pport)
punch = struct.pack("!BB6s", 5, 0, ident)
deadline = time.time() + 10
while time.time() < deadline:
    udp.sendto(punch, peer)
    try:
        data, addr = udp.recvfrom(64)
    except socket.timeout:
        continue
    if data == punch and addr[0] == peer[0]:
        for _ in range(5):
            udp.sendto(punch, addr)
        print("won %s:%d" % addr)
        sys.exit(0)
sys.exit(1)
