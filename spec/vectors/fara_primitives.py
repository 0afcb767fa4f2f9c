#!/usr/bin/env python3
"""Fara's cryptographic primitives in plain Python 3.11 (standard library only).

A second, independent implementation for vector generators: it shares no code
with the TypeScript packages and does not need node. Written for clarity, not
speed, and not constant time: never use it on live secrets.

    x25519(k, u)                 RFC 7748 §5 (scalar clamped, bit 255 of u masked)
    x25519_base(k)               x25519(k, 9)
    elligator_map(r)             representative -> u (Elligator 2, Monocypher's
                                 crypto_elligator_map: non-square 2, bits 254-255 ignored)
    elligator_rev(u, tweak)      u -> representative or None (crypto_elligator_rev;
                                 tweak bit 0 picks the branch, bits 6-7 pad)
    x25519_dirty(secret)         crypto_x25519_dirty_fast: [clamp(s)]B + [s mod 8]lop
    elligator_key_pair(seed)     crypto_elligator_key_pair -> (secret, public, representative)
    chacha20_block / chacha20_keystream / chacha20_xor   RFC 8439 §2.3-2.4
    hmac_sha256(key, data)       RFC 2104 (stdlib hmac)
    hkdf_sha256(ikm, salt, info, length)                 RFC 5869
    low_order_class(r)           the observer's test: the order-8 coset of the
                                 point r decodes to (0 for obfs4's clean keys)

Elligator 2: D. J. Bernstein, M. Hamburg, A. Krasnova, T. Lange, "Elligator:
Elliptic-curve points indistinguishable from uniform random strings", ACM CCS
2013, https://elligator.cr.yp.to/ (§5); the u-coordinate map equals RFC 9380
§6.7.1 with Z = 2. The conventions (encoding, tweak, dirty keys, key pair) are
Monocypher 4.x's: https://github.com/LoupVaillant/Monocypher, src/monocypher.c
(crypto_elligator_map, crypto_elligator_rev, crypto_x25519_dirty_fast,
crypto_elligator_key_pair) and tests/gen/elligator.py. The maps here follow the
paper's formulas (Monocypher's "reference" functions), not its fast versions.

Two deliberate differences from crypto_elligator_rev, both on inputs no X25519
key pair produces: u = -A and u-coordinates of twist points return None
(Monocypher, which does not validate inputs, returns a representative of some
other point). Fara's TypeScript implementation does the same.

`python3 spec/vectors/fara_primitives.py` runs the self-test (RFC 7748, RFC 8439,
RFC 5869 and every vector in elligator2.json) and exits non-zero on failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import sys
from pathlib import Path

__all__ = [
    'x25519', 'x25519_base', 'elligator_map', 'elligator_rev', 'x25519_dirty',
    'elligator_key_pair', 'chacha20_block', 'chacha20_keystream', 'chacha20_xor',
    'hmac_sha256', 'hkdf_sha256', 'low_order_class',
]

# --- field GF(2^255 - 19) ----------------------------------------------------

P = 2**255 - 19
A = 486662                                   # Curve25519: v^2 = u^3 + A u^2 + u (RFC 7748 §4.1)
L = 2**252 + 27742317777372353535851937790883648493  # order of the prime subgroup (RFC 8032 §5.1)
D = -121665 * pow(121666, P - 2, P) % P      # edwards25519: -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1)
NON_SQUARE = 2                               # Elligator's non-square Z (Monocypher, RFC 9380 §6.7.1)


def _inv(x: int) -> int:
    return pow(x, P - 2, P)


def _is_square(x: int) -> bool:
    """Euler's criterion; 0 counts as a square."""
    return x % P == 0 or pow(x, (P - 1) // 2, P) == 1


def _is_negative(x: int) -> bool:
    """Monocypher's sign: the 'positive' elements are 0 ... (p-1)/2."""
    return x % P > (P - 1) // 2


def _abs(x: int) -> int:
    x %= P
    return P - x if _is_negative(x) else x


SQRTM1 = _abs(pow(2, (P - 1) // 4, P))
assert SQRTM1 * SQRTM1 % P == P - 1


def _sqrt(x: int) -> int:
    """The non-negative square root (p = 5 mod 8: Atkin's x^((p+3)/8), times sqrt(-1) if needed)."""
    x %= P
    r = pow(x, (P + 3) // 8, P)
    if r * r % P != x:
        r = r * SQRTM1 % P
    if r * r % P != x:
        raise ValueError('not a square')
    return _abs(r)


def _decode(b: bytes, name: str = 'input') -> int:
    if not isinstance(b, (bytes, bytearray)) or len(b) != 32:
        raise ValueError(f'{name} must be 32 bytes')
    return int.from_bytes(b, 'little')


def _encode(x: int) -> bytes:
    return (x % P).to_bytes(32, 'little')


# --- X25519 (RFC 7748 §5) ----------------------------------------------------

def _clamp(k: bytes) -> int:
    """decodeScalar25519 (RFC 7748 §5)."""
    s = bytearray(k)
    s[0] &= 248
    s[31] &= 127
    s[31] |= 64
    return int.from_bytes(s, 'little')


def x25519(k: bytes, u: bytes) -> bytes:
    """RFC 7748 §5: the Montgomery ladder, transcribed from its pseudo-code."""
    _decode(k, 'k')
    scalar = _clamp(bytes(k))
    x1 = _decode(u, 'u') & (2**255 - 1)      # decodeUCoordinate masks bit 255
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        kt = (scalar >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = x2 + z2, x2 - z2
        aa, bb = a * a, b * b
        e = aa - bb
        c, d = x3 + z3, x3 - z3
        da, cb = d * a, c * b
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + 121665 * e) % P        # a24 = (A - 2) / 4
    if swap:
        x2, z2 = x3, z3
    return _encode(x2 * pow(z2, P - 2, P))


def x25519_base(k: bytes) -> bytes:
    return x25519(k, _encode(9))


# --- edwards25519, for the dirty public keys ---------------------------------

def _ed_add(p1: tuple[int, int], p2: tuple[int, int]) -> tuple[int, int]:
    """Affine twisted Edwards addition (a = -1), complete for edwards25519."""
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * _inv(1 + t) % P, (y1 * y2 + x1 * x2) * _inv(1 - t) % P)


_E_PROJ = tuple[int, int, int, int]


def _ed_add_proj(p1: _E_PROJ, p2: _E_PROJ) -> _E_PROJ:
    """Extended coordinates (X:Y:Z:T), "add-2008-hwcd-3" (RFC 8032 §5.1.4)."""
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * D * t1 * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _ed_mul(s: int, pt: tuple[int, int]) -> tuple[int, int]:
    x, y = pt
    q: _E_PROJ = (0, 1, 1, 0)
    b: _E_PROJ = (x, y, 1, x * y % P)
    while s > 0:
        if s & 1:
            q = _ed_add_proj(q, b)
        b = _ed_add_proj(b, b)
        s >>= 1
    zi = _inv(q[2])
    return (q[0] * zi % P, q[1] * zi % P)


ED_BASE_Y = 4 * _inv(5) % P                  # RFC 8032 §5.1: B = (x, 4/5), x positive
ED_BASE = (_sqrt((ED_BASE_Y**2 - 1) * _inv(D * ED_BASE_Y**2 + 1)), ED_BASE_Y)

# Monocypher's point of order 8 (src/monocypher.c, comment above select_lop;
# tests/gen/elligator_scalarmult.py): lop_x = sqrt((sqrt(d + 1) + 1) / d),
# lop_y = -lop_x * sqrt(-1), square roots taken non-negative.
_LOP_X = _sqrt((_sqrt(D + 1) + 1) * _inv(D))
LOW_ORDER = [(0, 1)]
for _ in range(7):
    LOW_ORDER.append(_ed_add(LOW_ORDER[-1], (_LOP_X, -_LOP_X * SQRTM1 % P)))
assert _ed_add(LOW_ORDER[7], LOW_ORDER[1]) == (0, 1) and LOW_ORDER[4] == (0, P - 1)


def x25519_dirty(secret: bytes) -> bytes:
    """crypto_x25519_dirty_fast: u of [clamp(s)]B + [s[0] mod 8]lop.

    X25519 clamps the scalar to a multiple of 8, which removes the low-order
    term, so the key agrees with the clean x25519_base(secret) in every DH."""
    if len(secret) != 32:
        raise ValueError('secret must be 32 bytes')
    x, y = _ed_add(_ed_mul(_clamp(secret), ED_BASE), LOW_ORDER[secret[0] & 7])
    return _encode((1 + y) * _inv(1 - y))    # RFC 7748 §4.1: u = (1 + y) / (1 - y)


# --- Elligator 2 ---------------------------------------------------------------

def elligator_map(representative: bytes) -> bytes:
    """Representative -> u. Paper §5.2 with u = w / v renamed: w = -A / (1 + 2 r^2);
    e = chi(w^3 + A w^2 + w); u = w if e = 1 else -w - A. Bits 254 and 255 are padding."""
    r = _decode(representative, 'representative') & (2**254 - 1)
    w = -A * _inv(1 + NON_SQUARE * r * r) % P
    return _encode(w if _is_square(w**3 + A * w * w + w) else -w - A)


def _elligator_map_v(representative: bytes) -> tuple[int, int]:
    """The full point (u, v) of the paper's map: v = -e sqrt(u^3 + A u^2 + u).
    The v sign is what an observer sees of the low-order component."""
    r = _decode(representative) & (2**254 - 1)
    w = -A * _inv(1 + NON_SQUARE * r * r) % P
    gw = (w**3 + A * w * w + w) % P
    e = 0 if gw == 0 else (1 if _is_square(gw) else -1)
    u = w if e == 1 else (-w - A) % P
    return u, -e * _sqrt(u**3 + A * u * u + u) % P


def _on_curve(u: int) -> bool:
    return _is_square(u**3 + A * u * u + u)


def elligator_rev(public_key: bytes, tweak: int) -> bytes | None:
    """u -> representative, or None when u has none (paper §5.3: u != -A and
    -2 u (u + A) a square; here also: u on the curve, not its twist).
    r = sqrt(-u / (2 (u + A))) if tweak bit 0 is 0 (v non-negative), else
    sqrt(-(u + A) / (2 u)); bits 6-7 of tweak become bits 254-255 of r."""
    u = (_decode(public_key, 'public_key') & (2**255 - 1)) % P   # as fe_frombytes
    if (u + A) % P == 0 or not _is_square(-NON_SQUARE * u * (u + A)) or not _on_curve(u):
        return None
    if u == 0:
        r = 0
    elif tweak & 1:
        r = _sqrt(-(u + A) * _inv(NON_SQUARE * u))
    else:
        r = _sqrt(-u * _inv(NON_SQUARE * (u + A)))
    out = bytearray(_encode(r))
    out[31] |= tweak & 0xC0
    return bytes(out)


def elligator_key_pair(seed: bytes) -> tuple[bytes, bytes, bytes]:
    """crypto_elligator_key_pair: buf = ChaCha20(key = seed, nonce = 0, counter = 0)[0:64];
    secret = buf[0:32]; if the dirty public key has a representative, tweak = buf[32];
    otherwise seed = buf[32:64] and again. Returns (secret, public_key, representative)."""
    if len(seed) != 32:
        raise ValueError('seed must be 32 bytes')
    while True:
        buf = chacha20_keystream(bytes(seed), bytes(12), 64)
        secret, seed = buf[:32], buf[32:]
        public_key = x25519_dirty(secret)
        representative = elligator_rev(public_key, seed[0])
        if representative is not None:
            return secret, public_key, representative


def low_order_class(representative: bytes) -> int:
    """k in 0..7 such that the point the representative decodes to (with its v)
    is a prime-order point plus [k]lop. Always 0 for a clean X25519 key's
    representative (the obfs4 flaw): the test an observer can run."""
    u, v = _elligator_map_v(representative)
    if u == 0:
        return 4
    # Montgomery (u, v) -> Edwards (x, y) = (sqrt(-486664) u / v, (u - 1) / (u + 1)) (RFC 7748 §4.1).
    # The other root of -486664 would give -k: the same classes, the same uniformity.
    pt = (_sqrt(-486664) * u * _inv(v) % P, (u - 1) * _inv(u + 1) % P)
    return LOW_ORDER.index(_ed_mul(L, pt)) * 5 % 8   # [L]([k]lop) = [5k]lop, 5 * 5 = 1 mod 8


# --- ChaCha20 (RFC 8439 §2.3-2.4) ----------------------------------------------

def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    if len(key) != 32 or len(nonce) != 12:
        raise ValueError('ChaCha20 wants a 32-byte key and a 12-byte nonce')
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574,
             *struct.unpack('<8I', key), counter & 0xFFFFFFFF, *struct.unpack('<3I', nonce)]
    x = list(state)

    def qr(a: int, b: int, c: int, d: int) -> None:
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = _rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack('<16I', *((a + b) & 0xFFFFFFFF for a, b in zip(x, state)))


def chacha20_keystream(key: bytes, nonce: bytes, length: int, counter: int = 0) -> bytes:
    blocks = (length + 63) // 64
    if counter + blocks > 2**32:
        raise ValueError('ChaCha20 block counter would wrap')
    return b''.join(chacha20_block(key, counter + i, nonce) for i in range(blocks))[:length]


def chacha20_xor(key: bytes, nonce: bytes, data: bytes, counter: int = 0) -> bytes:
    stream = chacha20_keystream(key, nonce, len(data), counter)
    return bytes(a ^ b for a, b in zip(data, stream))


# --- HMAC / HKDF (RFC 2104, RFC 5869) ------------------------------------------

def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    if not 0 <= length <= 255 * 32:
        raise ValueError('HKDF-SHA-256 length must be 0..8160')
    prk = hmac_sha256(salt if salt else bytes(32), ikm)   # RFC 5869 §2.2: empty salt = HashLen zeros
    okm, t = b'', b''
    for i in range(1, -(-length // 32) + 1):
        t = hmac_sha256(prk, t + info + bytes([i]))
        okm += t
    return okm[:length]


# --- self-test -------------------------------------------------------------------

def _self_test() -> list[str]:
    failures: list[str] = []
    h = bytes.fromhex

    def check(name: str, ok: bool) -> None:
        if not ok:
            failures.append(name)

    # RFC 7748 §5.2 (two vectors, the iterated test to 1000) and §6.1.
    check('RFC 7748 5.2 #1', x25519(h('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
                                    h('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'))
          == h('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'))
    check('RFC 7748 5.2 #2', x25519(h('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
                                    h('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'))
          == h('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'))
    k = u = _encode(9)
    for i in range(1, 1001):
        k, u = x25519(k, u), k
        if i == 1:
            check('RFC 7748 5.2 iterated x1', k == h('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079'))
    check('RFC 7748 5.2 iterated x1000', k == h('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51'))
    alice = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    bob = h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    check('RFC 7748 6.1 public', x25519_base(alice) == h('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'))
    check('RFC 7748 6.1 shared', x25519(alice, x25519_base(bob)) ==
          h('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'))

    # RFC 8439 §2.4.2.
    sunscreen = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip"
                 b" for the future, sunscreen would be it.")
    check('RFC 8439 2.4.2', chacha20_xor(bytes(range(32)), h('000000000000004a00000000'), sunscreen, 1) == h(
        '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b357'
        '1639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736'
        '5af90bbf74a35be6b40b8eedf2785e42874d'))

    # RFC 5869 Appendix A.1 (test case 1).
    check('RFC 5869 A.1', hkdf_sha256(b'\x0b' * 22, h('000102030405060708090a0b0c'), h('f0f1f2f3f4f5f6f7f8f9'), 42)
          == h('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'))
    # RFC 4231 §4.2 (HMAC-SHA-256 test case 1).
    check('RFC 4231 4.2', hmac_sha256(b'\x0b' * 20, b'Hi There') ==
          h('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'))

    # Monocypher's vectors, as copied into elligator2.json.
    vectors = json.loads((Path(__file__).parent / 'elligator2.json').read_text())
    for i, v in enumerate(vectors['map']):
        check(f'map[{i}]', elligator_map(h(v['representative'])) == h(v['u']))
    for i, v in enumerate(vectors['rev']):
        want = None if v['representative'] is None else h(v['representative'])
        got = elligator_rev(h(v['u']), v['tweak'])
        check(f'rev[{i}]', got == want)
        if got is not None:
            check(f'rev[{i}] round trip', elligator_map(got) == _encode(_decode(h(v['u'])) & (2**255 - 1)))
    for i, v in enumerate(vectors['dirty']):
        check(f'dirty[{i}]', x25519_dirty(h(v['secretKey'])) == h(v['publicKey']))
        check(f'dirty[{i}] clean', x25519_base(h(v['secretKey'])) == h(v['cleanPublicKey']))
    for i, v in enumerate(vectors['keyPair']):
        got = elligator_key_pair(h(v['seed']))
        check(f'keyPair[{i}]', got == (h(v['secretKey']), h(v['publicKey']), h(v['representative'])))
        peer = hashlib.sha256(b'peer %d' % i).digest()
        check(f'keyPair[{i}] DH', x25519(peer, got[1]) == x25519(got[0], x25519_base(peer)))

    # The dirty keys cover all 8 low-order classes; clean keys only class 0.
    classes = {low_order_class(elligator_key_pair(bytes([i]) * 32)[2]) for i in range(48)}
    check('dirty keys reach all 8 low-order classes', classes == set(range(8)))
    clean = set()
    for i in range(16):
        secret = hashlib.sha256(b'clean %d' % i).digest()
        r = elligator_rev(x25519_base(secret), i)
        if r is not None:
            clean.add(low_order_class(r))
    check('clean keys stay in class 0', clean == {0})
    return failures


if __name__ == '__main__':
    failed = _self_test()
    for name in failed:
        print(f'FAIL {name}', file=sys.stderr)
    print('fara_primitives self-test:', 'FAILED' if failed else 'ok')
    sys.exit(1 if failed else 0)
