"""schemactl's benchmark: the budgets of SPEC §12, measured side by side with a floor and a peer.

    .venv/bin/python bench/run.py [--packages 1000] [--repeat 5] [--scale-check] [--json FILE]

It generates a seeded monorepo (bench/generate.py) under bench/out/ (git-ignored) and
measures, each figure the median over --repeat repetitions, every repetition measuring
both sides of a comparison back to back (their order alternating) and the ratio taken
within that pair; the ratio shown is the median of those per-pair ratios:

  validate   cold ``schemactl validate`` (no cache)  vs  the floor: one Python process that
             imports yaml and parses every entities.yaml with PyYAML's C loader
  scan       cold ``schemactl scan`` on a fresh copy with no registry (validate, plan,
             render SQL, write the registry)  vs  ``drizzle-kit generate`` on the same
             tables written as drizzle pgSchema TypeScript
  re-scan    ``schemactl scan`` after one package changed, on a copy whose registry has
             everything approved (and whose cache is warm)  vs  the cold scan
  generate   ``schemactl generate`` of every approved migration of that registry (the
             full DDL, one folder per package) into an empty directory, no cache  vs
             the drizzle-kit run of the same repetition (SPEC §12: faster than it)
  RSS        peak resident memory of each schemactl process (wait4's ru_maxrss)
  --version  ``schemactl --version``  vs  ``python -c pass`` (both wall time)

Every command is a subprocess, timed from spawn to exit (interpreter or node start-up
included on both sides), after one unrecorded warm-up run of each so that the OS file
cache and Python's bytecode cache are warm: "cold" means no schemactl cache and no
registry, not a cold disk.  Children run with PYTHONDONTWRITEBYTECODE unset and
PYTHONPYCACHEPREFIX=bench/out/pycache, as an installed schemactl would (pip compiles its
bytecode at install), without writing into the source tree.  CPU time (user + sys) is
recorded next to wall time: on a busy machine the CPU ratios are the steadier figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402

DRIZZLE_BIN = BENCH / "node" / "node_modules" / "drizzle-kit" / "bin.cjs"

FLOOR = """\
import glob, sys, yaml
for p in sorted(glob.glob(sys.argv[1] + "/packages/*/seed/schema/entities.yaml")):
    with open(p, "rb") as f:
        yaml.load(f, Loader=yaml.CSafeLoader)
"""

BUDGETS = {
    "validate": 1.5,  # x the floor
    "scan": 0.5,  # x drizzle-kit
    "rescan": 0.1,  # x the cold scan: SPEC §12 "under 10%"
    "generate": 1.0,  # x drizzle-kit: SPEC §12 "faster than drizzle-kit"
    "rss_mb": 300.0,
    "scale_rss_mb": 600.0,  # a cold scan at 10,000 packages
    "version_ms": 100.0,
}


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + sys, of the process and all its children
    rss_mb: float  # peak RSS of the largest single process (GNU time)
    rc: int
    output: str
    tree_mb: float = float("nan")  # peak PSS summed over the process tree (sampled)

    @property
    def mem_mb(self) -> float:
        """Peak memory: the larger of the two (workers forked by the command count)."""
        vals = [v for v in (self.rss_mb, self.tree_mb) if not math.isnan(v)]
        return max(vals) if vals else float("nan")


class TreeMemory(threading.Thread):
    """Samples the summed PSS of a process and its descendants every ``interval`` seconds.

    GNU time reports the peak RSS of the largest single process; a command that forks
    worker processes uses the sum.  PSS splits pages shared after fork between the
    processes sharing them, so the sum does not count them twice."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            with contextlib.suppress(Exception):
                self.peak_kb = max(self.peak_kb, self.sample())

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.peak_kb / 1024 if self.peak_kb else float("nan")

    def sample(self) -> int:
        parent: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = Path(f"/proc/{d}/stat").read_text()
                except OSError:
                    continue
                parent[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            kids = [p for p, pp in parent.items() if pp in frontier and p not in tree]
            tree.update(kids)
            frontier = kids
        total = 0
        for p in tree:
            try:
                text = Path(f"/proc/{p}/smaps_rollup").read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        return total


TIME = Path("/usr/bin/time")


def run(
    cmd: Sequence[str | Path], env: dict[str, str], cwd: Path | None = None, rss: bool = True
) -> Sample:
    """Run one command to completion: wall time, CPU time and peak RSS of that child.

    The peak RSS comes from GNU time (``/usr/bin/time -f %M``) when it is installed: a
    child's ru_maxrss also counts the RSS of the process that forked it (Linux carries the
    high-water mark across exec), so measuring it straight from this process would report
    at least this process's own, large RSS.  GNU time is a small process in between.
    """
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as tf:
        wrap = [str(TIME), "-f", "%M", "-o", tf.name] if rss and TIME.exists() else []
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [*wrap, *(str(c) for c in cmd)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        sampler = TreeMemory(p.pid) if rss else None
        if sampler:
            sampler.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        tree_mb = sampler.stop() if sampler else float("nan")
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
        maxrss_kb = float("nan")  # not measured
        if wrap:
            last = (tf.read().strip().splitlines() or ["nan"])[-1]
            maxrss_kb = float(last) if last.isdigit() else float("nan")
    cpu = ru.ru_utime + ru.ru_stime
    return Sample(wall, cpu, maxrss_kb / 1024, p.returncode, text, tree_mb)


def ok(s: Sample, what: str, codes: tuple[int, ...] = (0,)) -> Sample:
    if s.rc not in codes:
        tail = "\n".join(s.output.splitlines()[-30:])
        raise SystemExit(f"benchmark aborted: {what} exited {s.rc}\n{tail}")
    return s


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def add(self, s: Sample) -> Sample:
        self.samples.append(s)
        return s

    def med(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples)

    def values(self, attr: str) -> list[float | None]:
        vals = (getattr(s, attr) for s in self.samples)
        return [None if math.isnan(v) else round(v, 4) for v in vals]


@dataclass
class Pair:
    """Two series measured back to back; ratios are taken sample by sample."""

    name: str
    ours: Series = field(default_factory=Series)
    ref: Series = field(default_factory=Series)
    counts: dict[str, Any] = field(default_factory=dict)  # what was measured, if it differs

    def ratios(self, attr: str = "wall") -> list[float]:
        return [
            getattr(a, attr) / getattr(b, attr)
            for a, b in zip(self.ours.samples, self.ref.samples, strict=True)
        ]

    def ratio(self, attr: str = "wall") -> float:
        return statistics.median(self.ratios(attr))

    def to_json(self) -> dict[str, Any]:
        return {
            "ours": {a: self.ours.values(a) for a in ("wall", "cpu", "rss_mb", "tree_mb")},
            "reference": {a: self.ref.values(a) for a in ("wall", "cpu", "rss_mb", "tree_mb")},
            "ratio_wall": [round(r, 4) for r in self.ratios("wall")],
            "ratio_cpu": [round(r, 4) for r in self.ratios("cpu")],
            "median": {
                "ours_wall": self.ours.med("wall"),
                "ours_cpu": self.ours.med("cpu"),
                "ours_mem_mb": _num(self.ours.med("mem_mb")),
                "reference_wall": self.ref.med("wall"),
                "reference_cpu": self.ref.med("cpu"),
                "reference_mem_mb": _num(self.ref.med("mem_mb")),
                "ratio_wall": self.ratio("wall"),
                "ratio_cpu": self.ratio("cpu"),
            },
        }


def paired(pair: Pair, rep: int, ours: Callable[[], Sample], ref: Callable[[], Sample]) -> None:
    """Measure both sides back to back, the order alternating between repetitions."""
    if rep % 2 == 0:
        pair.ours.add(ours())
        pair.ref.add(ref())
    else:
        pair.ref.add(ref())
        pair.ours.add(ours())


def settle() -> None:
    """Flush what the set-up of a measurement wrote (a 60 MB copy of the approved
    repository before each re-scan) before the clock starts: otherwise the kernel
    writes it back during the measured command, and a 0.3 s re-scan shares the two
    cores with that (measured: re-scans 0.25-0.41 s without, 0.25-0.31 s with)."""
    os.sync()


# --------------------------------------------------------------------------- the bench


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out.resolve()
        self.python = Path(sys.executable)
        self.schemactl = args.schemactl or self.python.parent / "schemactl"
        if not Path(self.schemactl).exists():
            raise SystemExit(f"no schemactl at {self.schemactl}: install the project first")
        self.env = dict(os.environ)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(self.out / "pycache")
        self.env["NO_COLOR"] = "1"
        self.env.pop("SCHEMACTL_NO_CACHE", None)
        self.no_cache = self._no_cache_flag()
        self.node = shutil.which("node")

    def _no_cache_flag(self) -> list[str]:
        helptext = run([self.schemactl, "--help"], self.env).output
        return ["--no-cache"] if "--no-cache" in helptext else []

    def sc(self, root: Path, *args: str, cold: bool = False) -> list[str | Path]:
        cache = self.no_cache if cold else []
        return [self.schemactl, "--root", root, "--no-color", "-q", *cache, *args]

    # -- set-up ---------------------------------------------------------------------

    def prepare(self, n: int, drizzle: bool, relations: str = "many") -> dict[str, Any]:
        base = self.base(n, relations)
        if base.exists():
            shutil.rmtree(base)
        t0 = time.perf_counter()
        counts = generate.generate(
            base / "repo",
            n,
            self.args.seed,
            drizzle=drizzle,
            drizzle_dir=base / "drizzle",
            relations=relations,
        )
        counts["generate_s"] = round(time.perf_counter() - t0, 2)
        counts["yaml_bytes"] = sum(
            generate.entities_path(base / "repo", i).stat().st_size for i in range(n)
        )
        return counts

    def base(self, n: int, relations: str = "many") -> Path:
        return self.out / (f"n{n}" if relations == "many" else f"n{n}-{relations}")

    def fresh_copy(self, n: int, src: str, name: str, relations: str = "many") -> Path:
        base = self.base(n, relations)
        dst = base / name
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(base / src, dst, symlinks=True)
        if src == "repo":  # a cold copy: no registry (validate writes none), no cache
            shutil.rmtree(dst / ".schemactl", ignore_errors=True)
        settle()
        return dst

    # -- the measurements ---------------------------------------------------------------

    def validate_cold(self, n: int) -> Sample:
        root = self.out / f"n{n}" / "repo"
        shutil.rmtree(root / ".schemactl" / "cache", ignore_errors=True)
        settle()
        return ok(run(self.sc(root, "validate", cold=True), self.env), "schemactl validate")

    def floor(self, n: int) -> Sample:
        root = self.out / f"n{n}" / "repo"
        return ok(run([self.python, "-c", FLOOR, root], self.env), "the PyYAML floor")

    def scan_cold(self, n: int, relations: str = "many") -> Sample:
        root = self.fresh_copy(n, "repo", "cold", relations)
        return ok(run(self.sc(root, "scan", cold=True), self.env), "schemactl scan (cold)")

    def drizzle(self, n: int, relations: str = "many") -> Sample:
        d = self.base(n, relations) / "drizzle"
        shutil.rmtree(d / "out", ignore_errors=True)
        settle()
        cmd = [self.node, DRIZZLE_BIN, "generate", "--config", d / "drizzle.config.ts"]
        return ok(run(cmd, self.env, cwd=d), "drizzle-kit generate")

    def make_baseline(self, n: int) -> None:
        root = self.fresh_copy(n, "repo", "baseline")
        ok(run(self.sc(root, "scan"), self.env), "schemactl scan (baseline)")
        ok(run(self.sc(root, "approve", "all", "--by", "bench"), self.env), "schemactl approve")

    def rescan(self, n: int, rep: int) -> Sample:
        root = self.fresh_copy(n, "baseline", "rescan")
        generate.touch_package(root, n // 2, self.args.seed, n, salt=rep + 1)
        settle()
        return ok(run(self.sc(root, "scan"), self.env), "schemactl scan (one package changed)")

    def generate_full(self, n: int) -> Sample:
        """``schemactl generate`` of every approved migration (the full DDL, 1,000 folders)
        into an empty directory, with no cache (the registry is read from scratch)."""
        root = self.out / f"n{n}" / "baseline"
        out = self.out / f"n{n}" / "generated"
        shutil.rmtree(out, ignore_errors=True)
        settle()
        cmd = self.sc(root, "generate", "--out", str(out), cold=True)
        return ok(run(cmd, self.env), "schemactl generate")

    def growth(self, n: int, rounds: int) -> dict[str, Any]:
        """SPEC §12: after the first approval, ``rounds`` rounds of a one-field change to
        every package (scan, approve all): the registry's growth per migration."""
        root = self.fresh_copy(n, "baseline", "growth")
        reg = root / ".schemactl" / "registry"

        def size() -> int:
            return sum(p.stat().st_size for p in reg.glob("*.json"))

        start = size()
        t0 = time.perf_counter()
        for r in range(rounds):
            for i in range(n):
                generate.touch_package(root, i, self.args.seed, n, salt=100, extra=r + 1)
            ok(run(self.sc(root, "scan"), self.env), f"growth scan {r + 1}")
            ok(run(self.sc(root, "approve", "all", "--by", "bench"), self.env), "growth approve")
        end = size()
        return {
            "rounds": rounds,
            "migrations": rounds * n,
            "start_bytes": start,
            "end_bytes": end,
            "per_migration_bytes": (end - start) / (rounds * n),
            "seconds": round(time.perf_counter() - t0, 1),
        }

    def sparse_run(self, n: int, repeat: int) -> Pair:
        """The scan-vs-drizzle pair on a monorepo with few relations (SPEC §12 must hold
        whatever the density)."""
        log(f"generating {n:,} packages with few relations")
        counts = self.prepare(n, drizzle=True, relations="few")
        log("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        self.scan_cold(n, "few")
        self.drizzle(n, "few")
        pair = Pair("scan_few", counts=counts)
        for rep in range(repeat):
            paired(pair, rep, lambda: self.scan_cold(n, "few"), lambda: self.drizzle(n, "few"))
            log(
                f"  few relations: scan {pair.ours.samples[-1].wall:.2f}s "
                f"drizzle {pair.ref.samples[-1].wall:.2f}s"
            )
        return pair

    def version(self) -> Sample:
        return ok(run([self.schemactl, "--version"], self.env, rss=False), "--version")

    def python_pass(self) -> Sample:
        return ok(run([self.python, "-c", "pass"], self.env, rss=False), "python -c pass")

    # -- a whole run ----------------------------------------------------------------

    def main_run(self, n: int, repeat: int) -> dict[str, Any]:
        log(f"generating {n:,} packages (seed {self.args.seed}) into {self.out / f'n{n}'}")
        counts = self.prepare(n, drizzle=True)
        log("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        log("baseline for the re-scan: scan + approve all")
        self.make_baseline(n)
        log("warm-up (not recorded)")
        self.validate_cold(n)
        self.floor(n)
        self.version()
        self.python_pass()
        self.rescan(n, -1)
        self.generate_full(n)
        equivalence = self.equivalence(n)
        validate, scan, rescan = Pair("validate"), Pair("scan"), Pair("rescan")
        gen = Pair("generate")
        version = Pair("version")
        for rep in range(repeat):
            log(f"repetition {rep + 1}/{repeat}")
            paired(validate, rep, lambda: self.validate_cold(n), lambda: self.floor(n))
            paired(scan, rep, lambda: self.scan_cold(n), lambda: self.drizzle(n))
            rescan.ours.add(self.rescan(n, rep))
            rescan.ref.add(scan.ours.samples[-1])
            gen.ours.add(self.generate_full(n))
            gen.ref.add(scan.ref.samples[-1])  # drizzle-kit, same repetition
            for k in range(5):
                paired(version, rep + k, self.version, self.python_pass)
            log(
                f"  validate {validate.ours.samples[-1].wall:.2f}s "
                f"floor {validate.ref.samples[-1].wall:.2f}s "
                f"scan {scan.ours.samples[-1].wall:.2f}s "
                f"drizzle {scan.ref.samples[-1].wall:.2f}s "
                f"re-scan {rescan.ours.samples[-1].wall:.2f}s "
                f"generate {gen.ours.samples[-1].wall:.2f}s"
            )
        rss = {
            "validate": max(s.mem_mb for s in validate.ours.samples),
            "scan": max(s.mem_mb for s in scan.ours.samples),
            "rescan": max(s.mem_mb for s in rescan.ours.samples),
            "generate": max(s.mem_mb for s in gen.ours.samples),
        }
        return {
            "packages": n,
            "repeat": repeat,
            "counts": counts,
            "equivalence": equivalence,
            "pairs": {p.name: p.to_json() for p in (validate, scan, rescan, gen, version)},
            "peak_rss_mb": rss,
            "drizzle_rss_mb": max(s.mem_mb for s in scan.ref.samples),
            "_pairs": (validate, scan, rescan, gen, version),
        }

    def scale_run(self, n: int, repeat: int) -> dict[str, Any]:
        log(f"scale check: generating {n:,} packages")
        counts = self.prepare(n, drizzle=False)
        log("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        self.validate_cold(n)
        self.floor(n)
        validate, scan = Pair("validate"), Pair("scan")
        for rep in range(repeat):
            log(f"scale repetition {rep + 1}/{repeat}")
            paired(validate, rep, lambda: self.validate_cold(n), lambda: self.floor(n))
            scan.ours.add(self.scan_cold(n))
            scan.ref.add(validate.ours.samples[-1])  # scan relative to validate, same rep
            log(
                f"  validate {validate.ours.samples[-1].wall:.2f}s "
                f"floor {validate.ref.samples[-1].wall:.2f}s "
                f"scan {scan.ours.samples[-1].wall:.2f}s"
            )
        return {
            "packages": n,
            "repeat": repeat,
            "counts": counts,
            "pairs": {"validate": validate.to_json(), "scan_vs_validate": scan.to_json()},
            "peak_rss_mb": {
                "validate": max(s.mem_mb for s in validate.ours.samples),
                "scan": max(s.mem_mb for s in scan.ours.samples),
            },
        }

    def equivalence(self, n: int) -> dict[str, Any]:
        """Count the objects in both migrations: the two sides must create the same tables."""
        import re

        def counts(sql: str) -> dict[str, int]:
            return {
                "schemas": len(re.findall(r"CREATE SCHEMA", sql)),
                "tables": len(re.findall(r"CREATE TABLE", sql)),
                "foreign_keys": len(re.findall(r"FOREIGN KEY", sql)),
                "checks": len(re.findall(r"CHECK \(", sql)),
                "indexes": len(re.findall(r"CREATE INDEX", sql)),
                "unique": len(re.findall(r"CREATE UNIQUE INDEX|\bUNIQUE ?\(", sql)),
                "sql_bytes": len(sql.encode()),
            }

        out: dict[str, Any] = {}
        try:
            reg = self.out / f"n{n}" / "baseline" / ".schemactl" / "registry"
            ups = [
                m["sql"]["up"]
                for p in sorted(reg.glob("*.json"))
                for m in json.loads(p.read_text())["migrations"]
            ]
            out["schemactl"] = counts("".join(ups))
        except (OSError, KeyError, TypeError, ValueError) as e:
            out["schemactl"] = f"n/a ({e})"
        self.drizzle(n)
        sql = "".join(p.read_text() for p in (self.out / f"n{n}" / "drizzle" / "out").glob("*.sql"))
        out["drizzle"] = counts(sql)
        out["note"] = "drizzle also creates the external public.users (1 table, 1 primary key)"
        return out


# --------------------------------------------------------------------------- reporting


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def machine(bench: Bench) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    dk = json.loads((DRIZZLE_BIN.parent / "package.json").read_text())["version"]
    do = json.loads((DRIZZLE_BIN.parent.parent / "drizzle-orm" / "package.json").read_text())
    sv = run([bench.schemactl, "--version"], bench.env).output.strip()
    mem = ""
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    git = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "node": node,
        "drizzle_kit": dk,
        "drizzle_orm": do["version"],
        "schemactl": sv,
        "commit": git or "unknown",
        "no_cache_flag": bool(bench.no_cache),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def report(m: dict[str, Any], res: dict[str, Any], scale: dict[str, Any] | None) -> str:
    validate, scan, rescan, gen, version = res["_pairs"]
    c = res["counts"]
    rss_max = max(res["peak_rss_mb"].values())
    v_ms = version.ours.med("wall") * 1000

    def ratio_row(label: str, pair: Pair, budget: str, ok: bool) -> tuple[str, ...]:
        return (
            label,
            fmt_s(pair.ours.med("wall")),
            fmt_s(pair.ref.med("wall")),
            f"{pair.ratio('wall'):.2f}x",
            f"{pair.ratio('cpu'):.2f}x",
            budget,
            verdict(ok),
        )

    rows = [
        ratio_row(
            "validate cold vs PyYAML C floor",
            validate,
            "<= 1.5x",
            validate.ratio("wall") <= BUDGETS["validate"],
        ),
        ratio_row(
            "scan cold vs drizzle-kit generate",
            scan,
            "<= 0.5x",
            scan.ratio("wall") <= BUDGETS["scan"],
        ),
        ratio_row(
            "re-scan (1 package changed) vs cold scan",
            rescan,
            "< 0.1x",
            rescan.ratio("wall") < BUDGETS["rescan"],
        ),
        ratio_row(
            "generate (all approved) vs drizzle-kit",
            gen,
            "< 1x",
            gen.ratio("wall") < BUDGETS["generate"],
        ),
        (
            "peak RSS (validate / scan / re-scan / generate)",
            " / ".join(f"{v:.0f}" for v in res["peak_rss_mb"].values()) + " MB",
            f"drizzle {res['drizzle_rss_mb']:.0f} MB",
            "",
            "",
            "<= 300 MB",
            verdict(rss_max <= BUDGETS["rss_mb"]),
        ),
        (
            "--version vs python -c pass",
            f"{v_ms:.0f} ms",
            f"{version.ref.med('wall') * 1000:.0f} ms",
            f"{version.ratio('wall'):.2f}x",
            f"{version.ratio('cpu'):.2f}x",
            "<= 100 ms",
            verdict(v_ms <= BUDGETS["version_ms"]),
        ),
    ]
    sparse = res.get("_sparse")
    if sparse is not None:
        rows.append(
            ratio_row(
                "scan cold vs drizzle-kit, few relations",
                sparse,
                "<= 0.5x",
                sparse.ratio("wall") <= BUDGETS["scan"],
            )
        )
    growth = res.get("growth")
    if growth is not None:
        rows.append(
            (
                f"registry growth, {growth['rounds']} rounds x {res['packages']:,} changes",
                f"{growth['per_migration_bytes'] / 1024:.2f} KB/migration",
                f"{growth['start_bytes'] / 1e6:.1f} -> {growth['end_bytes'] / 1e6:.1f} MB",
                "",
                "",
                "< 4 KB",
                verdict(growth["per_migration_bytes"] < 4096),
            )
        )
    if scale:
        rows.append(
            (
                f"peak RSS, cold scan at {scale['packages']:,} packages",
                f"{scale['peak_rss_mb']['scan']:.0f} MB",
                "",
                "",
                "",
                "< 600 MB",
                verdict(scale["peak_rss_mb"]["scan"] < BUDGETS["scale_rss_mb"]),
            )
        )
    head = ("measure", "schemactl", "reference", "ratio", "cpu ratio", "budget", "result")
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()

    out = [
        f"schemactl benchmark: {c['packages']:,} packages, {c['entities']:,} entities, "
        f"{c['fields']:,} fields, {c['foreign_keys']:,} foreign keys "
        f"({c['yaml_bytes'] / 1e6:.1f} MB of YAML), seed {res.get('seed', 42)}; "
        f"median of {res['repeat']} runs, ratios per pair",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, {m['os']}, "
        f"Python {m['python']}, node {m['node']}, drizzle-kit {m['drizzle_kit']}, "
        f"{m['schemactl']} ({m['commit']}); load average at start "
        f"{m['load_average_at_start']}",
        "",
        line(head),
        line(["-" * w for w in widths]),
        *(line(r) for r in rows),
    ]
    eq = res["equivalence"]
    if isinstance(eq.get("schemactl"), dict):
        keys = ("schemas", "tables", "foreign_keys", "checks", "indexes", "unique")
        out += [
            "",
            "same tables on both sides: "
            + ", ".join(f"{k} {eq['schemactl'][k]}/{eq['drizzle'][k]}" for k in keys)
            + " (schemactl/drizzle; drizzle adds the external users table)",
        ]
    if scale:
        sv, ss = scale["pairs"]["validate"], scale["pairs"]["scan_vs_validate"]
        n0, n1 = res["packages"], scale["packages"]

        def g(a: float, b: float) -> str:
            return f"{a / b:.1f}x"

        out += [
            "",
            f"scale check: {n1:,} packages vs {n0:,} (x{n1 / n0:.0f}; linear = "
            f"{n1 / n0:.1f}x), median of {scale['repeat']}:",
            f"  validate cold {fmt_s(sv['median']['ours_wall'])} "
            f"(growth {g(sv['median']['ours_wall'], validate.ours.med('wall'))}, "
            f"{sv['median']['ratio_wall']:.2f}x the floor)",
            f"  PyYAML floor  {fmt_s(sv['median']['reference_wall'])} "
            f"(growth {g(sv['median']['reference_wall'], validate.ref.med('wall'))})",
            f"  scan cold     {fmt_s(ss['median']['ours_wall'])} "
            f"(growth {g(ss['median']['ours_wall'], scan.ours.med('wall'))})",
            f"  peak RSS      validate {scale['peak_rss_mb']['validate']:.0f} MB, "
            f"scan {scale['peak_rss_mb']['scan']:.0f} MB",
        ]
    passed = all(r[-1] == "PASS" for r in rows)
    out += ["", f"budgets: {'all PASS' if passed else 'some FAIL'}"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Measure schemactl against the budgets of SPEC §12 (see docs/benchmark.md)."
    )
    ap.add_argument("--packages", type=int, default=1000, metavar="N")
    ap.add_argument("--repeat", type=int, default=5, metavar="R")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale-check", action="store_true", help="also run at --scale-packages")
    ap.add_argument("--scale-packages", type=int, default=10_000, metavar="N")
    ap.add_argument("--scale-repeat", type=int, default=3, metavar="R")
    ap.add_argument("--growth-rounds", type=int, default=10, metavar="R",
                    help="rounds of the registry growth measure (0: skip)")  # fmt: skip
    ap.add_argument("--no-sparse", action="store_true", help="skip the few-relations pair")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    ap.add_argument("--out", type=Path, default=BENCH / "out", help="work directory")
    ap.add_argument("--schemactl", type=Path, help="schemactl executable (default: next to python)")
    args = ap.parse_args(argv)
    if not DRIZZLE_BIN.exists():
        raise SystemExit("drizzle-kit is not installed: run `npm ci` in bench/node")
    if not shutil.which("node"):
        raise SystemExit("node is not on PATH")
    args.out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    m = machine(bench)
    log(f"machine: {m}")
    res = bench.main_run(args.packages, args.repeat)
    res["seed"] = args.seed
    if args.growth_rounds:
        log(f"registry growth: {args.growth_rounds} rounds")
        res["growth"] = bench.growth(args.packages, args.growth_rounds)
        log(f"  {res['growth']}")
    if not args.no_sparse:
        res["_sparse"] = bench.sparse_run(args.packages, args.repeat)
        res["sparse"] = res["_sparse"].to_json()
        res["sparse_counts"] = res["_sparse"].counts
    scale = bench.scale_run(args.scale_packages, args.scale_repeat) if args.scale_check else None
    text = report(m, res, scale)
    print(text)
    if args.json:
        doc = {
            "machine": m,
            "budgets": BUDGETS,
            "main": {k: v for k, v in res.items() if not k.startswith("_")},
            "scale": scale,
            "table": text,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
