"""Signed approvals (SPEC §14): the statement, signing, verification and the policy.

Owns:
- ``[approval]`` configuration (``ApprovalPolicy``);
- the canonical, versioned statement a signature covers (``statement``): migration id,
  package, SQL checksum, the baseline state it applies to, the approver and the time;
- signing it with ``ssh-keygen -Y sign -n schemactl-approval`` (agent-held, FIDO and plain
  key files; never a prompt);
- verifying the ``signatures`` of a registry record in-process (``sshsig``) against
  ``allowed_signers`` (``signers``), counting different signers toward the policy;
- the hooks the workflow calls: ``ApproveGate`` (approve), ``problems`` (check, generate,
  apply), ``describe`` (show, list).

A record's ``signatures`` is a list of ``{principal, key_fingerprint, signed_at, version,
signature}``.  ``record_hash`` does not cover it: adding a signature to an approved record
changes nothing else.  See docs/approvals.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic
from .errors import ConfigError, UsageError

if TYPE_CHECKING:
    from .commands import Result
    from .config import Config
    from .signers import AllowedSigners

NAMESPACE = "schemactl-approval"
STATEMENT_VERSION = 1
DEFAULT_SIGNERS = ".schemactl/allowed_signers"
POLICY_KEYS = ("allowed_signers", "require_signatures", "destructive_signatures")
CLOCK_SKEW = timedelta(minutes=5)  # a signature dated later than now + this is refused
SIGN_TIMEOUT = 120.0  # seconds: a FIDO key waits for a touch


# ----------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class ApprovalPolicy:
    allowed_signers: str = DEFAULT_SIGNERS
    require_signatures: bool = False
    destructive_signatures: int = 0  # 0: no extra rule for destructive migrations

    def needed(self, record: Mapping[str, Any]) -> int:
        """How many different allowed signers must have signed ``record``."""
        n = 1 if self.require_signatures else 0
        if record.get("destructive"):
            n = max(n, self.destructive_signatures)
        return n


def parse_policy(source: str, value: Any) -> ApprovalPolicy:
    """The ``[approval]`` table (ConfigError SC501/SC502 when wrong)."""
    from pathlib import PurePath

    from .diagnostics import did_you_mean

    if not isinstance(value, dict):
        raise ConfigError(f"{source}: 'approval' must be a table", code="SC502")
    for k in value:
        if k not in POLICY_KEYS:
            guess = did_you_mean(k, POLICY_KEYS)
            raise ConfigError(
                f"{source}: unknown key 'approval.{k}'",
                hint=f"did you mean 'approval.{guess}'?"
                if guess
                else f"allowed: {', '.join(POLICY_KEYS)}",
                code="SC501",
            )
    path = value.get("allowed_signers", DEFAULT_SIGNERS)
    if (
        not isinstance(path, str)
        or not path
        or PurePath(path).is_absolute()
        or ".." in PurePath(path).parts
    ):
        raise ConfigError(
            f"{source}: 'approval.allowed_signers' must be a relative path inside the root",
            code="SC502",
        )
    req = value.get("require_signatures", False)
    if not isinstance(req, bool):
        raise ConfigError(
            f"{source}: 'approval.require_signatures' must be true or false", code="SC502"
        )
    n = value.get("destructive_signatures", 0)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 100:
        raise ConfigError(
            f"{source}: 'approval.destructive_signatures' must be a whole number from 0 to 100",
            hint="the number of different allowed signers a destructive migration needs",
            code="SC502",
        )
    return ApprovalPolicy(path, req, n)


def policy_of(config: Config) -> ApprovalPolicy:
    policy = getattr(config, "approval", None)
    return policy if isinstance(policy, ApprovalPolicy) else ApprovalPolicy()


# ----------------------------------------------------------------------------- statement


def statement(record: Mapping[str, Any], principal: str, signed_at: str) -> bytes:
    """The exact bytes a signature covers (version 1): UTF-8 ``key: value`` lines."""
    fields = [
        ("migration", record.get("id")),
        ("package", record.get("package")),
        ("sql-checksum", record.get("sql_checksum")),
        ("base-state", record.get("base_state")),
        ("approver", principal),
        ("signed-at", signed_at),
    ]
    lines = [f"schemactl-approval-statement: {STATEMENT_VERSION}"]
    for name, value in fields:
        if not isinstance(value, str) or not value or any(c in value for c in "\r\n\0"):
            raise ValueError(f"the record's {name} is not a one-line text")
        lines.append(f"{name}: {value}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class SignatureCheck:
    """One signature of a record, verified: ``status`` is valid, invalid (it does not
    verify against this record) or untrusted (it verifies, but its key may not sign as
    its principal)."""

    principal: str
    key_fingerprint: str | None
    signed_at: str | None
    status: str
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "key_fingerprint": self.key_fingerprint,
            "signed_at": self.signed_at,
            "valid": self.valid,
            "status": self.status,
            "reason": self.reason,
        }

    def text(self) -> str:
        tail = "valid" if self.valid else f"{self.status.upper()}: {self.reason}"
        return f"{self.principal}  {self.key_fingerprint or '?'}  {self.signed_at or '?'}  {tail}"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def check_entry(
    record: Mapping[str, Any],
    entry: Any,
    signers: AllowedSigners | None,
    now: datetime | None = None,
) -> SignatureCheck:
    from .registry import sql_checksum
    from .sshsig import SignatureError, verify

    now = now or datetime.now(UTC)
    if not isinstance(entry, Mapping):
        return SignatureCheck("?", None, None, "invalid", "malformed signature entry")
    principal = entry.get("principal")
    fp, signed_at = entry.get("key_fingerprint"), entry.get("signed_at")
    armored, version = entry.get("signature"), entry.get("version")
    shown = principal if isinstance(principal, str) else "?"
    fp_s = fp if isinstance(fp, str) else None
    at_s = signed_at if isinstance(signed_at, str) else None

    def bad(reason: str, status: str = "invalid") -> SignatureCheck:
        return SignatureCheck(shown, fp_s, at_s, status, reason)

    if not isinstance(principal, str) or not isinstance(armored, str):
        return bad("malformed signature entry (needs principal and signature)")
    if version != STATEMENT_VERSION:
        return bad(f"statement version {version!r} is unknown to this schemactl")
    when = _time(signed_at)
    if when is None:
        return bad(f"signed_at {signed_at!r} is not an ISO 8601 time with a time zone")
    if when > now + CLOCK_SKEW:
        return bad(f"signed in the future ({signed_at})")
    created = _time(record.get("created_at"))
    if created is not None and when < created - CLOCK_SKEW:
        return bad(f"signed at {signed_at}, before the migration was planned")
    sql = record.get("sql")
    if not isinstance(sql, Mapping) or record.get("sql_checksum") != sql_checksum(
        str(sql.get("up", "")), str(sql.get("down", ""))
    ):
        return bad("the record's SQL does not match its SQL checksum (edited after signing)")
    try:
        message = statement(record, principal, str(signed_at))
        key = verify(armored, message, NAMESPACE)
    except (SignatureError, ValueError) as e:
        return bad(str(e))
    if fp is not None and fp != key.fingerprint:
        return SignatureCheck(
            shown, key.fingerprint, at_s, "invalid",
            f"the stored fingerprint {fp} is not the signing key's",
        )  # fmt: skip
    if signers is None:
        return SignatureCheck(shown, key.fingerprint, at_s, "untrusted", "no allowed signers")
    why = signers.problem(principal, key, NAMESPACE, when)
    if why is not None:
        return SignatureCheck(shown, key.fingerprint, at_s, "untrusted", why)
    return SignatureCheck(shown, key.fingerprint, at_s, "valid")


def entries_of(record: Mapping[str, Any]) -> list[Any]:
    sigs = record.get("signatures") if "signatures" in record else None
    return list(sigs) if isinstance(sigs, list) else []


def count_signers(checks: Sequence[SignatureCheck]) -> int:
    """Different signers among the valid signatures: one signer is one principal and one
    key, so the same person signing twice, or one key listed under two principals,
    counts once."""
    principals: set[str] = set()
    keys: set[str] = set()
    for c in checks:
        if c.valid and c.principal not in principals and c.key_fingerprint not in keys:
            principals.add(c.principal)
            keys.add(c.key_fingerprint or "")
    return len(principals)


@dataclass(frozen=True)
class Assessment:
    checks: tuple[SignatureCheck, ...]
    count: int
    needed: int

    @property
    def satisfied(self) -> bool:
        return self.count >= self.needed


def assess(
    record: Mapping[str, Any],
    policy: ApprovalPolicy,
    signers: AllowedSigners | None,
    now: datetime | None = None,
) -> Assessment:
    entries = entries_of(record)
    if "signatures" in record and not isinstance(record.get("signatures"), list):
        entries = [None]  # reported as a malformed entry
    checks = tuple(check_entry(record, e, signers, now) for e in entries)
    return Assessment(checks, count_signers(checks), policy.needed(record))


# ----------------------------------------------------------------------------- loading


def load_signers(config: Config, signers_from: str | None = None) -> AllowedSigners:
    from . import signers

    rel = policy_of(config).allowed_signers
    if signers_from is not None:
        return signers.from_git(config.root, signers_from, rel)
    return signers.load(config.root / rel, rel)


class _Lazy:
    """allowed_signers, read the first time a signature needs it."""

    def __init__(self, config: Config, signers_from: str | None = None) -> None:
        self.config, self.signers_from = config, signers_from
        self._value: AllowedSigners | None = None

    def get(self) -> AllowedSigners:
        if self._value is None:
            self._value = load_signers(self.config, self.signers_from)
        return self._value


def _registry_file(config: Config) -> str:
    try:
        return config.registry_path.relative_to(config.root).as_posix()
    except ValueError:
        return str(config.registry_path)


# ----------------------------------------------------------------------------- check / gate


def problems(
    config: Config,
    migrations: Sequence[Mapping[str, Any]],
    *,
    signers_from: str | None = None,
    approved_only: bool = False,
) -> list[Diagnostic]:
    """Every signature problem of the records: an invalid or untrusted signature (always),
    an approved record short of the signatures the policy needs.  ``check`` looks at
    pending records' signatures too; ``generate``/``apply`` (``approved_only``) only at what
    they would write or run, and read allowed_signers only when a record needs it; ``check``
    reads it always, so that a malformed line fails the gate before it matters."""
    policy = policy_of(config)
    lazy = _Lazy(config, signers_from)
    if not approved_only:
        lazy.get()
    folder = _registry_file(config)  # each record's diagnostics name its package's file
    out: list[Diagnostic] = []
    for m in migrations:
        status = m.get("status")
        if status not in ("approved", "pending") or (approved_only and status != "approved"):
            continue
        needed = policy.needed(m) if status == "approved" else 0
        if not needed and "signatures" not in m:
            continue
        a = assess(m, policy, lazy.get() if "signatures" in m else None)
        mid, pkg = m.get("id"), m.get("package")
        file = f"{folder}/{pkg}.json"
        for c in a.checks:
            who = f"{c.principal} ({c.key_fingerprint})" if c.key_fingerprint else c.principal
            if c.status == "invalid":
                out.append(
                    Diagnostic(
                        "error", "SC651", f"{mid}: signature by {who} is invalid: {c.reason}",
                        file, package=pkg,
                        hint="restore the registry from git; a valid signature cannot be "
                        "made without the signer's key, and it binds the SQL it approved",
                    )
                )  # fmt: skip
            elif c.status == "untrusted":
                out.append(
                    Diagnostic(
                        "error", "SC652",
                        f"{mid}: signature by {who} is not from an allowed signer: {c.reason}",
                        file, package=pkg,
                        hint=f"an admin listed in {lazy.get().source} signs it: "
                        f"`schemactl approve {mid} --sign`",
                    )
                )  # fmt: skip
        if status == "approved" and not a.satisfied:
            destructive = bool(m.get("destructive")) and policy.destructive_signatures > 1
            out.append(
                Diagnostic(
                    "error",
                    "SC653" if destructive else "SC650",
                    f"{mid} is destructive and has {a.count} of the {a.needed} signatures from "
                    "different allowed signers it needs"
                    if destructive
                    else f"{mid} is approved without a valid signature from an allowed signer",
                    file,
                    package=pkg,
                    hint=f"allowed signers run `schemactl approve {mid} --sign`"
                    + (" --allow-destructive" if m.get("destructive") else ""),
                )
            )
    return out


# ----------------------------------------------------------------------------- show / list


def describe(config: Config, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each record: its signatures (principal, key fingerprint, validity) and how many
    different allowed signers it has and needs."""
    policy = policy_of(config)
    lazy = _Lazy(config)
    out = []
    for m in records:
        a = assess(m, policy, lazy.get() if "signatures" in m else None)
        out.append(
            {
                "signatures": [c.to_json() for c in a.checks],
                "signers": a.count,
                "signers_needed": a.needed,
            }
        )
    return out


def list_suffix(info: Mapping[str, Any]) -> str:
    """`` [signed: alice (valid), bob (INVALID); 1 of 2]`` for a ``list`` line."""
    parts = [
        f"{s['principal']} ({'valid' if s['valid'] else s['status'].upper()})"
        for s in info["signatures"]
    ]
    body = ", ".join(parts) if parts else "none"
    if info["signers_needed"]:
        body += f"; {info['signers']} of {info['signers_needed']}"
    return f" [signed: {body}]"


def describe_lines(info: Mapping[str, Any]) -> list[str]:
    sigs = info["signatures"]
    if not sigs and not info["signers_needed"]:
        return []
    head = f"  signatures:  {info['signers']} valid from different allowed signers"
    if info["signers_needed"]:
        head += f", {info['signers_needed']} needed"
    lines = [head]
    for s in sigs:
        check = SignatureCheck(
            s["principal"], s["key_fingerprint"], s["signed_at"], s["status"], s["reason"]
        )
        lines.append("    - " + check.text())
    return lines


# ----------------------------------------------------------------------------- signing


def signing_key(key: str | None, root: Path) -> str:
    """``--key``, else ``git config user.signingKey`` (a path, ``~/path`` or a
    ``key::ssh-...`` literal, as git takes it)."""
    if key:
        return key
    try:
        out = subprocess.run(
            ["git", "config", "user.signingKey"],
            capture_output=True, text=True, timeout=10, cwd=root, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    raise UsageError(
        "no signing key: pass --key PATH, or set `git config user.signingKey`",
        hint="a private key file, its .pub with the key loaded in ssh-agent, "
        "or key::ssh-ed25519 ...",
        code="SC655",
    )


def sign(message: bytes, key: str, root: Path) -> str:
    """``ssh-keygen -Y sign -n schemactl-approval`` over ``message``: the armoured signature.

    Never prompts: no terminal, standard input closed, askpass off.  A key it cannot use
    without a passphrase is a UsageError (SC655) that says to load it into ssh-agent."""
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise UsageError(
            "cannot sign: ssh-keygen (OpenSSH) is not on PATH",
            hint="signing needs OpenSSH's ssh-keygen; verifying signatures does not",
            code="SC655",
        )
    drop = ("SSH_ASKPASS", "DISPLAY", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["SSH_ASKPASS_REQUIRE"] = "never"
    with tempfile.TemporaryDirectory(prefix="schemactl-sign-") as tmp:
        if key.startswith("key::"):
            keyfile = Path(tmp) / "key.pub"
            keyfile.write_text(key[len("key::") :].strip() + "\n", encoding="utf-8")
        else:
            keyfile = Path(key).expanduser()
            if not keyfile.is_absolute():
                keyfile = Path.cwd() / keyfile
            if not keyfile.is_file():
                raise UsageError(f"cannot sign: no key file {key}", code="SC655")
        msg = Path(tmp) / "statement"
        msg.write_bytes(message)
        try:
            out = subprocess.run(
                [exe, "-Y", "sign", "-n", NAMESPACE, "-f", str(keyfile), str(msg)],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                timeout=SIGN_TIMEOUT, start_new_session=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise UsageError(
                f"cannot sign with {key}: ssh-keygen did not finish in {SIGN_TIMEOUT:g}s",
                hint="a security key waits for a touch",
                code="SC655",
            ) from None
        except OSError as e:
            raise UsageError(f"cannot run ssh-keygen: {e}", code="SC655") from None
        sig = Path(str(msg) + ".sig")
        if out.returncode != 0 or not sig.is_file():
            err = out.stderr.replace("Enter passphrase:", "").strip().splitlines()
            detail = err[-1].strip() if err else f"ssh-keygen exited {out.returncode}"
            hint = None
            if "passphrase" in out.stderr.lower():
                detail = "the key is protected by a passphrase and no ssh-agent holds it"
                hint = (
                    f"the key is protected by a passphrase: load it into ssh-agent "
                    f"(`ssh-add {key}`) and sign again; schemactl never prompts"
                )
            raise UsageError(
                f"cannot sign with {key}: {detail}; nothing was approved",
                hint=hint,
                code="SC655",
            )
        return sig.read_text(encoding="ascii")


class ApproveGate:
    """What ``approve`` asks before approving each migration, and the signing it does.

    Without ``--sign``: approves as before, unless the policy needs signatures (exit 2).
    With it: each migration is signed (after the usual checks), the signature verified
    against allowed_signers before it is stored, and the migration approved once it has
    the signatures it needs; a destructive one short of N stays pending."""

    def __init__(self, config: Config, *, sign: bool, key: str | None, actor: str) -> None:
        self.config, self.sign, self.key_arg, self.actor = config, sign, key, actor
        self.policy = policy_of(config)
        self.signers = _Lazy(config)
        self._key: str | None = None
        if self.policy.require_signatures and not sign:
            raise UsageError(
                "approvals must be signed here ([approval] require_signatures = true); "
                "nothing was approved",
                hint="approve with --sign [--key PATH] (or set git config user.signingKey)",
                code="SC656",
            )
        if key is not None and not sign:
            raise UsageError("--key needs --sign", code="SC656")

    def _entry(self, m: Mapping[str, Any]) -> dict[str, Any]:
        if self._key is None:
            self._key = signing_key(self.key_arg, self.config.root)
        signed_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        try:
            message = statement(m, self.actor, signed_at)
        except ValueError as e:
            raise UsageError(f"cannot sign {m.get('id')}: {e}", code="SC655") from None
        armored = sign(message, self._key, self.config.root)
        entry = {
            "principal": self.actor,
            "key_fingerprint": None,
            "signed_at": signed_at,
            "version": STATEMENT_VERSION,
            "signature": armored,
        }
        check = check_entry(m, entry, self.signers.get())
        if check.status == "invalid":
            raise UsageError(
                f"the signature just made for {m.get('id')} does not verify: {check.reason}",
                code="SC655",
            )
        if check.status == "untrusted":
            raise UsageError(
                f"cannot approve {m.get('id')} as {self.actor}: {check.reason}; nothing was "
                "approved",
                hint=f"an admin adds `{self.actor} <public key>` to {self.signers.get().source} "
                "(through a reviewed change), or approve with --by NAME as listed there",
                code="SC652",
            )
        entry["key_fingerprint"] = check.key_fingerprint
        return entry

    def _add(self, m: Any, result: Result) -> Assessment:
        entry = self._entry(m)
        before = assess(m, self.policy, self.signers.get())
        dup = any(
            c.valid and (c.principal, c.key_fingerprint) == (self.actor, entry["key_fingerprint"])
            for c in before.checks
        )
        if dup:
            result.messages.append(f"{m['id']}: already signed by {self.actor} with this key")
            return before
        m["signatures"] = [*entries_of(m), entry]
        after = assess(m, self.policy, self.signers.get())
        # --json: what was signed (the messages say it in text)
        result.data.setdefault("signed", []).append(
            {
                "id": m["id"],
                "principal": self.actor,
                "key_fingerprint": entry["key_fingerprint"],
                "signed_at": entry["signed_at"],
                "signers": after.count,
                "signers_needed": after.needed,
            }
        )
        return after

    def sign_approved(self, targets: list[Any], result: Result) -> list[Any]:
        """Sign the already-approved ``targets`` (adding a signature changes nothing
        else); the others are returned for approval."""
        if not self.sign:
            return targets
        from .registry import tampered

        rest = []
        for m in targets:
            if m["status"] != "approved":
                rest.append(m)
                continue
            if tampered(m):
                raise UsageError(
                    f"{m['id']} was edited by hand since it was approved; not signing it",
                    hint="restore the registry from git",
                    code="SC655",
                )
            a = self._add(m, result)
            result.messages.append(
                f"{m['id']}: signature by {self.actor} added to the approval "
                f"({a.count} valid from different allowed signers)"
            )
        return rest

    def admit(self, m: Any, result: Result) -> bool:
        """Called once a pending migration passed every other check: True to approve it."""
        needed = self.policy.needed(m)
        if not self.sign:
            if not needed:
                return True
            a = assess(m, self.policy, self.signers.get())
            if a.satisfied:
                return True
            raise UsageError(
                f"{m['id']} needs {needed} signature(s) from different allowed signers "
                f"and has {a.count}; nothing was approved",
                hint=f"approve with --sign: `schemactl approve {m['id']} --sign"
                + (" --allow-destructive`" if m.get("destructive") else "`"),
                code="SC656",
            )
        a = self._add(m, result)
        if a.satisfied:
            return True
        result.messages.append(
            f"{m['id']}: signed by {self.actor}; {a.count} of {a.needed} signatures from "
            "different allowed signers, stays pending until the others sign"
        )
        return False
