#!/usr/bin/env python3
"""A hostile gateway for natclient's port mapping, run on a lab router.

    fakegw.py LAN-IP garbage   answers PCP and NAT-PMP (UDP 5351) with
                               junk: random bytes, a PCP answer for another
                               nonce, one too long, one not a multiple of
                               4, a NAT-PMP answer of the wrong opcode; SSDP
                               with a LOCATION whose HTTP server sends junk
    fakegw.py LAN-IP silent    takes the requests and answers nothing; its
                               SSDP answer points to an HTTP server that
                               accepts and then never says a word

It prints one line per request it saw, so that the test can tell that
natclient did ask.  It only listens on the lab router's LAN address.
"""
import os
import random
import socket
import struct
import sys
import threading

lan, mode = sys.argv[1], sys.argv[2]
lock = threading.Lock()


def say(what):
    with lock:
        print(what, flush=True)


def pmp_junk(req):
    """Bad answers to one PCP or NAT-PMP request, in turn."""
    if req[:1] == b"\x02":  # PCP
        nonce_wrong = bytes(b ^ 0xFF for b in req[24:36])
        good_shape = bytearray(60)
        good_shape[0] = 2
        good_shape[1] = 0x80 | (req[1] & 0x7F)
        good_shape[24:36] = nonce_wrong
        return [
            os.urandom(random.randint(1, 200)),
            bytes(good_shape),          # another nonce: not ours
            bytes(good_shape) + b"\0" * 1100,  # too long
            bytes(good_shape)[:58],     # not a multiple of 4
            b"\x02\x81\x00\x00",        # a header cut short
        ]
    # NAT-PMP: the right version, an opcode nobody asked for, and junk.
    return [
        struct.pack("!BBHI", 0, 0x80 + 77, 0, 1) + os.urandom(8),
        struct.pack("!BB", 0, 0x81),
        os.urandom(random.randint(1, 64)),
    ]


def udp_pmp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((lan, 5351))
    while True:
        req, peer = s.recvfrom(2048)
        say("pmp request %d bytes from %s" % (len(req), peer[0]))
        if mode == "garbage":
            for ans in pmp_junk(req):
                s.sendto(ans, peer)


def http_server():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((lan, 0))
    srv.listen(16)
    held = []
    port = srv.getsockname()[1]

    def serve():
        while True:
            c, _ = srv.accept()
            say("http connection")
            if mode == "silent":
                held.append(c)  # accepted, never answered
                continue
            try:
                c.recv(4096)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n"
                          b"<?xml version=\"1.0\"?><root><device><serviceList>"
                          b"<service><controlURL>" + os.urandom(200)
                          + b"</root>")
            except OSError:
                pass
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    return port


def ssdp(http_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 1900))
    mreq = socket.inet_aton("239.255.255.250") + socket.inet_aton(lan)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    while True:
        req, peer = s.recvfrom(2048)
        if not req.startswith(b"M-SEARCH"):
            continue
        say("ssdp search from %s" % peer[0])
        if mode == "garbage":
            s.sendto(os.urandom(100), peer)
        st = b"urn:schemas-upnp-org:device:InternetGatewayDevice:1"
        s.sendto(b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
                 b"ST: " + st + b"\r\nUSN: uuid:fake::" + st + b"\r\n"
                 b"LOCATION: http://" + lan.encode() + b":%d/desc.xml\r\n\r\n"
                 % http_port, peer)


threading.Thread(target=udp_pmp, daemon=True).start()
port = http_server()
say("ready")
ssdp(port)
