#!/usr/bin/env python3
"""Test vectors of the unobservable layer (spec/unobservable.md).

Written from the text of spec/unobservable.md, not from the TypeScript: X25519,
Elligator 2, ChaCha20, HKDF and HMAC come from fara_primitives.py (pure Python,
stdlib only, self-tested against RFC 7748, RFC 8439, RFC 5869 and Monocypher's
vectors), and the listener's static key is computed as X25519 of the RFC 8032
secret scalar, not through an Ed25519 implementation.

  python3 spec/vectors/generate-unobservable.py           # writes unobservable.json
  python3 spec/vectors/generate-unobservable.py --check   # exits 1 if it differs
"""
import hashlib
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fara_primitives import (  # noqa: E402
    chacha20_keystream, elligator_key_pair, elligator_map, hkdf_sha256, hmac_sha256, x25519, x25519_base,
)

NS_WIRE = b'fara/unobservable/v1'
REKEY_BYTES = 2**36
MAX_FRAME_BODY = 0x3FFF
TYPE_PADDING = 1 << 14
TYPE_SWITCH = 2 << 14
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'unobservable.json')


def seed(label: str) -> bytes:
    return hashlib.sha256(b'fara/unobservable/v1 vectors/' + label.encode()).digest()


def data(label: str, n: int) -> bytes:
    out = b''
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f'{label}/{i}'.encode()).digest()
        i += 1
    return out[:n]


def derive(ikm: bytes, info: bytes) -> tuple[bytes, bytes, bytes]:
    """§ Keys: HKDF-SHA256, salt NS_WIRE, 76 bytes = key 32 ‖ nonce 12 ‖ mac key 32."""
    okm = hkdf_sha256(ikm, NS_WIRE, info, 76)
    return okm[:32], okm[32:44], okm[44:76]


def mac(key: bytes, *parts: bytes) -> bytes:
    return hmac_sha256(key, b''.join(parts))[:16]


class KeyStream:
    """§ Keys: one ChaCha20 keystream per direction, ratcheted every REKEY_BYTES."""

    def __init__(self, key: bytes, nonce: bytes, rekey: int = REKEY_BYTES) -> None:
        self.key, self.nonce, self.rekey, self.pos = key, nonce, rekey, 0

    def xor(self, plain: bytes) -> bytes:
        out = bytearray()
        while plain:
            n = min(len(plain), self.rekey - self.pos)
            first = self.pos // 64
            skip = self.pos % 64
            ks = chacha20_keystream(self.key, self.nonce, skip + n, first)[skip:]
            out += bytes(a ^ b for a, b in zip(plain[:n], ks))
            plain = plain[n:]
            self.pos += n
            if self.pos == self.rekey:
                self.key = hmac_sha256(self.key, NS_WIRE + b'/rekey')
                self.pos = 0
        return bytes(out)


def frames(stream: KeyStream, payload: bytes, padding: int | None, switch: bool = False) -> bytes:
    """§ Frames: header u16 (bits 15-14 type, bits 13-0 length) ‖ body, all encrypted;
    data frames, then a padding frame if asked, then a SWITCH frame (no body) if asked."""
    plain = b''
    for at in range(0, len(payload), MAX_FRAME_BODY):
        body = payload[at:at + MAX_FRAME_BODY]
        plain += struct.pack('>H', len(body)) + body
    if padding is not None:
        plain += struct.pack('>H', TYPE_PADDING | padding) + bytes(padding)
    if switch:
        plain += struct.pack('>H', TYPE_SWITCH)
    return stream.xor(plain)


def length_stream(key: bytes, nonce: bytes, rekey: int) -> KeyStream:
    """§ Passthrough: the length keystream, ChaCha20 under HMAC-SHA256(key, NS_WIRE/lengths)."""
    return KeyStream(hmac_sha256(key, NS_WIRE + b'/lengths'), nonce, rekey)


def passthrough(lengths: KeyStream, message: bytes) -> bytes:
    """§ Passthrough: a libp2p-noise message (u16 length ‖ ciphertext) with its length masked."""
    return lengths.xor(struct.pack('>H', len(message))) + message


def case(name: str, time: int, client_padding: int, server_padding: int,
         c2s: list[tuple[bytes, int | None]], s2c: list[tuple[bytes, int | None]], rekey: int = REKEY_BYTES,
         passthrough_messages: list[bytes] | None = None) -> dict:
    listener_seed = seed(f'{name}/listener')
    b = hashlib.sha512(listener_seed).digest()[:32]        # RFC 8032 §5.1.5: the secret scalar (clamped by X25519)
    big_b = x25519_base(b)                                  # = the birational image of the Ed25519 public key
    x_seed, y_seed = seed(f'{name}/x'), seed(f'{name}/y')
    x, big_x, r_x = elligator_key_pair(x_seed)
    y, big_y, r_y = elligator_key_pair(y_seed)
    assert elligator_map(r_x) == big_x and elligator_map(r_y) == big_y

    # § Hellos: the initiator
    es = x25519(x, big_b)
    assert es == x25519(b, elligator_map(r_x))
    c_key, c_nonce, c_mac = derive(es, NS_WIRE + b'/c2s' + big_b + r_x)
    c_stream = KeyStream(c_key, c_nonce, rekey)
    c_ct = c_stream.xor(struct.pack('>QH', time, client_padding) + bytes(client_padding))
    mac_c = mac(c_mac, r_x, c_ct)
    client_hello = r_x + c_ct + mac_c

    # § Hellos: the listener
    ee = x25519(y, big_x)
    assert ee == x25519(x, elligator_map(r_y))
    s_key, s_nonce, s_mac = derive(es + ee, NS_WIRE + b'/s2c' + big_b + r_x + r_y)
    s_stream = KeyStream(s_key, s_nonce, rekey)
    s_ct = s_stream.xor(struct.pack('>H', server_padding) + bytes(server_padding))
    server_hello = r_y + s_ct + mac(s_mac, mac_c, r_y, s_ct)

    def writes(stream: KeyStream, ws: list[tuple[bytes, int | None]], switch: bool = False) -> list[dict]:
        out = [{'data': d.hex(), 'padding': p, 'switch': False, 'wire': frames(stream, d, p).hex()} for d, p in ws]
        if switch:
            out.append({'data': '', 'padding': None, 'switch': True, 'wire': frames(stream, b'', None, True).hex()})
        return out

    c_writes = writes(c_stream, c2s, passthrough_messages is not None)
    c_lengths = length_stream(c_key, c_nonce, rekey)
    c_passthrough = [{'message': m.hex(), 'wire': passthrough(c_lengths, m).hex()} for m in passthrough_messages or []]

    return {
        'name': name,
        'listenerSeed': listener_seed.hex(),
        'listenerPublic': big_b.hex(),
        'initiatorSeed': x_seed.hex(),
        'initiatorSecret': x.hex(),
        'initiatorPublic': big_x.hex(),
        'rx': r_x.hex(),
        'listenerEphemeralSeed': y_seed.hex(),
        'listenerEphemeralSecret': y.hex(),
        'ry': r_y.hex(),
        'time': time,
        'clientPadding': client_padding,
        'serverPadding': server_padding,
        'rekeyBytes': rekey,
        'es': es.hex(),
        'ee': ee.hex(),
        'c2s': {'key': c_key.hex(), 'nonce': c_nonce.hex(), 'macKey': c_mac.hex()},
        's2c': {'key': s_key.hex(), 'nonce': s_nonce.hex(), 'macKey': s_mac.hex()},
        'clientHello': client_hello.hex(),
        'serverHello': server_hello.hex(),
        'c2sWrites': c_writes,
        'c2sPassthrough': c_passthrough,
        's2cWrites': writes(s_stream, s2c),
    }


def vectors() -> dict:
    ms = b'\x13/multistream/1.0.0\n\x07/noise\n'
    return {
        'description': 'Vectors of the unobservable layer, spec/unobservable.md. Byte strings in hex.',
        'generator': 'spec/vectors/generate-unobservable.py (pure Python, from the spec text)',
        'cases': [
            case('no padding', 1_765_000_000_000, 0, 0, [(ms, None)], [(ms, None)]),
            case('padded handshake', 1_765_000_123_456, 37, 200,
                 [(ms + data('noise1', 32), 3), (data('noise3', 120), 255)],
                 [(ms + data('noise2', 200), 0), (b'', 17)]),
            case('large write', 1_765_001_000_000, 511, 511,
                 [(data('bulk', 33_000), None)], [(data('reply', 5), 255)]),
            case('rekey every 100 bytes', 1_765_002_000_000, 60, 90,
                 [(data('a', 150), 10), (data('b', 300), None)], [(data('c', 250), None)], rekey=100),
            case('switch to passthrough', 1_765_003_000_000, 12, 34,
                 [(ms + data('noise1', 32), 7), (data('noise3', 120), None)], [(data('noise2', 200), 5)],
                 passthrough_messages=[data('t1', 1000), data('t2', 16), b'', data('t3', 1500)]),
        ],
    }


def main() -> int:
    text = json.dumps(vectors(), indent=2) + '\n'
    if '--check' in sys.argv:
        with open(OUT, encoding='utf8') as f:
            if f.read() != text:
                print(f'{OUT} differs from what the generator makes; run it without --check', file=sys.stderr)
                return 1
        print(f'{os.path.basename(OUT)}: up to date')
        return 0
    with open(OUT, 'w', encoding='utf8') as f:
        f.write(text)
    print(f'wrote {OUT}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
