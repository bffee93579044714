#!/usr/bin/env python3
"""Re-derives the op format vectors of op_codec_test.cc (OpVectorTest) without Estelik's code.

Protobuf is written by hand, DEFLATE comes from Python's zlib, BLAKE2b from hashlib and
Ed25519 / XChaCha20-Poly1305 from the system libsodium through ctypes, following
docs/FORMAT.md "Ops and envelopes". Prints, for each vector, the op bytes (hex), the op hash,
the signature and the BLAKE2b-256 of the serialized Envelope. Run: python3 derive_op_vectors.py
"""
import ctypes
import ctypes.util
import hashlib
import zlib

sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
assert sodium.sodium_init() >= 0


def varint(v):
    out = b""
    while True:
        b, v = v & 0x7F, v >> 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number, payload):  # length-delimited field
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def uint_field(number, value):  # varint field; proto3 omits zero
    return varint(number << 3) + varint(value) if value else b""


def blake2b(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def op_body(title, text):
    fields = field(1, b"kk") + field(2, title.encode()) + field(3, text.encode())
    create = field(1, b"\x01" * 16) + field(2, fields) + uint_field(3, 1323561600000)
    return field(1, create) + field(100, b"\x24" * 16)  # testimony_create, salt


def envelope(body):
    seed = bytes(range(1, 33))
    pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
    sodium.crypto_sign_seed_keypair(pk, sk, seed)
    author = pk.raw
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    deflated = deflater.compress(body) + deflater.flush()
    codec, plain = (1, deflated) if len(body) >= 64 and len(deflated) < len(body) else (0, body)
    ad = (1).to_bytes(4, "little") + author + b"\x00" + b"\x00" * 32 + (0).to_bytes(4, "little")
    ad += (1).to_bytes(8, "little")  # seq
    key, nonce = b"\xa1" * 32, b"\x24" * 24
    ct = ctypes.create_string_buffer(len(plain) + 16)
    ct_len = ctypes.c_ulonglong()
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        ct, ctypes.byref(ct_len), plain, ctypes.c_ulonglong(len(plain)), ad,
        ctypes.c_ulonglong(len(ad)), None, nonce, key)
    op = (uint_field(1, 1) + field(2, author) + uint_field(3, 1) + field(4, b"\x00" * 32) +
          field(5, uint_field(1, 1700000000000)) + field(6, b"") + field(7, nonce + ct.raw) +
          field(9, blake2b(b"estelik-body-v1\x00" + body)) + uint_field(10, codec))
    sig = ctypes.create_string_buffer(64)
    message = b"estelik-op-v1\x00" + op
    sodium.crypto_sign_detached(sig, None, message, ctypes.c_ulonglong(len(message)), sk)
    return op, sig.raw, field(1, op) + field(2, sig.raw)


VECTORS = {
    "vector (74-byte body)": op_body("Zhanaozen 2011", "test"),
    "long vector (multilingual body)": op_body(
        "Жаңаөзен, 16 желтоқсан 2011",
        "Біз алаңда тұрдық, кенеттен оқ атылды. Адамдар жан-жаққа жүгірді. "
        "Мы стояли на площади, и вдруг начали стрелять. Люди бежали во все стороны. "
        "We were standing in the square when the shooting started. People ran in every "
        "direction. Көп адам жараланды. Many were wounded."),
}

for name, body in VECTORS.items():
    op, sig, env = envelope(body)
    print(f"{name}: body {len(body)} bytes")
    print("  op bytes       ", op.hex())
    print("  op hash        ", blake2b(op).hex())
    print("  signature      ", sig.hex())
    print("  envelope digest", blake2b(env).hex())
