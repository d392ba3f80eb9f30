"""Fleet benchmark (SPEC §12, issue 13): ``apply`` to N databases with ``--jobs 8`` vs ``--jobs 1``.

    .venv/bin/python bench/fleet.py [--databases 100] [--repeat 3] [--jobs 8] [--json FILE]
                                    [--server-url URL]

What it does:

1. copies examples/ to a work directory, then ``schemactl scan`` and ``approve all``
   (8 migrations, one per package, 20 tables);
2. starts a throwaway PostgreSQL (``initdb``/``pg_ctl``, the same fast settings as the test
   suite: fsync off) on this machine, unless ``--server-url`` names a server on which it
   may create and drop databases;
3. creates one template database (with the ``public.users`` table the examples expect)
   and N databases from it, and writes a ``--targets`` file naming them;
4. per repetition, for ``--jobs 1`` and ``--jobs J`` in alternating order: recreates the N
   databases from the template (not timed), then times one
   ``schemactl apply --targets FILE --jobs …`` subprocess, spawn to exit, and checks that
   it exited 0 with every target ``applied``.

The figure is the median wall time of each side and the median of the per-repetition
ratios (jobs 1 / jobs J).  The database server runs on the same machine, as SPEC §12 asks.
Not a test: the machine's load decides the figure; read it with the machine line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
EXAMPLES = REPO / "examples"


def log(msg: str) -> None:
    sys.stderr.write(f"[fleet] {msg}\n")
    sys.stderr.flush()


def schemactl(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    cmd = [sys.executable, "-m", "schemactl", "--no-color", "--root", str(root), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from schemactl.shadow import throwaway_server

    with throwaway_server(tcp=True, settings={"max_connections": "200"}) as s:
        yield s.url


def db_url(base: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    info = conninfo_to_dict(base)
    info["dbname"] = name
    return make_conninfo(**{k: str(v) for k, v in info.items()})


def admin(base: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for s in statements:
            conn.execute(s)  # type: ignore[arg-type]


def recreate(base: str, names: list[str], template: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{n}" TEMPLATE "{template}"')  # type: ignore[arg-type]


def timed_apply(
    root: Path, targets: Path, jobs: int, env: dict[str, str], work: Path
) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MB, exit code, stdout) of one fleet apply subprocess."""
    out = work / "apply.json"
    cmd = [sys.executable, "-m", "schemactl", "--no-color", "--root", str(root), "--json"]
    cmd += ["apply", "--targets", str(targets), "--jobs", str(jobs)]
    with out.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return took, usage.ru_maxrss / 1024, proc.returncode, out.read_text()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--databases", type=int, default=100, metavar="N")
    ap.add_argument("--repeat", type=int, default=3, metavar="R")
    ap.add_argument("--jobs", type=int, default=8, metavar="J")
    ap.add_argument("--server-url", help="a server where databases may be created and dropped")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="schemactl-fleet-bench-"))
    try:
        root = work / "examples"
        shutil.copytree(EXAMPLES, root)
        for step in (("scan",), ("approve", "all", "--by", "bench")):
            proc = schemactl(root, *step)
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout + proc.stderr)
                return 2
        with server(args.server_url) as base:
            prefix = f"fleetbench_{os.getpid()}"
            template = f"{prefix}_template"
            names = [f"{prefix}_{i:03d}" for i in range(args.databases)]
            admin(base, f'CREATE DATABASE "{template}"')
            admin(db_url(base, template), "CREATE TABLE public.users (id text PRIMARY KEY)")
            targets = work / "targets.toml"
            targets.write_text(
                "".join(f'[[targets]]\nname = "{n}"\nurl = "{db_url(base, n)}"\n\n' for n in names),
                encoding="utf-8",
            )
            env = {**os.environ, "SCHEMACTL_PROGRESS": "off"}
            samples: dict[int, list[float]] = {1: [], args.jobs: []}
            ratios: list[float] = []
            peak: dict[int, float] = {}
            try:
                for rep in range(args.repeat):
                    order = [1, args.jobs] if rep % 2 == 0 else [args.jobs, 1]
                    got: dict[int, float] = {}
                    for jobs in order:
                        recreate(base, names, template)
                        took, rss, code, out = timed_apply(root, targets, jobs, env, work)
                        doc = json.loads(out)
                        states = {t["status"] for t in doc["targets"]}
                        if code != 0 or states != {"applied"}:
                            sys.stderr.write(out[-2000:])
                            return 3
                        got[jobs] = took
                        samples[jobs].append(took)
                        peak[jobs] = max(peak.get(jobs, 0.0), rss)
                        log(f"rep {rep + 1}: --jobs {jobs}: {took:.2f}s, peak RSS {rss:.0f} MB")
                    ratios.append(got[1] / got[args.jobs])
            finally:
                recreate_drop = [*names, template]
                import psycopg

                with psycopg.connect(base, autocommit=True) as conn:
                    for n in recreate_drop:
                        conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')  # type: ignore[arg-type]
        med = {j: statistics.median(v) for j, v in samples.items()}
        ratio = statistics.median(ratios)
        result = {
            "databases": args.databases,
            "migrations": 8,
            "repeat": args.repeat,
            "jobs": args.jobs,
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "seconds": {str(j): v for j, v in samples.items()},
            "median_seconds": {str(j): v for j, v in med.items()},
            "ratio": ratio,
            "peak_rss_mb": {str(j): v for j, v in peak.items()},
            "budget": 2.0,
        }
        print(
            f"apply to {args.databases} databases x 8 migrations "
            f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}):\n"
            f"  --jobs 1: {med[1]:.2f}s   --jobs {args.jobs}: {med[args.jobs]:.2f}s   "
            f"speed-up {ratio:.2f}x (budget >= 2x: {'PASS' if ratio >= 2 else 'FAIL'})\n"
            f"  peak RSS of the apply process: --jobs 1 {peak[1]:.0f} MB, "
            f"--jobs {args.jobs} {peak[args.jobs]:.0f} MB"
        )
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
