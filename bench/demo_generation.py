"""Benchmark of the demo generator: wall time, peak memory and output size.

    .venv/bin/python bench/demo_generation.py database            # default size into SQLite
    .venv/bin/python bench/demo_generation.py parquet --accounts 10000 --intensity 1.5

Each case runs `tend demo generate` in a child process against a scratch data directory and
prints one line of figures (the child's peak RSS comes from getrusage of the children).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEND = Path(sys.executable).with_name("tend")


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=["database", "parquet"])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--intensity", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="Write here and keep the output.")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="tend-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TEND_DATA_DIR": str(workdir / "data")}
    env.pop("DATABASE_URL", None)
    command = [
        str(TEND),
        "demo",
        "generate",
        "--accounts",
        str(args.accounts),
        "--months",
        str(args.months),
        "--intensity",
        str(args.intensity),
        "--seed",
        str(args.seed),
    ]
    output = workdir / ("parquet" if args.target == "parquet" else "data")
    if args.target == "parquet":
        command += ["--parquet", str(output)]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = folder_size(output) / 1e6
    print(
        f"BENCH demo-generate target={args.target} accounts={args.accounts} months={args.months} "
        f"intensity={args.intensity}: wall {elapsed:.1f} s, peak RSS {peak_mb:.0f} MB, "
        f"output {size_mb:.0f} MB"
    )
    if args.keep is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
