"""The registry, the bounded-scan guarantee, and the seed rule against the original code."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudlib.config import apply_overrides, default_config
from fraudlib.detect import run_month
from fraudlib.dialect import parse
from fraudlib.engines.local import LocalEngine
from fraudlib.month import Month
from fraudlib.render import check_partition_bounded
from fraudlib.rules import RULES, get_rule

from builders import transactions, write_month

MONTH = Month(2025, 3)
SEED = "large_sum_at_location"


def original_seed_rule(df: pd.DataFrame) -> pd.DataFrame:
    """The original Lambda's pandas logic, kept verbatim as the oracle."""
    df_filtrado = df[df["monto"] > 10000]
    df_agrupado = df_filtrado.groupby(["id_cliente", "ubicacion"])["monto"].sum().reset_index()
    sospechosos = df_agrupado[
        (df_agrupado["monto"] > 50000) & (df_agrupado["ubicacion"] != "Oficina Principal")
    ]
    return sospechosos


def seed_alerts(root, month=MONTH, config=None) -> pd.DataFrame:
    engine = LocalEngine(root)
    try:
        return run_month(engine, month, config, rules=[SEED]).alerts
    finally:
        engine.close()


def as_set(frame: pd.DataFrame, total: str) -> set[tuple]:
    return {
        (row.id_cliente, row.ubicacion, round(float(getattr(row, total)), 2))
        for row in frame.itertuples()
    }


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_reads_bounded_partitions_and_named_columns(rule):
    check_partition_bounded(parse(rule.sql_text()), source=rule.name)
    rendered = rule.render(MONTH, default_config().sql_values(rule))
    assert "partition_range" not in rendered
    assert "'2025'" in rendered and "'03'" in rendered


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_is_documented(rule):
    assert rule.description and rule.version
    assert all(p.doc for p in rule.params)
    assert get_rule(rule.name) is rule


TIES_AND_NULLS = [
    # exactly 10,000 is not "over 10,000": c1's sum of larger ones stays at 40,000.01
    ("a1", "c1", 10000.00, "2025-03-01 09:00", "Sucursal Norte"),
    ("a2", "c1", 20000.00, "2025-03-02 09:00", "Sucursal Norte"),
    ("a3", "c1", 20000.01, "2025-03-03 09:00", "Sucursal Norte"),
    ("a4", "c1", 10000.00, "2025-03-04 09:00", "Sucursal Norte"),
    # sums to exactly 50,000.00: not flagged (strict >)
    ("b1", "c2", 25000.00, "2025-03-01 10:00", "Cajero 7"),
    ("b2", "c2", 14999.99, "2025-03-02 10:00", "Cajero 7"),
    ("b3", "c2", 10000.01, "2025-03-03 10:00", "Cajero 7"),
    ("b4", "c2", 9999.99, "2025-03-03 11:00", "Cajero 7"),
    # 50,000.01: flagged
    ("c1", "c3", 25000.00, "2025-03-01 10:00", "Cajero 7"),
    ("c2", "c3", 25000.01, "2025-03-05 10:00", "Cajero 7"),
    # the main office is never flagged
    ("d1", "c4", 60000.00, "2025-03-01 10:00", "Oficina Principal"),
    # nulls: null amount, null location and null customer drop out as in pandas
    ("e1", "c5", 30000.00, "2025-03-01 10:00", "Comercio 3"),
    ("e2", "c5", None, "2025-03-02 10:00", "Comercio 3"),
    ("e3", "c5", 30000.00, "2025-03-03 10:00", None),
    ("e4", None, 60000.00, "2025-03-03 10:00", "Comercio 3"),
    ("e5", "c5", 20000.50, "2025-03-04 10:00", "Comercio 3"),
    # two locations of one customer are two groups, each judged on its own
    ("f1", "c6", 30000.00, "2025-03-01 10:00", "Sucursal Sur"),
    ("f2", "c6", 30000.00, "2025-03-02 10:00", "Sucursal Este"),
    ("f3", "c6", 30000.00, "2025-03-03 10:00", "Sucursal Sur"),
    # ties on fecha are ordered by id for the running total
    ("g2", "c7", 30000.00, "2025-03-03 10:00", "Cajero 9"),
    ("g1", "c7", 30000.00, "2025-03-03 10:00", "Cajero 9"),
]


def test_seed_rule_matches_original_on_ties_and_nulls(tmp_path):
    frame = transactions(TIES_AND_NULLS)
    write_month(tmp_path, MONTH, frame)
    alerts = seed_alerts(tmp_path)
    expected = as_set(original_seed_rule(frame), "monto")
    assert as_set(alerts, "monto_total") == expected
    assert {(c, u) for c, u, _ in expected} == {
        ("c3", "Cajero 7"),
        ("c5", "Comercio 3"),
        ("c6", "Sucursal Sur"),
        ("c7", "Cajero 9"),
    }


def test_seed_rule_flags_only_from_the_crossing_transaction(tmp_path):
    write_month(tmp_path, MONTH, transactions(TIES_AND_NULLS))
    engine = LocalEngine(tmp_path)
    result = run_month(engine, MONTH, rules=[SEED])
    flagged = set(result.flagged["id_transaccion"])
    # c5 crosses 50,000 with e5 (30,000 + 20,000.50); e1 happened before anyone could know
    assert {"e5", "c2", "f3", "g2"} == flagged
    alert = result.alerts.set_index("id_cliente").loc["c5"]
    assert list(alert["ids_transaccion"]) == ["e1", "e5"]
    assert alert["n_transacciones"] == 2 and alert["monto_total"] == 50000.50


def test_thresholds_and_trusted_locations_are_parameters(tmp_path):
    write_month(tmp_path, MONTH, transactions(TIES_AND_NULLS))
    config = apply_overrides(
        default_config(),
        {
            "rules": {
                SEED: {
                    "params": {
                        "min_amount": 9999.98,
                        "min_total": 49999.99,
                        "trusted_locations": ["Cajero 7"],
                    }
                }
            }
        },
    )
    alerts = seed_alerts(tmp_path, config=config)
    assert ("c2", "Cajero 7") not in {(a.id_cliente, a.ubicacion) for a in alerts.itertuples()}
    assert ("c4", "Oficina Principal") in {(a.id_cliente, a.ubicacion) for a in alerts.itertuples()}


AMOUNTS = st.one_of(
    st.sampled_from([10000.0, 10000.01, 9999.99, 12500.0, 25000.0, 50000.0, 50000.01, 40000.0]),
    st.integers(min_value=1, max_value=6_000_000).map(lambda cents: cents / 100),
    st.none(),
)
ROW = st.tuples(
    st.sampled_from(["c1", "c2", "c3", None]),
    AMOUNTS,
    st.integers(min_value=0, max_value=30 * 24 * 60),
    st.sampled_from(["Oficina Principal", "Cajero 1", "Sucursal 2", "", None, "O'Brien; --"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, min_size=1, max_size=40))
def test_seed_rule_equals_original_pandas_code(tmp_path_factory, rows):
    root = tmp_path_factory.mktemp("seed")
    frame = transactions(
        [
            (
                f"t{i:03d}",
                customer,
                amount,
                pd.Timestamp("2025-03-01") + pd.Timedelta(minutes=minute),
                location,
            )
            for i, (customer, amount, minute, location) in enumerate(rows)
        ]
    )
    write_month(root, MONTH, frame)
    ours = as_set(seed_alerts(root), "monto_total")
    theirs = as_set(original_seed_rule(frame), "monto")
    assert ours == theirs
    assert all(math.isfinite(total) for _, _, total in ours)


@pytest.mark.parametrize("seed", [3, 7])
def test_seed_rule_equals_original_on_generated_months(tmp_path, seed):
    from fraudlib.contract import TRANSACTIONS, month_dir
    from fraudlib.synth import generate

    generate(tmp_path, MONTH, MONTH.next(), rows_per_month=60_000, seed=seed)
    for month in (MONTH, MONTH.next()):
        frame = pd.read_parquet(month_dir(tmp_path, TRANSACTIONS, month))
        expected = as_set(original_seed_rule(frame), "monto")
        assert len(expected) >= 2, "the generator should inject the seed pattern"
        assert as_set(seed_alerts(tmp_path, month), "monto_total") == expected
