"""Detection over a month: input checks, outputs, determinism."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from fraudlib.config import apply_overrides, default_config
from fraudlib.contract import TRANSACTIONS_SCHEMA
from fraudlib.detect import alert_id, run_month
from fraudlib.engines.local import LocalEngine
from fraudlib.errors import DataError
from fraudlib.month import Month

from builders import transactions, write_month

MONTH = Month(2025, 3)
ROWS = [
    ("t1", "c1", 20000.0, "2025-03-01 10:00", "Sucursal A"),
    ("t2", "c1", 20000.0, "2025-03-02 10:00", "Sucursal A"),
    ("t3", "c1", 20000.0, "2025-03-03 10:00", "Sucursal A"),
    ("t4", "c1", 90000.0, "2025-03-04 10:00", "Sucursal A"),
    ("t5", "c2", 500.0, "2025-03-04 10:00", "Comercio 1"),
]


def detect(root, **kwargs):
    engine = LocalEngine(root)
    try:
        return run_month(engine, MONTH, **kwargs)
    finally:
        engine.close()


def test_alert_fields_follow_the_contract(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    result = detect(tmp_path)
    assert len(result.alerts) == 1
    alert = result.alerts.iloc[0]
    assert alert["id_alerta"] == alert_id("large_sum_at_location", MONTH, "c1", "Sucursal A")
    assert (alert["regla"], alert["version_regla"], alert["ubicacion"]) == (
        "large_sum_at_location",
        "1",
        "Sucursal A",
    )
    assert alert["n_transacciones"] == 4 and alert["monto_total"] == 150000.0
    assert list(alert["ids_transaccion"]) == ["t1", "t2", "t3", "t4"]
    assert 0 < alert["puntaje"] < 1 and alert["decision"] == "review"
    detail = json.loads(alert["detalle"])
    assert detail["flagged_ids"] == ["t3", "t4"]
    assert detail["trigger"]["id_transaccion"] == "t3"
    assert detail["trigger"]["total_acumulado"] == 60000.0
    assert detail["params"]["min_total"] == 50000.0
    assert result.rows == 5


def test_puntaje_ranks_the_bigger_overrun_first(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    flagged = detect(tmp_path).flagged
    assert list(flagged["id_transaccion"]) == ["t4", "t3"]  # 150,000 running total > 60,000
    assert flagged["puntaje"].is_monotonic_decreasing


def test_block_threshold_comes_from_config(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    # weight 0.6: t4 (running total 150,000, severity 3) scores 0.5, t3 (60,000) 0.35
    config = apply_overrides(
        default_config(),
        {"decision": {"block_at": 0.4}, "rules": {"large_sum_at_location": {"weight": 0.6}}},
    )
    result = detect(tmp_path, config=config)
    assert dict(
        zip(result.flagged["id_transaccion"], result.flagged["decision"], strict=False)
    ) == {
        "t4": "block",
        "t3": "review",
    }
    assert result.alerts.iloc[0]["decision"] == "block"


def test_same_input_same_output(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    first, second = detect(tmp_path), detect(tmp_path)
    assert first.alerts.equals(second.alerts) and first.flagged.equals(second.flagged)


def test_missing_partition(tmp_path):
    write_month(tmp_path, "2025-02", transactions(ROWS))
    with pytest.raises(DataError, match="no data for month 2025-03"):
        detect(tmp_path)


def test_missing_data_directory(tmp_path):
    with pytest.raises(DataError, match="data directory not found"):
        LocalEngine(tmp_path / "nope")
    with pytest.raises(DataError, match="no transacciones/ directory"):
        LocalEngine(tmp_path)


def test_missing_column(tmp_path):
    frame = transactions(ROWS).drop(columns=["ubicacion"])
    write_month(tmp_path, MONTH, frame, schema=None)
    with pytest.raises(DataError, match="required column ubicacion is missing"):
        detect(tmp_path)


def test_wrong_typed_column(tmp_path):
    frame = transactions(ROWS)
    frame["monto"] = frame["monto"].astype(str)
    write_month(tmp_path, MONTH, frame, schema=None)
    with pytest.raises(DataError, match="column monto has type string, expected double or decimal"):
        detect(tmp_path)


def test_files_of_one_month_that_disagree(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS[:2]))
    other = transactions(ROWS[2:])
    other["fecha"] = other["fecha"].astype(str)
    write_month(tmp_path, MONTH, other, schema=None, name="part-1")
    with pytest.raises(DataError, match="column fecha is string but other files"):
        detect(tmp_path)


def test_not_parquet(tmp_path):
    path = write_month(tmp_path, MONTH, transactions(ROWS))
    path.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        detect(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: [*rows, rows[0]], "1 rows with duplicated id_transaccion"),
        (lambda rows: [*rows, (None, "c9", 1.0, "2025-03-09 10:00", "x")], "null id_transaccion"),
        (lambda rows: [*rows, ("t9", "c9", 1.0, None, "x")], "null fecha"),
    ],
)
def test_rows_that_break_the_outputs_are_rejected(tmp_path, change, message):
    write_month(tmp_path, MONTH, transactions(change(list(ROWS))))
    with pytest.raises(DataError, match=message):
        detect(tmp_path)


def test_nulls_rules_can_ignore_are_noted_not_fatal(tmp_path):
    write_month(
        tmp_path, MONTH, transactions([*ROWS, ("t9", None, None, "2025-03-09 10:00", None)])
    )
    result = detect(tmp_path)
    assert len(result.alerts) == 1
    assert any("null id_cliente" in n for n in result.notices)


def test_decimal_amounts_are_accepted(tmp_path):
    schema = TRANSACTIONS_SCHEMA.set(2, pa.field("monto", pa.decimal128(18, 2)))
    frame = transactions(ROWS)
    frame["monto"] = frame["monto"].map(lambda v: __import__("decimal").Decimal(f"{v:.2f}"))
    write_month(tmp_path, MONTH, frame, schema=schema)
    assert detect(tmp_path).alerts.iloc[0]["monto_total"] == 150000.0


def test_other_months_are_never_read(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    # A corrupt file in another partition would fail any query that reads it; these lie
    # outside every rule's lookback (the next month, and a year back).
    for other in ("2025-04", "2024-03"):
        write_month(tmp_path, other, transactions(ROWS)).write_bytes(b"corrupt")
    assert len(detect(tmp_path).alerts) == 1


def test_rule_needing_an_absent_column_is_skipped_with_a_notice(tmp_path, monkeypatch):
    import dataclasses

    from fraudlib import config, rules

    seed = rules.RULES[0]
    needy = dataclasses.replace(seed, columns=(*seed.columns, "canal"))
    monkeypatch.setattr(rules, "RULES", (needy,))
    monkeypatch.setattr(config, "RULES", (needy,))
    write_month(tmp_path, MONTH, transactions(ROWS))
    result = detect(tmp_path)
    assert result.alerts.empty
    assert result.notices == [
        "skipped rule large_sum_at_location: needs canal, which the data lacks"
    ]
    assert result.summary.iloc[0]["status"] == "skipped"


def test_a_rule_without_lookback_reads_only_its_month(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    write_month(tmp_path, MONTH.previous(), transactions(ROWS)).write_bytes(b"corrupt")
    assert len(detect(tmp_path, rules=["large_sum_at_location"]).alerts) == 1


def test_zero_threshold_scores_full_weight_and_stays_valid_json(tmp_path):
    write_month(tmp_path, MONTH, transactions(ROWS))
    config = apply_overrides(
        default_config(),
        {"rules": {"large_sum_at_location": {"params": {"min_total": 0}}}},
    )
    result = detect(tmp_path, config=config, rules=["large_sum_at_location"])
    weight = config.rules["large_sum_at_location"].weight
    assert result.flagged["puntaje"].max() == pytest.approx(weight)
    detail = json.loads(result.alerts.iloc[0]["detalle"], parse_constant=pytest.fail)
    assert detail["trigger"]["severidad"] is None
