"""Scale and speed of generation and detection, measured (not asserted).

    python benchmarks/run.py [--rows 10000000] [--keep DIR]

Each step runs as its own process so its wall time and peak RSS are its own. Prints a
Markdown table for the README. "bytes" for detect is what Athena would bill for the
month's queries: the compressed size of the Parquet column chunks each query reads, summed
over the queries, taken from the files' metadata (DuckDB does not report bytes read, and
moto reports 0).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from fraudlib.contract import TRANSACTION_COLUMNS, TRANSACTIONS, month_dir
from fraudlib.month import Month
from fraudlib.rules import RULES

MONTH = Month(2025, 3)


def measure(command: list[str]) -> dict:
    """Run a command in a child process that reports its own wall time and peak RSS."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': rc, 'seconds': wall, 'peak_rss_mb': rss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{out.stderr}")
    return result


def billable_bytes(data: Path, month: Month, columns: set[str]) -> tuple[int, int]:
    """(bytes of the needed column chunks, bytes of the whole partition) for one month."""
    needed = total = 0
    for path in month_dir(data, TRANSACTIONS, month).glob("*.parquet"):
        metadata = pq.ParquetFile(path).metadata
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                total += chunk.total_compressed_size
                if chunk.path_in_schema in columns:
                    needed += chunk.total_compressed_size
    return needed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--keep", type=Path, help="keep the generated data here")
    args = parser.parse_args()
    fraud = [sys.executable, "-m", "fraudlib.cli"]
    print(f"machine: {os.cpu_count()} cores, {platform.python_version()}, {platform.machine()}")
    print("| rows/month | step | seconds | rows/s | peak RSS MB | bytes (Athena would bill) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for rows in args.rows:
        data = Path(args.keep or tempfile.mkdtemp(prefix="fraud-bench-")) / f"rows-{rows}"
        shutil.rmtree(data, ignore_errors=True)
        month = str(MONTH)
        generate = measure(
            [
                *fraud,
                "generate",
                "--data",
                str(data),
                "--from",
                month,
                "--to",
                month,
                "--rows-per-month",
                str(rows),
                "--seed",
                "1",
            ]
        )
        # Athena bills every query: each rule reads its own columns, and detection's data
        # checks read the five contract columns once more. (Lookback months add their own
        # bytes on real data; this benchmark writes only one month.)
        contract = set(TRANSACTION_COLUMNS)
        needed = billable_bytes(data, MONTH, contract)[0]
        needed += sum(billable_bytes(data, MONTH, set(rule.columns))[0] for rule in RULES)
        total = billable_bytes(data, MONTH, set())[1]
        detect = measure([*fraud, "detect", "--data", str(data), "--month", month])
        for step, result, scanned in (
            ("generate", generate, f"writes {total / 1e6:,.1f} MB"),
            ("detect (all rules)", detect, f"{needed / 1e6:,.1f} MB over {len(RULES) + 1} queries"),
        ):
            print(
                f"| {rows:,} | {step} | {result['seconds']:.1f} | "
                f"{rows / result['seconds']:,.0f} | {result['peak_rss_mb']:,.0f} | {scanned} |"
            )
        if not args.keep:
            shutil.rmtree(data.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
