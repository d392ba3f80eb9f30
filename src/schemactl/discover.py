"""Discovery (SPEC §2): which directories are packages, their ids, namespaces and files.

A package is a directory matched by a ``packages`` glob that has an entities file:
``seed/schema/entities.yaml`` or the ``schema.path`` of its ``seed/metadata.json``
(relative to ``seed/``).  Symlinks are followed only while they stay inside the root; a
loop or an escape is a diagnostic, never a hang.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, namespace_problem
from .diagnostics import Diagnostic

DEFAULT_SCHEMA_PATH = "schema/entities.yaml"


@dataclass(frozen=True, slots=True)
class Found:
    id: str
    namespace: str
    path: str  # package dir, relative to root (posix)
    file: str  # entities file, relative to root (posix)
    abs_file: str
    metadata_file: str | None = None
    listed_entities: tuple[str, ...] | None = None  # metadata.json schema.entities
    # the entities file's (size, mtime_ns) as discovery saw it, when it was a plain file
    # (``_plain``): its stamp, without a second stat (``project._file_keys``)
    seen: tuple[int, int] | None = field(default=None, compare=False)


def _rel(root: Path, p: Path) -> str:
    r, s = str(root), str(p)
    if s.startswith(r + os.sep):  # what glob gives back: the cheap way
        return s[len(r) + 1 :].replace(os.sep, "/")
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def _inside(root_real: str, p: str) -> bool:
    return p == root_real or p.startswith(root_real + os.sep)


_real_dirs: dict[str, str] = {}


def realpath(path: str | os.PathLike[str], *, strict: bool = False) -> str:
    """``os.path.realpath``, remembering the directories it resolved: a thousand packages
    share their parents, and realpath stats every component of every path.  Only an
    existing entry that is not a symlink is answered from the memory; anything else (a
    link, a loop, a missing file) goes to ``os.path.realpath`` itself."""
    text = os.fspath(path)
    parent, name = os.path.split(os.path.abspath(text))
    # abspath folds "link/.." before the link is followed: such paths go the long way
    if name and ".." not in text.split(os.sep):
        real_parent = _real_dirs.get(parent)
        if real_parent is None:
            real_parent = _real_dirs[parent] = realpath(parent)
        full = os.path.join(real_parent, name)
        try:
            if not stat.S_ISLNK(os.lstat(full).st_mode):
                return full
        except OSError:
            pass
    return os.path.realpath(path, strict=strict)


def _plain(real_dir: str, parts: list[str]) -> tuple[str, os.stat_result] | None:
    """``real_dir`` (a real path) joined with ``parts``, when that is already a real path
    to a regular file: every component exists and none is a symlink (one ``lstat`` each,
    where ``os.path.realpath`` and the checks after it would take three), with the file's
    status.  None for anything else (a link, ``..``, a missing component): the caller
    takes the long way."""
    path = real_dir
    st = None
    for part in parts:
        if part in ("", ".", ".."):
            return None
        path = f"{path}{os.sep}{part}"
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            return None
    return (path, st) if st is not None and stat.S_ISREG(st.st_mode) else None


def _real_dir(d: str) -> str | None:
    """``realpath(d, strict=True)`` when ``d`` is a directory and no symlink (one
    ``lstat``, its parent's real path remembered); None for anything else."""
    parent, name = os.path.split(d)
    real_parent = _real_dirs.get(parent)
    if real_parent is None or name in ("", ".", ".."):
        return None
    full = f"{real_parent}{os.sep}{name}"
    try:
        st = os.lstat(full)
    except OSError:
        return None
    return full if stat.S_ISDIR(st.st_mode) else None


def _match(root: Path, top: str, hit: str) -> tuple[str, str]:
    """A glob hit (normalised, relative to the root): its root-relative posix name and
    its path.  Plain strings: a Path per package cost more than the rest of its check."""
    if hit == "." or hit == ".." or hit.startswith(".." + os.sep) or os.path.isabs(hit):
        d = root / hit
        return _rel(root, d), os.fspath(d)
    return hit.replace(os.sep, "/"), os.path.join(top, hit)


def discover(config: Config) -> tuple[list[Found], list[Diagnostic]]:
    _real_dirs.clear()  # the file system may have changed since the last call
    root = config.root
    root_real = os.path.realpath(root)
    diags: list[Diagnostic] = []
    dirs: dict[str, tuple[str, str]] = {}  # rel -> the directory, its real path
    top = os.fspath(root)
    for pattern in config.packages:
        try:
            # the glob module, not Path.glob: on Python 3.11 Path.glob crashes on "." and "./"
            hits = glob.glob(pattern, root_dir=root, recursive=True, include_hidden=True)
            matches = [_match(root, top, p) for p in sorted(os.path.normpath(p) for p in hits)]
        except (OSError, RuntimeError, ValueError) as e:
            diags.append(Diagnostic("error", "SC111", f"cannot expand glob {pattern!r}: {e}"))
            continue
        for rel, d in matches:
            fast = _real_dir(d)
            if fast is not None:
                dirs.setdefault(rel, (d, fast))
                continue
            try:
                real = realpath(d, strict=True)
            except (OSError, RuntimeError) as e:
                if isinstance(e, RuntimeError) or getattr(e, "errno", None) == 40:
                    diags.append(
                        Diagnostic(
                            "error",
                            "SC111",
                            f"symlink loop at {rel}",
                            rel,
                            package=os.path.basename(d),
                        )
                    )
                continue
            if not os.path.isdir(real):
                continue
            if not _inside(root_real, real):
                diags.append(
                    Diagnostic(
                        "error",
                        "SC111",
                        f"package directory {rel} points outside the root ({real})",
                        rel,
                        hint="packages must live inside the project root",
                    )
                )
                continue
            dirs.setdefault(rel, (d, real))
    found: list[Found] = []
    for rel, (d, real) in sorted(dirs.items()):
        f = _package(config, rel, d, real, diags)
        if f is not None:
            found.append(f)
    return found, diags


def _package(
    config: Config, rel: str, d: str, real_pkg: str, diags: list[Diagnostic]
) -> Found | None:
    name = os.path.basename(d)
    meta_path = f"{d}{os.sep}seed{os.sep}metadata.json"  # d is a path from the glob
    meta_rel = f"{rel}/seed/metadata.json"
    meta: dict[str, Any] = {}
    meta_or_none = _read_metadata(meta_path, meta_rel, diags)
    has_meta = meta_or_none is not _ABSENT
    if has_meta:
        if meta_or_none is None:
            return None
        meta = meta_or_none
    schema = meta.get("schema")
    if schema is not None and not isinstance(schema, dict):
        diags.append(
            Diagnostic(
                "error",
                "SC503",
                "metadata.json 'schema' must be an object with path/entities/namespace",
                meta_rel,
                package=name,
            )
        )
        return None
    schema = schema or {}
    for k in schema:
        if k not in ("path", "entities", "namespace"):
            diags.append(
                Diagnostic(
                    "error",
                    "SC503",
                    f"metadata.json: unknown key 'schema.{k}'",
                    meta_rel,
                    package=name,
                    hint="schema allows: path, entities, namespace",
                )
            )
            return None
    spath = schema.get("path", DEFAULT_SCHEMA_PATH)
    explicit = "path" in schema
    if not isinstance(spath, str) or not spath:
        diags.append(Diagnostic("error", "SC503", "schema.path must be a string", meta_rel))
        return None
    plain = None if os.path.isabs(spath) else _plain(real_pkg, ["seed", *spath.split("/")])
    # a plain path is a regular file inside the package; anything else goes the long way
    if plain is not None:
        real_target, st = plain
        seen: tuple[int, int] | None = (st.st_size, st.st_mtime_ns)
    else:
        found = _resolve_target(rel, d, real_pkg, spath, explicit, diags)
        if found is None:
            return None
        real_target, seen = found, None
    pkg_id = meta.get("packageId", name)
    if not isinstance(pkg_id, str) or not pkg_id:
        diags.append(Diagnostic("error", "SC503", "packageId must be a string", meta_rel))
        return None
    ns_src = meta_rel
    if "namespace" in schema:
        ns = schema["namespace"]
    elif pkg_id in config.namespaces:
        ns, ns_src = config.namespaces[pkg_id], config.source or "schemactl.toml"
    else:
        ns = pkg_id
    problem = namespace_problem(ns) if isinstance(ns, str) else "is not a string"
    if problem:
        diags.append(
            Diagnostic(
                "error",
                "SC505",
                f"namespace {ns!r} of package {pkg_id} {problem}",
                ns_src if has_meta or ns_src != meta_rel else f"{rel}",
                package=pkg_id,
                hint=f'set one with [namespaces] {pkg_id} = "..." in schemactl.toml '
                'or "schema": {"namespace": "..."} in metadata.json',
            )
        )
        return None
    listed = schema.get("entities")
    if listed is not None and (
        not isinstance(listed, list) or not all(isinstance(x, str) for x in listed)
    ):
        diags.append(
            Diagnostic("error", "SC503", "schema.entities must be a list of names", meta_rel)
        )
        return None
    file_rel = f"{rel}/seed/{spath}"  # normalised below
    return Found(
        id=pkg_id,
        namespace=ns,
        path=rel,
        file=os.path.normpath(file_rel).replace(os.sep, "/"),
        abs_file=real_target,
        metadata_file=meta_rel if has_meta else None,
        listed_entities=tuple(listed) if listed is not None else None,
        seen=seen,
    )


def _resolve_target(
    rel: str, d: str, real_pkg: str, spath: str, explicit: bool, diags: list[Diagnostic]
) -> str | None:
    """The real path of a package's entities file that is not plain (``_plain``): a
    symlink, ``..``, an absolute or a missing path; None, with a diagnostic when it is an
    error, when it is no usable file inside the package."""
    target = os.path.join(d, "seed", spath)
    meta_rel = f"{rel}/seed/metadata.json"
    # where to point: the metadata.json that named the path, else the entities file itself
    where = meta_rel if explicit else f"{rel}/seed/{DEFAULT_SCHEMA_PATH}"
    try:
        real_target = realpath(target)
        if os.path.islink(target) and not os.path.exists(target):
            os.path.realpath(target, strict=True)  # a dangling link, or a loop (ELOOP)
    except FileNotFoundError:
        pass  # dangling: reported as missing below
    except (OSError, RuntimeError):
        diags.append(
            Diagnostic(
                "error", "SC111", f"symlink loop at {spath}", where, package=os.path.basename(d)
            )
        )
        return None
    if os.path.isabs(spath) or not _inside(real_pkg, real_target):
        what = f"schema.path {spath!r}" if explicit else f"{DEFAULT_SCHEMA_PATH} (a symlink)"
        diags.append(
            Diagnostic(
                "error",
                "SC504",
                f"{what} points outside the package {rel}",
                where,
                package=os.path.basename(d),
                hint="keep the entities file inside the package directory",
            )
        )
        return None
    if not os.path.isfile(real_target):
        if explicit:
            diags.append(
                Diagnostic(
                    "error",
                    "SC504",
                    f"schema.path {spath!r} does not exist",
                    meta_rel,
                    package=os.path.basename(d),
                )
            )
        return None  # a package without entities is not a schema package
    return real_target


_ABSENT: dict[str, Any] = {}  # no metadata.json (a distinct object: compared by identity)


def _read_metadata(path: str, rel: str, diags: list[Diagnostic]) -> dict[str, Any] | None:
    """The object in ``path``; ``_ABSENT`` when there is no such file (or a directory
    is in its place); None, with a diagnostic, when it is unreadable or invalid."""
    try:
        # os.open, not open(): a buffered file object costs more than the small read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):  # a directory: IsADirectoryError here
                chunks.append(chunk)
        finally:
            os.close(fd)
        data = json.loads(b"".join(chunks).decode("utf-8-sig"))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return _ABSENT
    except UnicodeDecodeError:
        diags.append(Diagnostic("error", "SC503", "metadata.json is not valid UTF-8", rel))
        return None
    except json.JSONDecodeError as e:
        diags.append(
            Diagnostic("error", "SC503", f"metadata.json: {e.msg}", rel, e.lineno, e.colno)
        )
        return None
    except OSError as e:
        diags.append(Diagnostic("error", "SC110", f"cannot read metadata.json: {e.strerror}", rel))
        return None
    if not isinstance(data, dict):
        diags.append(Diagnostic("error", "SC503", "metadata.json must hold an object", rel))
        return None
    return data
