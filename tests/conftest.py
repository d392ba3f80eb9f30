"""Shared fixtures. PostgreSQL fixtures live in pg.py, those of the apply/status/shadow tests
in deploy_util.py; add further fixtures below."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from deploy_util import approved_template, db_url, project
from npm_deps import ensure_npm_deps
from pg import (
    in_ci,
    pg_db,
    pg_pool,
    pg_server,
    pytest_collection_modifyitems,
    pytest_generate_tests,
    skip_or_fail,
)

# Property tests: a wide random search locally; in CI the same examples every run, so
# that a red CI is reproducible and never depends on luck (issue 10).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci() else "dev"))

__all__ = [
    "approved_template",
    "corpus_dir",
    "db_url",
    "pg_db",
    "pg_pool",
    "pg_server",
    "project",
    "pytest_collection_modifyitems",
    "pytest_generate_tests",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Keep schemactl's validation cache out of the user's home during the tests (child
    processes inherit it); tests of the cache itself point it elsewhere per test."""
    os.environ["SCHEMACTL_CHECK_WRITES"] = "1"  # every registry written is shape-checked
    if "SCHEMACTL_CACHE_DIR" not in os.environ:
        os.environ["SCHEMACTL_CACHE_DIR"] = tempfile.mkdtemp(prefix="schemactl-test-cache-")
        config.stash[_OWN_CACHE] = os.environ["SCHEMACTL_CACHE_DIR"]


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_CACHE, None)
    if own:
        shutil.rmtree(own, ignore_errors=True)
        os.environ.pop("SCHEMACTL_CACHE_DIR", None)


_OWN_CACHE = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The sample monorepo's packages: <repo>/../shared/corpus/metabuilder/packages."""
    path = (REPO_ROOT.parent / "shared" / "corpus" / "metabuilder" / "packages").resolve()
    if not path.is_dir():
        skip_or_fail(f"sample corpus not found at {path}")
    return path


@pytest.fixture(scope="session", autouse=True)
def npm_test_deps() -> None:
    """``npm ci`` in tests/prisma when its node_modules is missing or stale (npm_deps.py), so
    that the suite on a fresh clone runs the Prisma (and other node-based) checks too."""
    ensure_npm_deps()
