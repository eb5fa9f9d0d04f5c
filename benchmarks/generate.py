"""Benchmark: generate one synthetic month and report speed, peak memory and size on disk.

Run: `python benchmarks/generate.py [--rows N] [--month YYYY-MM] [--seed N] [--keep DIR]`.
A measurement, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fraudlib.month import Month
from fraudlib.synth import generate


def _bytes_on_disk(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the month")
    parser.add_argument("--month", type=Month.parse, default=Month(2025, 3), metavar="YYYY-MM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write here and keep it (default: a temp dir)")
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="fraud-bench-"))
    try:
        started = time.perf_counter()
        summary = generate(
            root, args.month, args.month, rows_per_month=args.rows, seed=args.seed, progress=print
        )
        wall = time.perf_counter() - started
        size = _bytes_on_disk(root)
        print(f"rows:          {args.rows:,}")
        print(f"wall seconds:  {wall:.2f}")
        print(f"rows/s:        {args.rows / wall:,.0f}")
        print(f"peak RSS:      {_peak_rss_mib():,.0f} MiB")
        print(f"bytes on disk: {size:,} ({size / args.rows:.1f} bytes/row)")
        print(f"fraud rows:    {summary.fraud_rows:,} ({summary.fraud_rows / args.rows:.3%})")
        print(f"confirmed:     {summary.confirmed:,}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
