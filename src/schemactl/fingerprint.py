"""The identity of the running code, for the caches: the version, and the names, sizes
and modification times of the package's own files.  A release changes the version; an
editable install edited in place changes the files; either way no cache entry made by
other code is reused."""

from __future__ import annotations

import hashlib
import os
from functools import cache

from . import __version__


@cache
def code() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256(__version__.encode())
    for folder, dirs, files in os.walk(here):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                st = os.stat(os.path.join(folder, name))
                rel = os.path.relpath(os.path.join(folder, name), here)
                h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return f"{__version__}+{h.hexdigest()[:16]}"
