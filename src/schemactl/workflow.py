"""Registry workflow commands (scan, list, show, approve, reject, generate, preview, status,
apply, check).  Not implemented yet: each exits 2 and never claims success."""

from __future__ import annotations

from typing import Any, NoReturn

from .errors import UsageError


def _todo(name: str) -> NoReturn:
    raise UsageError(f"`{name}` is not implemented yet", code="SC000")


def scan(*_: Any, **__: Any) -> NoReturn:
    _todo("scan")


def list_migrations(*_: Any, **__: Any) -> NoReturn:
    _todo("list")


def show(*_: Any, **__: Any) -> NoReturn:
    _todo("show")


def approve(*_: Any, **__: Any) -> NoReturn:
    _todo("approve")


def reject(*_: Any, **__: Any) -> NoReturn:
    _todo("reject")


def generate(*_: Any, **__: Any) -> NoReturn:
    _todo("generate")


def preview(*_: Any, **__: Any) -> NoReturn:
    _todo("preview")


def status(*_: Any, **__: Any) -> NoReturn:
    _todo("status")


def apply(*_: Any, **__: Any) -> NoReturn:
    _todo("apply")


def check(*_: Any, **__: Any) -> NoReturn:
    _todo("check")
