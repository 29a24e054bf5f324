#!/usr/bin/python3
# Writes tests/unit/noise_vectors.h: Noise XX and XXpsk3 handshakes and a
# transport message made by dissononce (Debian python3-dissononce), an
# implementation independent of natkit's, from fixed keys.  check_noise
# replays them with common/noise.c and must produce the same bytes.
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.modifiers.psk import PSKPatternModifier
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.dh.x25519.private import PrivateKey
from dissononce.hash.sha256 import SHA256Hash

def key(b):
    return X25519DH().generate_keypair(PrivateKey(bytes([b]) * 32))

class FixedDH(X25519DH):
    """Its ephemeral key is fixed, so that the vectors are reproducible."""
    def __init__(self, b):
        X25519DH.__init__(self)
        self.fixed = b
    def generate_keypair(self, privatekey=None):
        if privatekey is None:
            privatekey = PrivateKey(bytes([self.fixed]) * 32)
        return X25519DH.generate_keypair(self, privatekey)

def run(psk):
    pat = XXHandshakePattern()
    if psk:
        pat = PSKPatternModifier(3).modify(pat)
    hs = [HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()),
                                        SHA256Hash()), FixedDH(b))
          for b in (2, 4)]
    prologue = b"natkit test"
    psks = [bytes([7]) * 32] if psk else None
    hs[0].initialize(pat, True, prologue, s=key(1), psks=psks)
    hs[1].initialize(pat, False, prologue, s=key(3), psks=psks)
    msgs = []
    for i, payload in enumerate([b"", b"two", b"three"]):
        w, r = hs[i % 2], hs[(i + 1) % 2]
        buf = bytearray()
        res = w.write_message(payload, buf)
        msgs.append(bytes(buf))
        out = bytearray()
        r.read_message(bytes(buf), out)
    send = res[0]  # the initiator's sending cipher
    data = send.encrypt_with_ad(b"", b"data")
    return msgs, data

def c(name, b):
    return "static const uint8_t %s[] = {%s};\n" % (
        name, ", ".join("0x%02x" % x for x in b))

out = "/* Made by noise_vectors.py with dissononce; do not edit. */\n"
for tag, psk in (("xx", False), ("psk", True)):
    msgs, data = run(psk)
    for i, m in enumerate(msgs):
        out += c("%s_msg%d" % (tag, i + 1), m)
    out += c("%s_data" % tag, data)
print(out, end="")
