"""Helpers for the signed-approval tests (SPEC §14): real keys made by ``ssh-keygen``.

``Keys`` makes each key once per session in a temporary directory: alice (ed25519), bob
(ECDSA P-256), carol (RSA 3072), mallory (ed25519, never listed) and dave (ed25519 with a
passphrase).  ``ssh_sign`` signs any bytes with ``ssh-keygen -Y sign`` for white-box
attacks; ``openssh_accepts`` asks ``ssh-keygen -Y check-novalidate`` about a signature.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pg import skip_or_fail

NS = "schemactl-approval"
PRINCIPALS = {
    "alice": "alice@example.com",
    "bob": "bob@example.com",
    "carol": "carol@example.com",
    "mallory": "mallory@example.com",
    "dave": "dave@example.com",
}
KINDS = {
    "alice": ["-t", "ed25519"],
    "bob": ["-t", "ecdsa", "-b", "256"],
    "carol": ["-t", "rsa", "-b", "3072"],
    "mallory": ["-t", "ed25519"],
    "dave": ["-t", "ed25519"],
}
PASSPHRASE = "correct horse battery staple"


def ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        skip_or_fail("ssh-keygen (openssh-client) is not installed")
    return exe


@dataclass(frozen=True)
class Key:
    name: str
    path: Path  # the private key; the public one is path + ".pub"

    @property
    def principal(self) -> str:
        return PRINCIPALS[self.name]

    @property
    def pub(self) -> Path:
        return Path(str(self.path) + ".pub")

    @property
    def public(self) -> str:
        """``TYPE BASE64`` without the comment."""
        return " ".join(self.pub.read_text().split()[:2])

    @property
    def fingerprint(self) -> str:
        out = subprocess.run(
            [ssh_keygen(), "-l", "-E", "sha256", "-f", str(self.pub)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.split()[1]

    def line(self, options: str = "") -> str:
        """This key's allowed_signers line."""
        return f"{self.principal} {options + ' ' if options else ''}{self.public}"


def make_keys(directory: Path) -> dict[str, Key]:
    exe = ssh_keygen()
    keys = {}
    for name, kind in KINDS.items():
        path = directory / name
        pw = PASSPHRASE if name == "dave" else ""
        subprocess.run(
            [exe, "-q", *kind, "-N", pw, "-C", PRINCIPALS[name], "-f", str(path)],
            check=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        keys[name] = Key(name, path)
    return keys


def no_agent_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
    return env


def ssh_sign(key: Key, message: bytes, tmp: Path, namespace: str = NS) -> str:
    """``ssh-keygen -Y sign`` over ``message`` (a white-box attacker with a real key)."""
    msg = tmp / "message"
    msg.write_bytes(message)
    sig = Path(str(msg) + ".sig")
    sig.unlink(missing_ok=True)
    subprocess.run(
        [ssh_keygen(), "-Y", "sign", "-n", namespace, "-f", str(key.path), str(msg)],
        check=True, capture_output=True, stdin=subprocess.DEVNULL, env=no_agent_env(),
    )  # fmt: skip
    return sig.read_text()


def openssh_accepts(armored: str, message: bytes, tmp: Path, namespace: str = NS) -> bool:
    """What ``ssh-keygen -Y check-novalidate`` says about the signature."""
    sig = tmp / "check.sig"
    sig.write_text(armored)
    out = subprocess.run(
        [ssh_keygen(), "-Y", "check-novalidate", "-n", namespace, "-s", str(sig)],
        input=message, capture_output=True,
    )  # fmt: skip
    return out.returncode == 0


def openssh_verifies(armored: str, message: bytes, signers: str, principal: str, tmp: Path) -> bool:
    """``ssh-keygen -Y verify`` with an allowed_signers text: OpenSSH's whole answer."""
    sig, allowed = tmp / "verify.sig", tmp / "allowed"
    sig.write_text(armored)
    allowed.write_text(signers)
    out = subprocess.run(
        [ssh_keygen(), "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", NS,
         "-s", str(sig)],
        input=message, capture_output=True,
    )  # fmt: skip
    return out.returncode == 0
