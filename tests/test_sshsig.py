"""``sshsig`` and ``signers`` against OpenSSH itself: what ``ssh-keygen`` accepts we accept,
what it refuses we refuse.

Signatures come from ``ssh-keygen -Y sign`` with real keys of every type; the ones
``ssh-keygen`` cannot make here (``rsa-sha2-256``, legacy ``ssh-rsa``, FIDO ``sk-`` keys,
which need a token to sign) are assembled in the test from the key's private half and then
shown to ``ssh-keygen -Y check-novalidate`` first, so they are real OpenSSH signatures and
not only our own reading of the format.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from schemactl import sshsig
from schemactl.signers import SignersFileError, match_list, parse
from signing_util import NS, openssh_accepts, openssh_verifies, ssh_keygen

MESSAGE = b"schemactl-approval-statement: 1\nmigration: x\n"


def string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def mpint(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if raw and raw[0] & 0x80:
        raw = b"\0" + raw
    return string(raw)


def sshsig_blob(pub: bytes, sig: bytes, hash_alg: str = "sha512", namespace: str = NS) -> str:
    body = (
        b"SSHSIG" + struct.pack(">I", 1) + string(pub) + string(namespace.encode()) + string(b"")
        + string(hash_alg.encode()) + string(sig)
    )  # fmt: skip
    return sshsig.armor(body)


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sshsig-keys")
    exe = ssh_keygen()
    for name, kind in {
        "ed25519": ["-t", "ed25519"],
        "p256": ["-t", "ecdsa", "-b", "256"],
        "p384": ["-t", "ecdsa", "-b", "384"],
        "p521": ["-t", "ecdsa", "-b", "521"],
        "rsa": ["-t", "rsa", "-b", "2048"],
    }.items():
        subprocess.run([exe, "-q", *kind, "-N", "", "-f", str(d / name)], check=True)
    return d


def keygen_sign(keydir: Path, name: str, tmp: Path, *opts: str, namespace: str = NS) -> str:
    msg = tmp / "m"
    msg.write_bytes(MESSAGE)
    Path(str(msg) + ".sig").unlink(missing_ok=True)
    subprocess.run(
        [ssh_keygen(), "-Y", "sign", "-n", namespace, *opts, "-f", str(keydir / name), str(msg)],
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return Path(str(msg) + ".sig").read_text()


@pytest.mark.parametrize("name", ["ed25519", "p256", "p384", "p521", "rsa"])
@pytest.mark.parametrize("hashalg", ["sha512", "sha256"])
def test_real_signatures_of_every_key_type_verify(
    keydir: Path, tmp_path: Path, name: str, hashalg: str
) -> None:
    armored = keygen_sign(keydir, name, tmp_path, "-O", f"hashalg={hashalg}")
    key = sshsig.verify(armored, MESSAGE, NS)
    pub = sshsig.parse_public_key((keydir / f"{name}.pub").read_text())
    assert key == pub
    fp = subprocess.run(
        [ssh_keygen(), "-l", "-E", "sha256", "-f", str(keydir / f"{name}.pub")],
        capture_output=True, text=True, check=True,
    ).stdout.split()[1]  # fmt: skip
    assert key.fingerprint == fp
    assert sshsig.parse_signature(armored).hash_alg == hashalg
    for other in (MESSAGE + b" ", MESSAGE[:-1], b""):
        with pytest.raises(sshsig.SignatureError, match="does not match the signed statement"):
            sshsig.verify(armored, other, NS)
    with pytest.raises(sshsig.SignatureError, match="made for namespace 'schemactl-approval'"):
        sshsig.verify(armored, MESSAGE, "git")


def test_git_namespace_signature_is_refused(keydir: Path, tmp_path: Path) -> None:
    armored = keygen_sign(keydir, "ed25519", tmp_path, namespace="git")
    assert openssh_accepts(armored, MESSAGE, tmp_path, namespace="git")
    with pytest.raises(sshsig.SignatureError, match="made for namespace 'git', not"):
        sshsig.verify(armored, MESSAGE, NS)


def _rsa(keydir: Path) -> tuple[bytes, object]:
    priv = serialization.load_ssh_private_key((keydir / "rsa").read_bytes(), None)
    pub = sshsig.parse_public_key((keydir / "rsa.pub").read_text())
    return pub.blob, priv


@pytest.mark.parametrize("alg", ["rsa-sha2-256", "rsa-sha2-512"])
def test_rsa_sha2_signatures_verify_as_openssh_says(keydir: Path, tmp_path: Path, alg: str) -> None:
    pub, priv = _rsa(keydir)
    h = hashes.SHA256() if alg == "rsa-sha2-256" else hashes.SHA512()
    raw = priv.sign(sshsig.signed_data(NS, "sha512", MESSAGE), padding.PKCS1v15(), h)  # type: ignore[attr-defined]
    armored = sshsig_blob(pub, string(alg.encode()) + string(raw))
    assert openssh_accepts(armored, MESSAGE, tmp_path)
    assert sshsig.verify(armored, MESSAGE, NS).blob == pub


def test_legacy_ssh_rsa_sha1_signature_is_refused_like_openssh(
    keydir: Path, tmp_path: Path
) -> None:
    pub, priv = _rsa(keydir)
    raw = priv.sign(sshsig.signed_data(NS, "sha512", MESSAGE), padding.PKCS1v15(), hashes.SHA1())  # type: ignore[attr-defined]
    armored = sshsig_blob(pub, string(b"ssh-rsa") + string(raw))
    assert not openssh_accepts(armored, MESSAGE, tmp_path)
    with pytest.raises(sshsig.SignatureError, match="'ssh-rsa' is not allowed"):
        sshsig.verify(armored, MESSAGE, NS)


def test_weak_message_hash_is_refused_like_openssh(tmp_path: Path) -> None:
    priv = ed25519.Ed25519PrivateKey.generate()
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pub = string(b"ssh-ed25519") + string(raw)
    digest = hashlib.sha1(MESSAGE).digest()
    signed = b"SSHSIG" + string(NS.encode()) + string(b"") + string(b"sha1") + string(digest)
    armored = sshsig_blob(pub, string(b"ssh-ed25519") + string(priv.sign(signed)), "sha1")
    assert not openssh_accepts(armored, MESSAGE, tmp_path)
    with pytest.raises(sshsig.SignatureError, match="hash algorithm 'sha1' is not allowed"):
        sshsig.verify(armored, MESSAGE, NS)


def _sk_message(app: bytes, flags: int, counter: int, data: bytes) -> bytes:
    return (
        hashlib.sha256(app).digest() + bytes([flags]) + struct.pack(">I", counter)
        + hashlib.sha256(data).digest()
    )  # fmt: skip


def test_fido_sk_ed25519_signature_verifies_as_openssh_says(tmp_path: Path) -> None:
    priv = ed25519.Ed25519PrivateKey.generate()
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    app, kind = b"ssh:", b"sk-ssh-ed25519@openssh.com"
    pub = string(kind) + string(raw) + string(app)
    data = sshsig.signed_data(NS, "sha512", MESSAGE)
    sig = priv.sign(_sk_message(app, 0x01, 7, data))
    armored = sshsig_blob(pub, string(kind) + string(sig) + bytes([0x01]) + struct.pack(">I", 7))
    assert openssh_accepts(armored, MESSAGE, tmp_path)
    key = sshsig.verify(armored, MESSAGE, NS)
    assert key.algo == "sk-ssh-ed25519@openssh.com"
    # the counter is signed: changing it breaks the signature
    forged = sshsig_blob(pub, string(kind) + string(sig) + bytes([0x01]) + struct.pack(">I", 8))
    assert not openssh_accepts(forged, MESSAGE, tmp_path)
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(forged, MESSAGE, NS)


def test_fido_sk_ecdsa_signature_verifies_as_openssh_says(tmp_path: Path) -> None:
    priv = ec.generate_private_key(ec.SECP256R1())
    point = priv.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    app, kind = b"ssh:", b"sk-ecdsa-sha2-nistp256@openssh.com"
    pub = string(kind) + string(b"nistp256") + string(point) + string(app)
    data = sshsig.signed_data(NS, "sha512", MESSAGE)
    r, s = decode_dss_signature(
        priv.sign(_sk_message(app, 0x05, 1, data), ec.ECDSA(hashes.SHA256()))
    )
    blob = string(kind) + string(mpint(r) + mpint(s)) + bytes([0x05]) + struct.pack(">I", 1)
    armored = sshsig_blob(pub, blob)
    assert openssh_accepts(armored, MESSAGE, tmp_path)
    assert sshsig.verify(armored, MESSAGE, NS).algo == "sk-ecdsa-sha2-nistp256@openssh.com"
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(armored, MESSAGE + b"x", NS)


def test_malformed_signatures_are_errors_not_crashes(keydir: Path, tmp_path: Path) -> None:
    good = keygen_sign(keydir, "p256", tmp_path)
    body = sshsig.dearmor(good)
    cases = {
        "": "not an armoured SSH signature",
        good.replace("SIGNATURE-----\n", "SIGNATURE-----\n!!", 1): "not valid base64",
        sshsig.armor(body + b"\0"): "trailing data",
        sshsig.armor(body[:40]): "truncated data",
        sshsig.armor(b"SSHSIH" + body[6:]): "bad magic",
        sshsig.armor(body[:6] + struct.pack(">I", 2) + body[10:]): "version 2",
    }
    for armored, reason in cases.items():
        with pytest.raises(sshsig.SignatureError, match=reason):
            sshsig.verify(armored, MESSAGE, NS)
    # a signature whose embedded key is swapped for another key of the same type
    other = sshsig.parse_public_key((keydir / "p384.pub").read_text())
    with pytest.raises(sshsig.SignatureError):
        sig = sshsig.parse_signature(good)
        sshsig.verify(sshsig_blob(other.blob, sig.signature), MESSAGE, NS)


def test_public_keys_parse_or_say_why() -> None:
    with pytest.raises(sshsig.SignatureError, match="certificate keys"):
        sshsig.key_from_blob(string(b"ssh-ed25519-cert-v01@openssh.com") + string(b"x" * 32))
    with pytest.raises(sshsig.SignatureError, match="unsupported key type 'ssh-dss'"):
        sshsig.key_from_blob(string(b"ssh-dss") + string(b"x"))
    with pytest.raises(sshsig.SignatureError, match="32 bytes"):
        sshsig.key_from_blob(string(b"ssh-ed25519") + string(b"x" * 31))
    with pytest.raises(sshsig.SignatureError, match="under 1024 bits"):
        sshsig.key_from_blob(string(b"ssh-rsa") + mpint(65537) + mpint((1 << 1000) + 1))
    with pytest.raises(sshsig.SignatureError, match="invalid key material"):
        sshsig.key_from_blob(
            string(b"ecdsa-sha2-nistp256") + string(b"nistp256") + string(b"\x04" + b"\1" * 64)
        )
    with pytest.raises(sshsig.SignatureError, match="says 'ssh-ed25519' inside"):
        raw = string(b"ssh-ed25519") + string(b"\1" * 32)
        import base64

        sshsig.parse_public_key("ssh-rsa " + base64.b64encode(raw).decode())


# ----------------------------------------------------------------------------- allowed_signers


def test_principal_patterns_match_like_openssh() -> None:
    assert match_list("alice@example.com", "alice@example.com") == 1
    assert match_list("alice@example.com", "bob@x,*@example.com") == 1
    assert match_list("alice@example.com", "*@example.com,!alice@example.com") == -1
    assert match_list("al?ce@example.com", "al?ce@example.com") == 1
    assert match_list("alice@example.com", "ali?e@example.*") == 1
    assert match_list("Alice@example.com", "alice@example.com") == 0  # case-sensitive
    assert match_list("alice@example.com", "alice") == 0
    assert match_list("a.b", "a?b") == 1 and match_list("axb", "a.b") == 0  # no regex


def test_allowed_signers_semantics_agree_with_ssh_keygen_verify(
    keydir: Path, tmp_path: Path
) -> None:
    """The same file, signature and principal: OpenSSH's answer is ours."""
    armored = keygen_sign(keydir, "ed25519", tmp_path)
    key = (keydir / "ed25519.pub").read_text().split()
    k = f"{key[0]} {key[1]}"
    now = datetime.now(UTC)
    lines = [
        f"alice@example.com {k}",
        f"*@example.com,!mallory@example.com {k}",
        f'"alice@example.com,bob@example.com" {k} comment here',
        f'alice@example.com NAMESPACES="git" {k}',
        f'alice@example.com namespaces="git,schemactl-*" {k}',
        f'alice@example.com valid-before="20200101Z" {k}',
        f'alice@example.com valid-after="20990101Z" {k}',
        f'alice@example.com Valid-After="20200101Z",valid-before="20990101Z" {k}',
        f"bob@example.com {k}",
        f"  # comment\n\nalice@example.com {k}",
    ]
    answers = []
    for text in lines:
        for who in ("alice@example.com", "mallory@example.com"):
            ours = parse(text, "allowed_signers").problem(who, sshsig.parse_public_key(k), NS, now)
            theirs = openssh_verifies(armored, MESSAGE, text + "\n", who, tmp_path)
            assert (ours is None) == theirs, (text, who, ours)
            answers.append(theirs)
    assert answers.count(True) == 6 and answers.count(False) == 14  # both kinds are tested


def test_malformed_lines_name_the_line() -> None:
    k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnC0BUD/1Ce6H3H8V8yq2WZr2Ha3TVpA4eRkM40jtFi"
    bad = {
        f"alice {k}\nalice frob {k}": (2, "unknown option 'frob'"),
        f'alice namespaces="a",namespaces="b" {k}': (1, 'multiple "namespaces" clauses'),
        f'alice valid-after="20300101Z",valid-before="20200101Z" {k}': (1, "is before"),
        f'alice valid-after="2030-01-01" {k}': (1, 'invalid "valid-after" time'),
        f"alice valid-after=20300101 {k}": (1, "missing start quote"),
        f'alice namespaces="git", {k}': (1, "unexpected end of options"),
        '"alice ' + k: (1, "missing end quote"),
        "alice ssh-ed25519 !!!": (1, "invalid key: the key is not valid base64"),
        f"alice cert-authority {k}": (1, "cert-authority is not supported"),
        "alice ssh-dss AAAAB3NzaC1kc3M=": (1, "invalid key: unsupported key type 'ssh-dss'"),
        f"alice {k.replace('ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com')}": (
            1,
            "invalid key: the key says 'ssh-ed25519' inside",
        ),
    }
    for text, (line, reason) in bad.items():
        with pytest.raises(SignersFileError) as e:
            parse(text, "f")
        assert e.value.line == line and e.value.file == "f"
        assert e.value.message.startswith(f"f:{line}: ") and reason in e.value.message, text
        assert e.value.exit_code == 2 and e.value.code == "SC654"
    ok = parse(f'x valid-after="202001011230",valid-before="20300101000000UTC" {k}', "f")
    (entry,) = ok.entries
    assert entry.valid_before == datetime(2030, 1, 1, tzinfo=UTC)
    assert entry.valid_after is not None and entry.valid_after.tzinfo is not None  # local time
