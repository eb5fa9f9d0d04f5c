"""The `fraud` command as a user runs it: real subprocesses, exit codes, stderr lines."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from fraudlib.month import Month

from builders import transactions, write_month

ROWS = [
    ("t1", "c1", 30000.0, "2025-03-01 10:00", "Sucursal A"),
    ("t2", "c1", 30000.0, "2025-03-02 10:00", "Sucursal A"),
    ("t3", "c2", 500.0, "2025-03-02 10:00", "Comercio 1"),
]


def fraud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fraudlib.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def data(tmp_path):
    write_month(tmp_path, "2025-03", transactions(ROWS))
    return tmp_path


def test_detect_writes_outputs_and_prints_a_summary(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = fraud("detect", "--data", data, "--month", "2025-03", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "large_sum_at_location" in result.stdout and "1 alerts" in result.stdout
    assert pq.read_table(out / "alertas/anio=2025/mes=03/part-0.parquet").num_rows == 1
    assert pq.read_table(out / "sospechosas/anio=2025/mes=03/part-0.parquet").num_rows == 1
    assert "flagged transactions" in result.stderr  # progress


def test_out_defaults_to_data(data):
    assert fraud("detect", "--data", data, "--month", "2025-03").returncode == 0
    assert (data / "alertas/anio=2025/mes=03/part-0.parquet").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", "--data", "{data}", "--month", "2025-13"], "invalid month '2025-13'"),
        (["detect", "--data", "{data}", "--month", "2025-04"], "no data for month 2025-04"),
        (["detect", "--data", "{data}/nope", "--month", "2025-03"], "data directory not found"),
        (["detect", "--data", "{data}", "--month", "2025-03", "--rule", "nope"], "unknown rule"),
        (
            ["detect", "--data", "{data}", "--month", "2025-03", "--config", "{data}/x.yaml"],
            "config file not found",
        ),
        (["detect", "--data", "{data}"], "required: --month"),
        (["detect", "--month", "2025-03"], "--data is required with the local engine"),
        (["generate", "--data", "{data}", "--from", "2025-03", "--to", "2025-01"], "after"),
        (["bogus"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(data, args, message):
    result = fraud(*[a.format(data=data) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (data / "alertas").exists()


def test_rules_lists_parameters_and_sql():
    listing = fraud("rules")
    assert listing.returncode == 0
    assert "large_sum_at_location v1" in listing.stdout and "min_total = 50000.0" in listing.stdout
    sql = fraud("rules", "--sql", "large_sum_at_location")
    assert "partition_range(anio, mes, :month, :month)" in sql.stdout


def test_month_helper_for_the_makefile():
    result = subprocess.run(
        [sys.executable, "-m", "fraudlib.month", "2024-11", "2025-01"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [str(Month(2024, 11)), "2024-12", "2025-01"]
