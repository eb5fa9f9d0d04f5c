"""Detection through the Athena engine (PyAthena against moto, SQL executed for real)."""

from __future__ import annotations

import pytest

from fraudlib.detect import run_month
from fraudlib.engines.athena import AthenaEngine
from fraudlib.engines.local import LocalEngine
from fraudlib.errors import DataError
from fraudlib.month import Month

from builders import transactions, write_month

MONTH = Month(2025, 3)
ROWS = [
    ("t1", "c1", 20000.0, "2025-03-01 10:00", "Sucursal A"),
    ("t2", "c1", 20000.0, "2025-03-02 10:00", "Sucursal A"),
    ("t3", "c1", 20000.0, "2025-03-03 10:00", "Sucursal A"),
    ("t4", "c2", 30000.0, "2025-03-03 11:00", "Cajero 9"),
    ("t5", "c2", 25000.0, "2025-03-04 11:00", "Cajero 9"),
    ("t6", "c3", 60000.0, "2025-03-04 11:00", "Oficina Principal"),
    ("t7", "c4", 50000.0, "2025-03-05 11:00", "Cajero 9"),
]


def comparable(result):
    alerts = result.alerts.drop(columns=["detalle"]).assign(
        ids_transaccion=lambda f: f["ids_transaccion"].map(list)
    )
    flagged = result.flagged.assign(reglas=lambda f: f["reglas"].map(list))
    return alerts.to_dict("records"), flagged.to_dict("records")


def test_athena_and_local_find_the_same_alerts(athena):
    write_month(athena.data_dir, MONTH, transactions(ROWS))
    on_athena = run_month(AthenaEngine(), MONTH)
    on_local = run_month(LocalEngine(athena.data_dir), MONTH)
    assert len(on_athena.alerts) == 2
    assert comparable(on_athena) == comparable(on_local)
    # Athena was asked partition-bounded SQL only
    assert all("'2025'" in q and "'03'" in q for q in athena.queries if "transacciones" in q)


def test_athena_month_without_data(athena):
    write_month(athena.data_dir, MONTH, transactions(ROWS))
    with pytest.raises(DataError, match="no data for month 2025-04"):
        run_month(AthenaEngine(), Month(2025, 4))


def test_cli_detect_on_athena_writes_the_month(athena, tmp_path, capsys):
    from fraudlib.cli import main

    write_month(athena.data_dir, MONTH, transactions(ROWS))
    out = tmp_path / "out"
    assert main(["detect", "--engine", "athena", "--month", "2025-03", "--out", str(out)]) == 0
    assert "2 alerts" in capsys.readouterr().out
    assert (out / "alertas/anio=2025/mes=03/part-0.parquet").exists()


def test_cli_detect_on_athena_needs_out(athena, capsys):
    from fraudlib.cli import main

    assert main(["detect", "--engine", "athena", "--month", "2025-03"]) == 2
    assert "--out is required" in capsys.readouterr().err
