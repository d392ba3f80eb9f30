"""OpenSSH signatures (SSHSIG, OpenSSH's PROTOCOL.sshsig) checked in-process.

Owns the SSH wire format of public keys and signatures, the ``BEGIN SSH SIGNATURE``
armour and the verification of a signature over a message for a namespace, as
``ssh-keygen -Y check-novalidate`` does it, without ``ssh-keygen``, a private key or an
agent.  Key types: ``ssh-ed25519``, ``ecdsa-sha2-nistp256/384/521``, ``ssh-rsa`` (signature
algorithms ``rsa-sha2-256`` and ``rsa-sha2-512`` only, as OpenSSH), and the FIDO security-key
types ``sk-ssh-ed25519@openssh.com`` and ``sk-ecdsa-sha2-nistp256@openssh.com``.  Message
hashes ``sha256`` and ``sha512`` only, as OpenSSH.  Certificates are not supported.

The cryptography is ``cryptography``'s; it is imported only when a key is loaded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
HASHES = ("sha256", "sha512")

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
ECDSA = {
    "ecdsa-sha2-nistp256": ("nistp256", "SECP256R1", "SHA256"),
    "ecdsa-sha2-nistp384": ("nistp384", "SECP384R1", "SHA384"),
    "ecdsa-sha2-nistp521": ("nistp521", "SECP521R1", "SHA512"),
}
KEY_TYPES = (ED25519, RSA, *ECDSA, SK_ED25519, SK_ECDSA)
RSA_SIGNATURES = {"rsa-sha2-256": "SHA256", "rsa-sha2-512": "SHA512"}
RSA_MIN_BITS = 1024  # OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE


class SignatureError(ValueError):
    """A signature or key that is malformed, unsupported or does not verify."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise SignatureError("truncated data")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.u32())

    def text(self) -> str:
        try:
            return self.string().decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError("a name that is not UTF-8") from None

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise SignatureError("a negative integer")
        return int.from_bytes(raw, "big")

    def done(self) -> None:
        if self.pos != len(self.data):
            raise SignatureError("trailing data")


def _string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


@dataclass(frozen=True)
class PublicKey:
    """An SSH public key: its type and its wire encoding (which identifies it)."""

    algo: str
    blob: bytes

    @property
    def fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def openssh(self) -> str:
        return f"{self.algo} {base64.b64encode(self.blob).decode('ascii')}"


def key_from_blob(blob: bytes) -> PublicKey:
    """Parse and check a public key's wire encoding (SignatureError when unusable)."""
    r = _Reader(blob)
    algo = r.text()
    if algo.endswith("-cert-v01@openssh.com"):
        raise SignatureError(f"certificate keys ({algo}) are not supported")
    if algo not in KEY_TYPES:
        raise SignatureError(f"unsupported key type {algo!r}")
    key = PublicKey(algo, blob)
    _fields(key)  # structure and the key material itself
    return key


def parse_public_key(text: str) -> PublicKey:
    """``TYPE BASE64 [comment]`` (a ``.pub`` line) -> PublicKey; SignatureError if unusable."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2:
        raise SignatureError("not a public key (expected 'TYPE BASE64-KEY')")
    algo = parts[0]
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the key is not valid base64") from None
    key = key_from_blob(blob)
    if key.algo != algo:
        raise SignatureError(f"the key says {key.algo!r} inside but {algo!r} outside")
    return key


def _fields(key: PublicKey) -> tuple[Any, bytes | None]:
    """The ``cryptography`` key object and, for a security key, its application."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    r = _Reader(key.blob)
    r.text()
    app: bytes | None = None
    try:
        if key.algo in (ED25519, SK_ED25519):
            raw = r.string()
            if len(raw) != 32:
                raise SignatureError("an ed25519 key must be 32 bytes")
            obj: Any = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        elif key.algo == RSA:
            e, n = r.mpint(), r.mpint()
            if n.bit_length() < RSA_MIN_BITS:
                raise SignatureError(f"RSA keys under {RSA_MIN_BITS} bits are refused")
            obj = rsa.RSAPublicNumbers(e, n).public_key()
        else:
            plain = "ecdsa-sha2-nistp256" if key.algo == SK_ECDSA else key.algo
            curve_name, curve_cls, _ = ECDSA[plain]
            if r.text() != curve_name:
                raise SignatureError("the key's curve does not match its type")
            curve = getattr(ec, curve_cls)()
            obj = ec.EllipticCurvePublicKey.from_encoded_point(curve, r.string())
        if key.algo in (SK_ED25519, SK_ECDSA):
            app = r.string()
        r.done()
    except SignatureError:
        raise
    except ValueError as e:  # cryptography's: a point off the curve, a bad exponent
        raise SignatureError(f"invalid key material ({e})") from None
    return obj, app


def armor(blob: bytes) -> str:
    """The armoured text, as ``ssh-keygen -Y sign`` writes it (76-column lines)."""
    b64 = base64.b64encode(blob).decode("ascii")
    lines = [b64[i : i + 76] for i in range(0, len(b64), 76)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def dearmor(text: str) -> bytes:
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise SignatureError("not an armoured SSH signature (BEGIN/END SSH SIGNATURE)")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not valid base64") from None


@dataclass(frozen=True)
class Signature:
    """A parsed SSHSIG blob."""

    key: PublicKey
    namespace: str
    hash_alg: str
    signature: bytes


def parse_signature(armored: str) -> Signature:
    r = _Reader(dearmor(armored))
    if r.take(len(MAGIC)) != MAGIC:
        raise SignatureError("not an SSHSIG signature (bad magic)")
    version = r.u32()
    if version != VERSION:
        raise SignatureError(f"SSHSIG version {version} is not supported")
    key = key_from_blob(r.string())
    namespace = r.text()
    r.string()  # reserved
    hash_alg = r.text()
    sig = r.string()
    r.done()
    return Signature(key, namespace, hash_alg, sig)


def signed_data(namespace: str, hash_alg: str, message: bytes) -> bytes:
    """What the key signs: the SSHSIG wrapper around the message's hash."""
    digest = hashlib.new(hash_alg, message).digest()
    return (
        MAGIC
        + _string(namespace.encode("utf-8"))
        + _string(b"")
        + _string(hash_alg.encode("ascii"))
        + _string(digest)
    )


def verify(armored: str, message: bytes, namespace: str) -> PublicKey:
    """The key that made ``armored`` over ``message`` for ``namespace``.

    SignatureError (with the reason) when the signature is malformed, made for another
    namespace, uses an algorithm OpenSSH would refuse, or does not match the message."""
    sig = parse_signature(armored)
    if sig.namespace != namespace:
        raise SignatureError(f"made for namespace {sig.namespace!r}, not {namespace!r}")
    if sig.hash_alg not in HASHES:
        raise SignatureError(f"hash algorithm {sig.hash_alg!r} is not allowed (sha256, sha512)")
    _verify_raw(sig.key, sig.signature, signed_data(namespace, sig.hash_alg, message))
    return sig.key


def _verify_raw(key: PublicKey, sig: bytes, data: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    obj, app = _fields(key)
    r = _Reader(sig)
    sig_type = r.text()
    try:
        if key.algo == ED25519:
            if sig_type != ED25519:
                raise SignatureError(f"signature type {sig_type!r} for an {key.algo} key")
            raw = r.string()
            r.done()
            obj.verify(raw, data)
        elif key.algo == RSA:
            if sig_type not in RSA_SIGNATURES:
                raise SignatureError(
                    f"RSA signature algorithm {sig_type!r} is not allowed (rsa-sha2-256/512)"
                )
            raw = r.string()
            r.done()
            size = (obj.key_size + 7) // 8
            if len(raw) > size:
                raise SignatureError("RSA signature longer than the key")
            raw = raw.rjust(size, b"\0")  # OpenSSH pads a short one the same way
            obj.verify(raw, data, padding.PKCS1v15(), getattr(hashes, RSA_SIGNATURES[sig_type])())
        elif key.algo in ECDSA:
            if sig_type != key.algo:
                raise SignatureError(f"signature type {sig_type!r} for an {key.algo} key")
            inner = _Reader(r.string())
            rs = encode_dss_signature(inner.mpint(), inner.mpint())
            inner.done()
            r.done()
            obj.verify(rs, data, ec.ECDSA(getattr(hashes, ECDSA[key.algo][2])()))
        else:  # FIDO security keys (OpenSSH's PROTOCOL.u2f)
            if sig_type != key.algo:
                raise SignatureError(f"signature type {sig_type!r} for an {key.algo} key")
            if key.algo == SK_ED25519:
                raw = r.string()
            else:
                inner = _Reader(r.string())
                raw = encode_dss_signature(inner.mpint(), inner.mpint())
                inner.done()
            flags, counter = r.u8(), r.u32()
            r.done()
            signed = (
                hashlib.sha256(app or b"").digest()
                + bytes([flags])
                + struct.pack(">I", counter)
                + hashlib.sha256(data).digest()
            )
            if key.algo == SK_ED25519:
                obj.verify(raw, signed)
            else:
                obj.verify(raw, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError("the signature does not match the signed statement") from None
    except SignatureError:
        raise
    except ValueError as e:
        raise SignatureError(f"malformed signature ({e})") from None
