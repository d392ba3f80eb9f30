"""The registry in memory, and its safe read-modify-write (SPEC §7).

:class:`Registry` holds every package file of a project's registry folder as plain data.
:func:`transaction` runs a read-modify-write under an exclusive ``filelock`` lock on
``<folder>.lock`` for the whole cycle; only files whose bytes change are written, each to a
temporary file in the folder that is fsynced, renamed into place, and the folder fsynced.
A crash leaves each file old or new (and perhaps a temporary, which the next writer
removes under the lock); a killed process's lock is released by the operating system.

A writer of thousands of files (a first ``scan``) need not hold them all: ``stage``
writes one package's file to its temporary at once and lets its data go; ``write``
renames it into place with the others, and a failed transaction removes it.  A staged
temporary is fsynced by a background thread while the process goes on with the next
package (an fsync waits on the disk, not on Python); ``synced`` waits for them, and
``write`` does before it renames anything.

A file whose bytes have a brief (``briefs``: what ``scan`` reads of it, kept in the user
cache) is parsed only when asked for more (``files``, ``baseline``, ``records``...), so a
re-scan after one change parses only what it changes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import stamps
from ..diagnostics import did_you_mean
from ..errors import OperationalError, UsageError
from . import briefs, layout
from .records import APPROVED

LOCK_TIMEOUT = 60.0  # seconds; the environment variable SCHEMACTL_LOCK_TIMEOUT overrides it


class Registry:
    """Every package file of one registry folder, parsed, by packageId."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root
        self._files: dict[str, dict[str, Any]] = {}  # parsed
        self._unparsed: set[str] = set()  # packages known by their brief alone
        self._briefs: dict[str, briefs.Brief] = {}  # of the unparsed packages
        self._known: dict[str, briefs.Entry] = {}  # package -> [stamp, digest, brief]
        self._raw: dict[str, bytes] = {}  # each file's bytes as read or written (not those
        # known by their stamp alone: they are read if parsed)
        self._staged: dict[str, str] = {}  # package -> its new file, written, not yet in place
        self._syncs = _Syncs()  # the fsyncs of the files this process staged

    # ------------------------------------------------------------------ reading

    @classmethod
    def read(cls, directory: Path, root: Path) -> Registry:
        """The registry in ``directory``: empty when absent; OperationalError (exit 3)
        when a file is unreadable, or when the project still has a format-1 registry."""
        reg = cls(directory, root)
        legacy = layout.legacy_file(directory)
        if legacy.is_file():
            raise OperationalError(
                f"{reg.rel(legacy)} is a registry of the old format {layout.LEGACY_FORMAT}",
                hint="run `schemactl upgrade` to convert it to one file per package",
                code="SC610",
            )
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            return reg
        except OSError as e:
            raise OperationalError(
                f"cannot read the registry folder {reg.rel(directory)}: {e.strerror}",
                code="SC000",
            ) from None
        use_briefs = briefs.enabled()
        stored = briefs.load(directory) if use_briefs else {}
        now = stamps.now_ns()
        missed = False
        folder = os.fspath(directory)
        for name in names:
            if name.startswith(".") or not name.endswith(layout.SUFFIX):
                continue
            package = name[: -len(layout.SUFFIX)]
            entry = stored.get(name)
            if entry is not None and not briefs.valid(entry):
                entry = None
            try:
                if entry is not None and stamps.matches(
                    entry[0], stamps.seen(os.stat(f"{folder}/{name}"))
                ):
                    reg._brief_only(package, entry)
                    continue  # unchanged since its brief: not even read
                raw, stamp = _read(directory / name, now)
            except OSError as e:
                raise OperationalError(
                    f"cannot read registry file {reg.rel(directory / name)}: {e.strerror}",
                    code="SC000",
                ) from None
            digest = briefs.digest(name, raw) if use_briefs else ""
            if entry is not None and entry[1] == digest:
                reg._brief_only(package, [stamp, digest, entry[2]])
                reg._raw[package] = raw
                missed = missed or stamp != entry[0]
                continue
            path = directory / name
            data = layout.parse(path, raw, reg.rel(path))
            reg._files[data["package"]] = data
            reg._raw[data["package"]] = raw
            if use_briefs:
                reg._known[data["package"]] = [stamp, digest, briefs.of(data)]
                missed = True
        if missed or len(stored) != len(reg._known):
            reg._remember()
        return reg

    def _brief_only(self, package: str, entry: briefs.Entry) -> None:
        """Know ``package`` by its brief alone; its file is read and parsed on demand."""
        self._unparsed.add(package)
        self._briefs[package] = entry[2]
        self._known[package] = entry

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Every package file's data by packageId (parsing those not parsed yet)."""
        for package in list(self._unparsed):
            self._parse(package)
        return self._files

    def _parse(self, package: str) -> dict[str, Any]:
        self._unparsed.remove(package)
        path = layout.package_file(self.directory, package)
        del self._briefs[package]
        raw = self._raw.get(package)
        if raw is None:  # known by its stamp: read now
            try:
                raw = self._raw[package] = path.read_bytes()
            except OSError as e:
                raise OperationalError(
                    f"cannot read registry file {self.rel(path)}: {e.strerror}", code="SC000"
                ) from None
        data = layout.parse(path, raw, self.rel(path))
        self._files[package] = data
        return data

    def _data(self, package: str) -> dict[str, Any] | None:
        if package in self._unparsed:
            return self._parse(package)
        return self._files.get(package)

    def brief(self, package: str) -> briefs.Brief | None:
        """What ``scan`` needs of a package's file, when it is known without parsing it:
        ``[baseline checksums, [[id, status, base_state, target_state], ...]]``."""
        return self._briefs.get(package)

    def _remember(self) -> None:
        if briefs.enabled():
            briefs.store(self.directory, {p + layout.SUFFIX: e for p, e in self._known.items()})

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def file_of(self, package: str) -> str:
        return self.rel(layout.package_file(self.directory, package))

    def packages(self) -> list[str]:
        return sorted(self._files.keys() | self._unparsed)

    def package(self, package: str) -> dict[str, Any]:
        """The data of one package's file, made (empty) on first use."""
        data = self._data(package)
        if data is None:
            data = self._files[package] = layout.empty(package)
        return data

    def baseline(self, package: str) -> dict[str, dict[str, Any]]:
        data = self._data(package)
        return data["baseline"] if data is not None else {}

    def records(self, package: str) -> list[dict[str, Any]]:
        data = self._data(package)
        return data["migrations"] if data is not None else []

    def all_records(self) -> list[dict[str, Any]]:
        """Every record of every package, in id order (the application order)."""
        out = [m for data in self.files.values() for m in data["migrations"]]
        out.sort(key=lambda m: m["id"])
        return out

    def approved(self) -> list[dict[str, Any]]:
        """Approved records in application order: ids sort in that order (SPEC §7)."""
        return [m for m in self.all_records() if m["status"] == APPROVED]

    def find(self, mid: str) -> dict[str, Any]:
        ids = []
        for data in self.files.values():
            for m in data["migrations"]:
                if m["id"] == mid:
                    return m
                ids.append(m["id"])
        guess = did_you_mean(mid, ids)
        raise UsageError(
            f"no migration {mid!r}",
            hint=f"did you mean '{guess}'?" if guess else "see `schemactl list --all`",
        )

    def newest_id(self) -> str | None:
        parsed = (m["id"] for d in self._files.values() for m in d["migrations"])
        briefed = (r[0] for b in self._briefs.values() for r in b[1])
        return max((*parsed, *briefed), default=None)

    def owner_of(self, entity: str) -> str | None:
        """The package whose baseline holds ``entity``."""
        for pkg, data in self.files.items():
            if entity in data["baseline"]:
                return pkg
        return None

    # ------------------------------------------------------------------ writing

    def write(self) -> list[str]:
        """Write every package file whose bytes changed, and put the staged ones in
        place; the files written (relative)."""
        written = []
        renamed = False
        self.synced()
        # a file known by its brief alone was not asked for, so not changed
        for pkg in sorted(self._files.keys() | self._staged.keys()):
            path = layout.package_file(self.directory, pkg)
            tmp = self._staged.get(pkg)
            if tmp is not None:
                os.replace(tmp, path)  # fsynced when staged; the folder once, below
                del self._staged[pkg]
                renamed = True
                written.append(self.file_of(pkg))
                continue
            raw = self._bytes(pkg)
            if self._raw.get(pkg) == raw:
                continue
            _atomic_write(path, raw)
            self._raw[pkg] = raw
            if briefs.enabled():  # just written: no stamp until it is older (``stamps``)
                self._known[pkg] = [
                    None,
                    briefs.digest(path.name, raw),
                    briefs.of(self._files[pkg]),
                ]
            written.append(self.file_of(pkg))
        if renamed:
            _fsync(self.directory)
        if written:
            self._remember()
        return written

    def stage(self, package: str) -> str:
        """Write ``package``'s file now, to a temporary beside it that ``write`` puts in
        place (``discard`` removes it), and let its data go: this registry holds nothing
        more of that package, and must not be asked about it again.  The temporary's
        path, for a forked worker to hand to its parent's ``adopt``."""
        path = layout.package_file(self.directory, package)
        tmp = _write_temporary(path, self._bytes(package), sync=False)
        self.adopt(package, tmp)  # first: a failed fsync still leaves it to ``discard``
        self._syncs.add(tmp)
        return tmp

    def synced(self) -> None:
        """Wait until every file this process staged is fsynced (a forked worker calls
        it before it ends; ``write`` before it renames)."""
        self._syncs.wait()

    def adopt(self, package: str, tmp: str) -> None:
        """Take ``tmp``, staged by ``stage`` (perhaps in a forked worker), as the new file
        of ``package``."""
        self._files.pop(package, None)
        self._raw.pop(package, None)
        self._known.pop(package, None)
        old = self._staged.pop(package, None)
        if old is not None and old != tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old)
        self._staged[package] = tmp

    def discard(self) -> None:
        """Remove the staged files (the transaction failed, or was a dry run)."""
        with contextlib.suppress(OSError):
            self._syncs.wait()
        for tmp in self._staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._staged.clear()

    def _bytes(self, package: str) -> bytes:
        data = self._files[package]
        data["migrations"].sort(key=lambda m: m["id"])
        if os.environ.get("SCHEMACTL_CHECK_WRITES"):  # the test suite checks our writes
            problem = layout.shape_problem(data)
            if problem:
                raise AssertionError(f"about to write a malformed registry file: {problem}")
        return layout.dumps(data)


def _read(path: Path, now: int) -> tuple[bytes, stamps.Stamp | None]:
    """A file's bytes, and its stamp taken before they were read."""
    with open(path, "rb") as fh:
        stamp = stamps.of(os.fstat(fh.fileno()), now)
        return fh.read(), stamp


class _Syncs:
    """fsyncs of written files, run by one background thread of this process once there
    are many (the first few are fsynced at once: a re-scan writes one file, and a thread
    would cost it more than it saves)."""

    AT_ONCE = 16  # files fsynced at once, before the thread starts
    LIMIT = 256  # files written but not yet fsynced, at most

    def __init__(self) -> None:
        self._pool: Any = None
        self._pid = 0
        self._pending: list[Any] = []
        self._count = 0

    def add(self, path: str) -> None:
        self._count += 1
        if self._count <= self.AT_ONCE:
            _fsync(path)
            return
        if self._pool is None or self._pid != os.getpid():  # none yet, or a fork's copy
            from concurrent.futures import ThreadPoolExecutor

            self._pool, self._pid, self._pending = ThreadPoolExecutor(1), os.getpid(), []
        self._pending.append(self._pool.submit(_fsync, path))
        if len(self._pending) > self.LIMIT:
            self._pending.pop(0).result()

    def wait(self) -> None:
        """Wait for every fsync (raising the first that failed), and end the thread: no
        thread may outlive this, for a fork must not copy one."""
        pending, pool = self._pending, self._pool
        self._pending, self._pool = [], None
        if pool is None or self._pid != os.getpid():
            return
        try:
            for f in pending:
                f.result()
        finally:
            pool.shutdown(wait=True)


def _fsync(path: str | Path) -> None:
    """fsync a file or a folder by its path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temporary(path: Path, raw: bytes, *, sync: bool = True) -> str:
    """``raw`` in a new temporary file beside ``path``, with ``path``'s mode; fsynced,
    unless ``sync`` is off (then the caller fsyncs it before renaming it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def _atomic_write(path: Path, raw: bytes) -> None:
    tmp = _write_temporary(path, raw)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync(path.parent)


def _mode(path: Path) -> int:
    """Keep the file's permissions; a new file gets the usual 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_stale_temporaries(directory: Path) -> None:
    """Temporary files a killed writer left in the folder (call with the lock held)."""
    for tmp in directory.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def lock_timeout() -> float:
    raw = os.environ.get("SCHEMACTL_LOCK_TIMEOUT")
    if raw is None:
        return LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UsageError(f"SCHEMACTL_LOCK_TIMEOUT={raw!r} is not a number of seconds", code="SC000")
    return value


def _ignore_lock_in_git(directory: Path) -> None:
    """In schemactl's own folder (``.schemactl/``), a .gitignore keeps the lock file and
    stray temporaries out of commits; the registry files themselves are committed."""
    if directory.parent.name != ".schemactl":
        return
    ignore = directory.parent / ".gitignore"
    want = [f"{directory.name}.lock", f"{directory.name}/.*.tmp"]
    try:
        text = ignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = "# written by schemactl: commit the registry, never its lock or temporaries\n"
    except OSError:
        return
    missing = [w for w in want if w not in text.splitlines()]
    if missing:
        with contextlib.suppress(OSError):
            ignore.write_text(text.rstrip("\n") + "\n" + "\n".join(missing) + "\n", "utf-8")


@contextlib.contextmanager
def locked(directory: Path, timeout: float | None = None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    directory.parent.mkdir(parents=True, exist_ok=True)
    _ignore_lock_in_git(directory)
    lock_path = directory.with_name(directory.name + ".lock")
    lock = FileLock(str(lock_path), timeout=lock_timeout() if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise OperationalError(
            f"timed out waiting for the registry lock {lock_path}",
            hint="another schemactl is writing the registry; try again",
            code="SC000",
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def transaction(directory: Path, root: Path, *, dry_run: bool = False) -> Iterator[Registry]:
    """Lock, read, let the caller modify, write back the files that changed (unless
    ``dry_run``).  The caller's exception leaves every file as it was."""
    with locked(directory):
        if directory.is_dir():
            _remove_stale_temporaries(directory)
        reg = Registry.read(directory, root)
        try:
            yield reg
            if not dry_run:
                reg.write()
        finally:
            reg.discard()  # what is still staged was not put in place
