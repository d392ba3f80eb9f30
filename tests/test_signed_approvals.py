"""Signed approvals (SPEC §14), proven by attacks with keys made by the real ``ssh-keygen``.

Each attack of the issue is a test: SQL tampered with ``record_hash`` recomputed, a
signature moved to another record, a key not listed or expired, a signature made for
namespace ``git``, the same signer counted twice toward N, a self-added signer caught by
``--signers-from`` (a real git repository), verification with no ``ssh-keygen`` on PATH,
and a passphrase-protected key without an agent (exit 2, nothing approved).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pg import skip_or_fail
from registry_util import (
    cli,
    cli_json,
    codes,
    migrations,
    pending_id,
    post,
    product,
    project,
    registry_bytes,
    registry_data,
    run,
    write_package,
    write_registry,
)
from schemactl import approval, registry
from signing_util import (
    PASSPHRASE,
    Key,
    make_keys,
    no_agent_env,
    openssh_verifies,
    ssh_keygen,
    ssh_sign,
)

SIGNERS = ".schemactl/allowed_signers"
REQUIRE = 'packages = ["packages/*"]\n[approval]\nrequire_signatures = true\n'


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    return make_keys(tmp_path_factory.mktemp("keys"))


def signers(root: Path, *lines: str) -> None:
    path = root / SIGNERS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def signed_project(
    tmp_path: Path, keys: dict[str, Key], config: str = REQUIRE, who: str = "alice"
) -> Path:
    """shop and blog, scanned and approved with ``who``'s signature."""
    root = project(tmp_path / "proj", {"shop": product(), "blog": post()}, config)
    signers(root, *(k.line() for n, k in keys.items() if n in ("alice", "bob", "carol", "dave")))
    assert cli(root, "scan").exit_code == 0
    k = keys[who]
    res = cli(root, "approve", "all", "--sign", "--key", str(k.path), "--by", k.principal)
    assert res.exit_code == 0, res.output
    return root


def approve_signed(root: Path, k: Key, *args: str) -> Any:
    """``approve ARGS --sign --key K --by K's principal``, in-process."""
    return cli(root, "approve", *args, "--sign", "--key", str(k.path), "--by", k.principal)


def record(root: Path, pkg: str) -> dict[str, Any]:
    (m,) = [m for m in migrations(root) if m["package"] == pkg and m["status"] == "approved"]
    return m


def replace_record(root: Path, new: dict[str, Any]) -> None:
    data = registry_data(root)
    data["migrations"] = [new if m["id"] == new["id"] else m for m in data["migrations"]]
    write_registry(root, data)


def error_messages(doc: dict[str, Any], code: str) -> list[str]:
    return [d["message"] for d in doc["diagnostics"] if d["code"] == code]


# ----------------------------------------------------------------------------- signing


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])  # ed25519, ECDSA, RSA
def test_signed_approval_verifies_for_each_key_type(
    tmp_path: Path, keys: dict[str, Key], who: str
) -> None:
    root = signed_project(tmp_path, keys, who=who)
    k = keys[who]
    for pkg in ("shop", "blog"):
        m = record(root, pkg)
        (sig,) = m["signatures"]
        assert sig["principal"] == k.principal == m["approved_by"]
        assert sig["key_fingerprint"] == k.fingerprint  # as `ssh-keygen -l` prints it
        assert sig["signature"].startswith("-----BEGIN SSH SIGNATURE-----\n")
        assert not registry.tampered(m)
        # OpenSSH itself agrees: the stored signature verifies for the statement and signer
        message = approval.statement(m, sig["principal"], sig["signed_at"])
        assert openssh_verifies(
            sig["signature"], message, (root / SIGNERS).read_text(), k.principal, tmp_path
        )
    code, doc = cli_json(root, "check")
    assert (code, codes(doc, "error")) == (0, [])
    code, doc = cli_json(root, "show", record(root, "shop")["id"])
    assert code == 0
    (shown,) = doc["migration"]["signatures"]
    assert shown["principal"] == k.principal
    assert shown["key_fingerprint"] == k.fingerprint
    assert shown["valid"] is True and shown["status"] == "valid"
    assert (doc["migration"]["signers"], doc["migration"]["signers_needed"]) == (1, 1)
    text = cli(root, "show", record(root, "shop")["id"]).stdout
    assert f"{k.principal}  {k.fingerprint}" in text and "valid" in text


def test_statement_is_canonical_and_versioned(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys)
    m = record(root, "shop")
    (sig,) = m["signatures"]
    assert sig["version"] == 1
    text = approval.statement(m, sig["principal"], sig["signed_at"]).decode()
    assert text == (
        "schemactl-approval-statement: 1\n"
        f"migration: {m['id']}\n"
        "package: shop\n"
        f"sql-checksum: {m['sql_checksum']}\n"
        f"base-state: {m['base_state']}\n"
        "approver: alice@example.com\n"
        f"signed-at: {sig['signed_at']}\n"
    )


def test_verification_needs_no_ssh_keygen_on_path(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys, who="bob")
    bare = tmp_path / "bin"  # only git: no ssh-keygen, no ssh-agent
    bare.mkdir()
    git = shutil.which("git")
    assert git is not None
    os.symlink(git, bare / "git")
    env = {**no_agent_env(), "PATH": str(bare)}
    assert shutil.which("ssh-keygen", path=str(bare)) is None
    out = run(root, "--json", "check", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["ok"] is True
    out = run(root, "--json", "list", "--all", env=env)
    sigs = [s for m in json.loads(out.stdout)["approvals"] for s in m["signatures"]]
    assert len(sigs) == 2 and all(s["valid"] for s in sigs)
    # ...and the same without ssh-keygen is caught when something is wrong
    m = record(root, "shop")
    m["signatures"][0]["signed_at"] = m["signatures"][0]["signed_at"].replace("+00:00", "+01:00")
    replace_record(root, m)
    out = run(root, "--json", "check", env=env)
    assert out.returncode == 1
    assert "SC651" in codes(json.loads(out.stdout), "error")


def test_signing_an_approved_record_adds_a_signature_and_changes_nothing_else(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    """How a project switches signing on."""
    root = project(tmp_path / "proj", {"shop": product()})
    signers(root, keys["alice"].line(), keys["bob"].line())
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "admin@example.com").exit_code == 0
    before = record(root, "shop")
    (root / "schemactl.toml").write_text(REQUIRE)
    code, doc = cli_json(root, "check")
    assert code == 1
    assert error_messages(doc, "SC650") == [
        f"{before['id']} is approved without a valid signature from an allowed signer"
    ]
    for who in ("alice", "bob"):
        k = keys[who]
        res = cli(
            root, "approve", before["id"], "--sign", "--key", str(k.path), "--by", k.principal
        )
        assert res.exit_code == 0, res.output
        assert "signature by " + k.principal + " added" in res.stdout
    after = record(root, "shop")
    assert [s["principal"] for s in after["signatures"]] == ["alice@example.com", "bob@example.com"]
    assert {k: v for k, v in after.items() if k != "signatures"} == before  # record_hash too
    assert cli_json(root, "check")[0] == 0
    assert cli_json(root, "generate")[0] == 0


# ----------------------------------------------------------------------------- the policy


def test_require_signatures_approve_without_a_key_approves_nothing(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    root = project(tmp_path / "proj", {"shop": product()}, REQUIRE)
    signers(root, keys["alice"].line())
    assert cli(root, "scan").exit_code == 0
    before = registry_bytes(root)
    code, doc = cli_json(root, "approve", "all", "--by", "alice@example.com")
    assert code == 2
    assert codes(doc) == ["SC656"]
    assert "nothing was approved" in doc["diagnostics"][0]["message"]
    # --sign, but no --key and no git user.signingKey: no usable key
    env = {"GIT_CONFIG_GLOBAL": str(tmp_path / "none"), "GIT_CONFIG_NOSYSTEM": "1"}
    code, doc = cli_json(root, "approve", "all", "--sign", env=env)
    assert code == 2 and codes(doc) == ["SC655"]
    assert doc["diagnostics"][0]["message"].startswith("no signing key")
    assert registry_bytes(root) == before


def test_key_from_git_signing_key_and_key_literal_with_an_agent(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    """``user.signingKey`` as git has it: here the ``key::`` literal of a key held by a real
    ssh-agent (the passphrase-protected one, loaded once with its passphrase)."""
    ssh_keygen()
    agent = shutil.which("ssh-agent")
    add = shutil.which("ssh-add")
    if agent is None or add is None:
        skip_or_fail("ssh-agent / ssh-add (openssh-client) are not installed")
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen([agent, "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        askpass = tmp_path / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho '{PASSPHRASE}'\n")
        askpass.chmod(0o700)
        env = {
            **no_agent_env(),
            "SSH_AUTH_SOCK": str(sock),
            "SSH_ASKPASS": str(askpass),
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": ":0",
        }
        subprocess.run(
            [add, str(keys["dave"].path)], env=env, check=True, capture_output=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        root = project(tmp_path / "proj", {"shop": product()}, REQUIRE)
        signers(root, keys["dave"].line())
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        subprocess.run(
            ["git", "-C", str(root), "config", "user.signingKey", "key::" + keys["dave"].public],
            check=True,
        )  # fmt: skip
        assert cli(root, "scan").exit_code == 0
        out = run(root, "approve", "all", "--sign", "--by", "dave@example.com",
                  env={"SSH_AUTH_SOCK": str(sock)})  # fmt: skip
        assert out.returncode == 0, out.stderr
        (sig,) = record(root, "shop")["signatures"]
        assert sig["key_fingerprint"] == keys["dave"].fingerprint
        # --key naming the public key file: the agent signs too
        write_package(root, "blog", post())
        assert cli(root, "scan").exit_code == 0
        out = run(root, "approve", "all", "--sign", "--key", str(keys["dave"].pub),
                  "--by", "dave@example.com", env={"SSH_AUTH_SOCK": str(sock)})  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert record(root, "blog")["signatures"][0]["key_fingerprint"] == keys["dave"].fingerprint
        assert cli_json(root, "check")[0] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_passphrase_key_without_an_agent_is_exit_2_and_nothing_approved(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    root = project(tmp_path / "proj", {"shop": product()}, REQUIRE)
    signers(root, keys["dave"].line())
    assert cli(root, "scan").exit_code == 0
    before = registry_bytes(root)
    out = subprocess.run(  # a real process with no terminal, as CI and hooks run it
        [str(Path(sys.executable).with_name("schemactl")), "--no-color", "--root", str(root),
         "approve", "all", "--sign", "--key", str(keys["dave"].path), "--by", "dave@example.com"],
        env=no_agent_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert (
        f"error SC655: cannot sign with {keys['dave'].path}: the key is protected by a "
        "passphrase and no ssh-agent holds it; nothing was approved"
    ) in out.stderr
    assert "nothing was approved" in out.stderr
    assert "ssh-add" in out.stderr and "passphrase" in out.stderr
    assert "Traceback" not in out.stderr
    assert registry_bytes(root) == before
    assert [m["status"] for m in migrations(root)] == ["pending"]


def test_destructive_needs_n_different_signers_and_one_signer_counts_once(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    config = 'packages = ["packages/*"]\n[approval]\ndestructive_signatures = 2\n'
    root = signed_project(tmp_path, keys, config=config)
    write_package(root, "shop", product(price=False))  # drops a column: destructive
    assert cli(root, "scan").exit_code == 0
    mid = pending_id(root, "shop")
    a, b = keys["alice"], keys["bob"]

    def sign(k: Key) -> Any:
        return cli(
            root, "approve", mid, "--sign", "--key", str(k.path), "--by", k.principal,
            "--allow-destructive",
        )  # fmt: skip

    # without --sign a destructive migration cannot reach its two signatures
    code, doc = cli_json(root, "approve", mid, "--allow-destructive", "--by", "x@example.com")
    assert code == 2 and codes(doc) == ["SC656"]
    res = sign(a)
    assert res.exit_code == 0, res.output
    assert "1 of 2 signatures from different allowed signers, stays pending" in res.stdout
    assert pending_id(root, "shop") == mid
    code, doc = cli_json(  # the same in JSON: nothing approved, one signature added
        root, "approve", mid, "--sign", "--key", str(a.path), "--by", a.principal,
        "--allow-destructive",
    )  # fmt: skip
    assert code == 0 and doc["migrations"] == [] and doc.get("signed") is None  # a repeat
    data = registry_data(root)
    (m,) = [x for x in data["migrations"] if x["id"] == mid]
    assert len(m["signatures"]) == 1
    res = sign(a)  # alice again: still one signer
    assert "already signed by alice@example.com" in res.stdout
    assert pending_id(root, "shop") == mid
    code, doc = cli_json(root, "show", mid)
    assert (doc["migration"]["signers"], doc["migration"]["signers_needed"]) == (1, 2)
    assert "1 valid from different allowed signers, 2 needed" in cli(root, "show", mid).stdout
    # white-box: a second signature by alice (another time, a real signature) counts once
    data = registry_data(root)
    (m,) = [x for x in data["migrations"] if x["id"] == mid]
    first = datetime.fromisoformat(m["signatures"][0]["signed_at"])
    at = (first + timedelta(seconds=1)).isoformat()
    m["signatures"].append(
        {
            "principal": a.principal,
            "key_fingerprint": a.fingerprint,
            "signed_at": at,
            "version": 1,
            "signature": ssh_sign(a, approval.statement(m, a.principal, at), tmp_path),
        }
    )
    write_registry(root, data)
    code, doc = cli_json(root, "show", mid)
    assert [s["valid"] for s in doc["migration"]["signatures"]] == [True, True]
    assert doc["migration"]["signers"] == 1
    res = sign(b)
    assert res.exit_code == 0, res.output
    assert f"{mid}: approved by bob@example.com" in res.stdout
    m = next(x for x in migrations(root) if x["id"] == mid)
    assert m["status"] == "approved"
    assert [s["principal"] for s in m["signatures"]] == [a.principal, a.principal, b.principal]
    assert cli_json(root, "check")[0] == 0
    # and an approved destructive record that lost its second signer fails check
    m["signatures"] = m["signatures"][:2]
    replace_record(root, m)
    code, doc = cli_json(root, "check")
    assert code == 1
    assert error_messages(doc, "SC653") == [
        f"{mid} is destructive and has 1 of the 2 signatures from different allowed signers "
        "it needs"
    ]


def test_generate_and_apply_refuse_unsigned_approvals_and_do_nothing(
    tmp_path: Path, keys: dict[str, Key], pg_db: str
) -> None:
    root = project(tmp_path / "proj", {"shop": product(), "blog": post()})
    signers(root, keys["alice"].line())
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "admin@example.com").exit_code == 0
    (root / "schemactl.toml").write_text(REQUIRE)
    code, doc = cli_json(root, "generate")
    assert code == 1
    assert sorted(codes(doc)) == ["SC650", "SC650"]
    assert not (root / "migrations").exists()
    code, doc = cli_json(root, "apply", "--database-url", pg_db)
    assert code == 1 and sorted(codes(doc)) == ["SC650", "SC650"]
    import psycopg

    with psycopg.connect(pg_db) as conn:
        found = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname IN ('shop', 'blog', 'schemactl')"
        ).fetchall()
    assert found == []  # nothing applied, not even the history table
    # signed, both go through
    ids = [m["id"] for m in migrations(root)]
    k = keys["alice"]
    assert (
        cli(root, "approve", *ids, "--sign", "--key", str(k.path), "--by", k.principal).exit_code
        == 0
    )
    assert cli_json(root, "generate")[0] == 0
    code, doc = cli_json(root, "apply", "--database-url", pg_db)
    assert code == 0, doc
    assert sorted(doc["applied_now"]) == sorted(ids)


# ----------------------------------------------------------------------------- attacks


def test_sql_tampered_with_record_hash_recomputed_is_caught(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    root = signed_project(tmp_path, keys)
    m = record(root, "shop")
    m["sql"]["up"] += "\nGRANT ALL ON ALL TABLES IN SCHEMA shop TO PUBLIC;\n"
    m["sql_checksum"] = registry.sql_checksum(m["sql"]["up"], m["sql"]["down"])
    m["record_hash"] = registry.record_hash(m)  # the attacker has no key, but can hash
    replace_record(root, m)
    code, doc = cli_json(root, "check")
    assert code == 1
    # the seal (record_hash) is fine; the signature is not, so nothing valid approves it
    assert codes(doc, "error") == ["SC650", "SC651"]
    assert "SC602" not in codes(doc)
    (msg,) = error_messages(doc, "SC651")
    assert msg.startswith(f"{m['id']}: signature by alice@example.com (")
    assert msg.endswith("is invalid: the signature does not match the signed statement")
    code, doc = cli_json(root, "generate")
    assert code == 1 and "SC651" in codes(doc)
    assert not (root / "migrations").exists()
    # the same edit without a checksum update is caught as well
    m = record(root, "shop")
    m["sql_checksum"] = record(root, "blog")["sql_checksum"]
    m["record_hash"] = registry.record_hash(m)
    replace_record(root, m)
    code, doc = cli_json(root, "check")
    assert "the record's SQL does not match its SQL checksum" in " ".join(
        error_messages(doc, "SC651")
    )


def test_signature_moved_to_another_record_is_caught(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys)
    shop, blog = record(root, "shop"), record(root, "blog")
    blog["signatures"] = shop["signatures"]  # a real signature by an allowed signer
    replace_record(root, blog)
    code, doc = cli_json(root, "check")
    assert code == 1
    (msg,) = error_messages(doc, "SC651")
    assert msg.startswith(blog["id"]) and "does not match the signed statement" in msg


def test_key_not_listed_is_refused_and_caught(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys)
    mal = keys["mallory"]
    # approving with an unlisted key: exit 2, nothing changes
    write_package(root, "blog", post(body=True))
    assert cli(root, "scan").exit_code == 0
    before = registry_bytes(root)
    code, doc = cli_json(
        root, "approve", "all", "--sign", "--key", str(mal.path), "--by", "alice@example.com"
    )
    assert code == 2 and codes(doc) == ["SC652"]
    assert (
        f"key {mal.fingerprint} of alice@example.com is not listed in {SIGNERS}"
        in (doc["diagnostics"][0]["message"])
    )
    assert registry_bytes(root) == before
    # white-box: mallory's real signature written into an approved record
    m = record(root, "shop")
    at = m["signatures"][0]["signed_at"]
    for principal in (mal.principal, "alice@example.com"):
        m["signatures"] = [
            {
                "principal": principal,
                "key_fingerprint": mal.fingerprint,
                "signed_at": at,
                "version": 1,
                "signature": ssh_sign(mal, approval.statement(m, principal, at), tmp_path),
            }
        ]
        replace_record(root, m)
        code, doc = cli_json(root, "check")
        assert code == 1
        assert sorted(codes(doc, "error")) == ["SC601", "SC650", "SC652"]  # SC601: blog
        (msg,) = error_messages(doc, "SC652")
        assert f"not from an allowed signer: key {mal.fingerprint}" in msg


def test_expired_key_is_refused_and_caught(tmp_path: Path, keys: dict[str, Key]) -> None:
    a = keys["alice"]
    root = signed_project(tmp_path, keys)
    assert cli_json(root, "check")[0] == 0
    # the key expired before the signature was made: the approval no longer counts
    signers(root, a.line('valid-before="20200101Z"'), keys["bob"].line())
    code, doc = cli_json(root, "check")
    assert code == 1
    msgs = error_messages(doc, "SC652")
    assert len(msgs) == 2
    assert all("key expired: signed at" in m and "after valid-before 2020-01-01T00:00:00Z" in m
               and f"({SIGNERS}:1)" in m for m in msgs)  # fmt: skip
    # ...and no new approval can be signed with it
    write_package(root, "blog", post(body=True))
    assert cli(root, "scan").exit_code == 0
    code, doc = cli_json(
        root, "approve", "all", "--sign", "--key", str(a.path), "--by", a.principal
    )
    assert code == 2 and codes(doc) == ["SC652"]
    # rotation: an expiry after the signature keeps old approvals valid
    signers(root, a.line('valid-after="20200101",valid-before="20990101Z"'), keys["bob"].line())
    code, doc = cli_json(root, "check")
    assert "SC652" not in codes(doc)
    # not yet valid
    signers(root, a.line('valid-after="20990101Z"'))
    code, doc = cli_json(root, "check")
    assert any("key not yet valid" in m for m in error_messages(doc, "SC652"))


def test_signature_for_namespace_git_is_caught(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys)
    a = keys["alice"]
    m = record(root, "shop")
    sig = m["signatures"][0]
    # the same statement signed by the same allowed key, but as a git signature
    sig["signature"] = ssh_sign(
        a, approval.statement(m, a.principal, sig["signed_at"]), tmp_path, namespace="git"
    )
    replace_record(root, m)
    code, doc = cli_json(root, "check")
    assert code == 1
    (msg,) = error_messages(doc, "SC651")
    assert msg.endswith("made for namespace 'git', not 'schemactl-approval'")
    # a key allowed only for git signatures may not approve
    root2 = signed_project(tmp_path / "two", keys)
    signers(root2, a.line('namespaces="git,file"'))
    code, doc = cli_json(root2, "check")
    assert (
        all(
            f"{SIGNERS}:1 does not allow namespace 'schemactl-approval'" in msg
            for msg in error_messages(doc, "SC652")
        )
        and len(error_messages(doc, "SC652")) == 2
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root), *args],
        check=True, capture_output=True,
    )  # fmt: skip


def test_self_added_signer_is_caught_by_signers_from(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    # the pull request adds its author's key and approves its own change with it
    mal = keys["mallory"]
    with (root / SIGNERS).open("a") as f:
        f.write(mal.line() + "\n")
    write_package(root, "blog", post(body=True))
    assert cli(root, "scan").exit_code == 0
    res = cli(root, "approve", "all", "--sign", "--key", str(mal.path), "--by", mal.principal)
    assert res.exit_code == 0, res.output
    git(root, "commit", "-q", "-am", "self-approved")
    assert cli_json(root, "check")[0] == 0  # the branch's own list trusts mallory
    code, doc = cli_json(root, "check", "--signers-from", "main")
    assert code == 1
    (msg,) = error_messages(doc, "SC652")
    assert msg.startswith(pending_or_latest(root, "blog"))
    assert f"key {mal.fingerprint} of {mal.principal} is not listed in main:{SIGNERS}" in msg
    # the CLI in a real process, as CI runs it
    out = run(root, "check", "--signers-from", "main")
    assert out.returncode == 1 and "SC652" in out.stdout
    # a revision that does not exist is a usage error
    code, doc = cli_json(root, "check", "--signers-from", "no-such-branch")
    assert code == 2 and codes(doc) == ["SC657"]
    # a revision without the file: nobody is allowed
    git(root, "rm", "-q", SIGNERS)
    git(root, "commit", "-q", "-m", "no signers")
    code, doc = cli_json(root, "check", "--signers-from", "HEAD")
    assert code == 1
    assert all("nobody is an allowed signer" in m for m in error_messages(doc, "SC652"))


def pending_or_latest(root: Path, pkg: str) -> str:
    ms = [m for m in migrations(root) if m["package"] == pkg]
    return str(ms[-1]["id"])


def test_forged_or_future_signature_fields_are_invalid(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    root = signed_project(tmp_path, keys)
    m = record(root, "shop")
    good = dict(m["signatures"][0])
    cases = {
        "principal": ("bob@example.com", "does not match the signed statement"),
        "key_fingerprint": ("SHA256:" + "A" * 43, "is not the signing key's"),
        "signed_at": ("2999-01-01T00:00:00+00:00", "signed in the future"),
        "version": (2, "statement version 2 is unknown"),
        "signature": ("not armoured", "not an armoured SSH signature"),
    }
    for key, (value, reason) in cases.items():
        m["signatures"] = [{**good, key: value}]
        replace_record(root, m)
        code, doc = cli_json(root, "check")
        assert code == 1, key
        (msg,) = error_messages(doc, "SC651")
        assert reason in msg, (key, msg)
    m["signatures"] = "nope"
    replace_record(root, m)
    assert cli_json(root, "check")[0] == 3  # not a list: the registry's shape is wrong


# ----------------------------------------------------------------------------- files and config


def test_malformed_allowed_signers_names_file_and_line(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    # check reads the file even when no record is signed: a broken list fails the gate early
    root = project(tmp_path / "plain", {"shop": product()})
    signers(root, "alice@example.com not-a-key")
    code, doc = cli_json(root, "check")
    assert code == 2 and codes(doc) == ["SC654"]
    root = signed_project(tmp_path, keys)
    a = keys["alice"]
    bad = {
        f"{a.principal} bogus-option {a.public}": "unknown option 'bogus-option'",
        f"{a.principal} cert-authority {a.public}": "cert-authority is not supported",
        f"{a.principal} ssh-ed25519 AAAA": "invalid key",
        f'{a.principal} valid-before="2020" {a.public}': 'invalid "valid-before" time',
        f"{a.principal}": "missing key",
        f'{a.principal} namespaces="git {a.public}': "missing end quote",
    }
    for line, reason in bad.items():
        signers(root, "# admins", a.line(), line)
        code, doc = cli_json(root, "check")
        assert code == 2, line
        (d,) = doc["diagnostics"]
        assert (d["code"], d["file"], d["line"]) == ("SC654", SIGNERS, 3)
        assert d["message"].startswith(f"{SIGNERS}:3: ") and reason in d["message"], d
        res = cli(root, "check")
        assert f"error SC654: {SIGNERS}:3: " in res.stderr
    # approve refuses too, before anything is written
    write_package(root, "blog", post(body=True))
    assert cli(root, "scan").exit_code == 0
    before = registry_bytes(root)
    code, doc = cli_json(
        root, "approve", "all", "--sign", "--key", str(a.path), "--by", a.principal
    )
    assert code == 2 and codes(doc) == ["SC654"]
    assert registry_bytes(root) == before


def test_approval_config_is_checked(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    for text, code_, words in [
        ("[approval]\nrequire_signature = true\n", "SC501", "'approval.require_signatures'?"),
        ('[approval]\nrequire_signatures = "yes"\n', "SC502", "must be true or false"),
        ("[approval]\ndestructive_signatures = -1\n", "SC502", "whole number"),
        ('[approval]\nallowed_signers = "../x"\n', "SC502", "relative path inside the root"),
    ]:  # fmt: skip
        (root / "schemactl.toml").write_text(text)
        code, doc = cli_json(root, "check")
        assert code == 2
        (d,) = doc["diagnostics"]
        assert d["code"] == code_ and (words in d["message"] or words in (d["hint"] or ""))


def test_allowed_signers_path_from_config(tmp_path: Path, keys: dict[str, Key]) -> None:
    config = REQUIRE + 'allowed_signers = "admins/signers"\n'
    root = project(tmp_path / "proj", {"shop": product()}, config)
    (root / "admins").mkdir()
    (root / "admins" / "signers").write_text(keys["carol"].line() + "\n")
    assert cli(root, "scan").exit_code == 0
    k = keys["carol"]
    res = cli(root, "approve", "all", "--sign", "--key", str(k.path), "--by", k.principal)
    assert res.exit_code == 0, res.output
    assert cli_json(root, "check")[0] == 0
    (root / "admins" / "signers").unlink()
    code, doc = cli_json(root, "check")
    assert code == 1
    assert "there is no admins/signers" in error_messages(doc, "SC652")[0]


def test_list_text_and_json_give_each_signature(tmp_path: Path, keys: dict[str, Key]) -> None:
    root = signed_project(tmp_path, keys, who="carol")
    m = record(root, "shop")
    bob = keys["bob"]
    m["signatures"].append({**m["signatures"][0], "principal": bob.principal})  # forged
    replace_record(root, m)
    code, doc = cli_json(root, "list", "--all")
    assert code == 0
    assert [x["id"] for x in doc["approvals"]] == [x["id"] for x in doc["migrations"]]
    (item,) = [x for x in doc["approvals"] if x["id"] == m["id"]]
    assert [(s["principal"], s["key_fingerprint"], s["valid"]) for s in item["signatures"]] == [
        ("carol@example.com", keys["carol"].fingerprint, True),
        ("bob@example.com", keys["carol"].fingerprint, False),
    ]
    assert item["signatures"][1]["status"] == "invalid"
    line = next(x for x in cli(root, "list", "--all").stdout.splitlines() if m["id"] in x)
    assert line.endswith("[signed: carol@example.com (valid), bob@example.com (INVALID); 1 of 1]")


def test_one_key_under_two_principals_counts_once(tmp_path: Path, keys: dict[str, Key]) -> None:
    """A key listed for alice and bob is one signer, whichever name it signs as."""
    config = 'packages = ["packages/*"]\n[approval]\ndestructive_signatures = 2\n'
    root = signed_project(tmp_path, keys, config=config)
    a = keys["alice"]
    signers(root, f"alice@example.com,bob@example.com {a.public}", keys["carol"].line())
    write_package(root, "shop", product(price=False))
    assert cli(root, "scan").exit_code == 0
    mid = pending_id(root, "shop")
    for who in ("alice@example.com", "bob@example.com"):
        code, doc = cli_json(root, "approve", mid, "--sign", "--key", str(a.path), "--by", who,
                             "--allow-destructive")  # fmt: skip
        assert code == 0, doc
        assert doc["migrations"] == []  # still pending
        (signed,) = doc["signed"]
        assert signed["id"] == mid and signed["principal"] == who
        assert signed["key_fingerprint"] == a.fingerprint
        assert (signed["signers"], signed["signers_needed"]) == (1, 2)
    code, doc = cli_json(root, "show", mid)
    assert code == 0
    sigs = doc["migration"]["signatures"]
    assert [(s["principal"], s["valid"]) for s in sigs] == [
        ("alice@example.com", True),
        ("bob@example.com", True),
    ]
    assert (doc["migration"]["signers"], doc["migration"]["signers_needed"]) == (1, 2)
    res = approve_signed(root, keys["carol"], mid, "--allow-destructive")
    assert res.exit_code == 0 and f"{mid}: approved by carol@example.com" in res.stdout
