import pandas as pd
import pyarrow.parquet as pq
import pytest

from fraudlib.contract import ALERTS, ALERTS_SCHEMA, FLAGGED, FLAGGED_SCHEMA
from fraudlib.month import Month
from fraudlib.outputs import write_month_local

MONTH = Month(2025, 3)


def frames(n_alerts: int) -> dict[str, pd.DataFrame]:
    alerts = pd.DataFrame(
        {
            "id_alerta": [f"a{i}" for i in range(n_alerts)],
            "regla": "large_sum_at_location",
            "version_regla": "1",
            "id_cliente": "c1",
            "ubicacion": [None if i % 2 else "Cajero 1" for i in range(n_alerts)],
            "desde": pd.Timestamp("2025-03-01 10:00"),
            "hasta": pd.Timestamp("2025-03-02 10:00"),
            "n_transacciones": 2,
            "monto_total": 60000.0,
            "ids_transaccion": [["t1", "t2"]] * n_alerts,
            "puntaje": 0.3,
            "decision": "review",
            "detalle": "{}",
        },
        columns=ALERTS_SCHEMA.names,
    )
    flagged = pd.DataFrame(
        {
            "id_transaccion": ["t2"],
            "id_cliente": ["c1"],
            "fecha": [pd.Timestamp("2025-03-02 10:00")],
            "monto": [30000.0],
            "ubicacion": ["Cajero 1"],
            "puntaje": [0.3],
            "reglas": [["large_sum_at_location"]],
            "decision": ["review"],
        }
    )
    return {ALERTS: alerts, FLAGGED: flagged}


def test_written_files_have_the_contract_schemas(tmp_path):
    written = write_month_local(tmp_path, MONTH, frames(3))
    assert written[ALERTS] == tmp_path / "alertas/anio=2025/mes=03/part-0.parquet"
    assert pq.read_schema(written[ALERTS]).remove_metadata() == ALERTS_SCHEMA
    assert pq.read_schema(written[FLAGGED]).remove_metadata() == FLAGGED_SCHEMA
    assert pq.read_table(written[ALERTS]).column("ids_transaccion").to_pylist()[0] == ["t1", "t2"]


def test_rerun_replaces_month(tmp_path):
    write_month_local(tmp_path, MONTH, frames(3))
    written = write_month_local(tmp_path, MONTH, frames(1))
    assert pq.read_table(written[ALERTS]).num_rows == 1
    assert sorted(p.name for p in written[ALERTS].parent.parent.iterdir()) == ["mes=03"]


def test_empty_month_is_written_with_schema(tmp_path):
    empty = {name: frame.iloc[0:0] for name, frame in frames(0).items()}
    written = write_month_local(tmp_path, MONTH, empty)
    assert pq.read_table(written[ALERTS]).num_rows == 0
    assert pq.read_schema(written[ALERTS]).remove_metadata() == ALERTS_SCHEMA


def test_failed_write_leaves_previous_month_untouched(tmp_path):
    written = write_month_local(tmp_path, MONTH, frames(3))
    before = written[ALERTS].read_bytes()
    broken = frames(1)
    broken[FLAGGED] = broken[FLAGGED].assign(monto="not a number")
    with pytest.raises(Exception):  # noqa: B017 - any conversion error will do
        write_month_local(tmp_path, MONTH, broken)
    assert written[ALERTS].read_bytes() == before
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
