"""dormant_reactivated: given rows -> expected flags, point in time, and a pandas oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudlib.month import Month, month_range

from builders import (
    alert_keys,
    examples,
    flags,
    flags_until_without_and_with,
    rule_evidence,
    synthetic_months,
    transactions,
    write_months,
)

RULE = "dormant_reactivated"
MONTH = Month(2025, 3)
LOOKBACK = 6


def oracle(
    frame: pd.DataFrame,
    month: Month,
    *,
    dormant_days: int = 90,
    window_days: int = 7,
    min_amount: float = 5000.0,
) -> tuple[dict[str, float], dict[str, str]]:
    """Independent pandas version: (flagged id -> severidad, returned id -> clave_alerta).

    Amounts are summed in integer cents, so ties at min_amount are exact.
    """
    rows = frame[(frame["fecha"] >= month.shift(-LOOKBACK).start) & (frame["fecha"] < month.end)]
    rows = rows.dropna(subset=["id_cliente", "monto", "ubicacion"])
    rows = rows.sort_values(["id_cliente", "fecha", "id_transaccion"]).copy()
    by_customer = rows.groupby("id_cliente")
    silence = rows["fecha"] - by_customer["fecha"].shift()
    rows["episode"] = (
        (silence >= pd.Timedelta(days=dormant_days)).groupby(rows["id_cliente"]).cumsum()
    )
    rows = rows[rows["episode"] > 0]
    episodes = rows.groupby(["id_cliente", "episode"])
    rows["key"] = episodes["id_transaccion"].transform("first")
    rows["since"] = episodes["fecha"].transform("first")
    rows = rows[rows["fecha"] <= rows["since"] + pd.Timedelta(days=window_days)].copy()
    rows["cents"] = (rows["monto"] * 100).round().astype("int64")
    rows["sum_cents"] = rows.groupby(["id_cliente", "episode"])["cents"].cumsum()
    limit = round(min_amount * 100)
    rows["hit"] = (rows["cents"] > limit) | (rows["sum_cents"] > limit)
    rows = rows[rows["fecha"] >= month.start]
    marked = set(rows.loc[rows["hit"], "key"])
    flagged = {
        row.id_transaccion: round(max(row.monto, row.sum_cents / 100) / min_amount, 9)
        for row in rows[rows["hit"]].itertuples()
    }
    returned = dict(zip(rows["id_transaccion"], rows["key"], strict=True))
    return flagged, {k: v for k, v in returned.items() if v in marked}


ROWS = [
    # d1: 105 days quiet, then 6,000 at once
    ("a0", "d1", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("a1", "d1", 6000.0, "2025-03-05 10:00:00", "Banca en Linea"),
    # d2: quiet, then a sum that crosses 5,000 at the third transaction
    ("b0", "d2", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("b1", "d2", 2000.0, "2025-03-05 10:00:00", "Banca en Linea"),
    ("b2", "d2", 2000.0, "2025-03-06 10:00:00", "Banca en Linea"),
    ("b3", "d2", 1500.0, "2025-03-07 10:00:00", "Banca en Linea"),
    # d3: exactly 5,000.00 is not above 5,000
    ("c0", "d3", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("c1", "d3", 2500.0, "2025-03-05 10:00:00", "Banca en Linea"),
    ("c2", "d3", 2500.0, "2025-03-06 10:00:00", "Banca en Linea"),
    # d4: the second amount one second after the 7-day window; d5: exactly at its end
    ("d0", "d4", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("d1", "d4", 2000.0, "2025-03-05 10:00:00", "Banca en Linea"),
    ("d2", "d4", 3500.0, "2025-03-12 10:00:01", "Banca en Linea"),
    ("e0", "d5", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("e1", "d5", 2000.0, "2025-03-05 10:00:00", "Banca en Linea"),
    ("e2", "d5", 3500.0, "2025-03-12 10:00:00", "Banca en Linea"),
    # d6: quiet for 89 days and 23:59:59 is not dormant; d7: exactly 90 days is
    ("f0", "d6", 120.0, "2024-12-05 10:00:01", "Comercio 1"),
    ("f1", "d6", 6000.0, "2025-03-05 10:00:00", "Sucursal 2"),
    ("g0", "d7", 120.0, "2024-12-05 10:00:00", "Comercio 1"),
    ("g1", "d7", 6000.0, "2025-03-05 10:00:00", "Sucursal 2"),
    # d8: no earlier transaction at all: a new customer, not a dormant one
    ("h1", "d8", 8000.0, "2025-03-05 10:00:00", "Sucursal 2"),
    # d9: last seen before the six-month lookback: also taken as new
    ("i0", "d9", 120.0, "2024-08-31 23:00:00", "Comercio 1"),
    ("i1", "d9", 8000.0, "2025-03-05 10:00:00", "Sucursal 2"),
    # d10: legitimate comeback: a 4,000 deposit at home and ordinary spending after it
    ("j0", "d10", 120.0, "2024-11-20 10:00:00", "Sucursal Casa"),
    ("j1", "d10", 4000.0, "2025-03-05 10:00:00", "Sucursal Casa"),
    ("j2", "d10", 150.0, "2025-03-06 12:00:00", "Comercio 1"),
    ("j3", "d10", 49.99, "2025-03-08 12:00:00", "Comercio 1"),
    # d11: reactivated at the end of February; the March amounts complete the sum
    ("k0", "d11", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("k1", "d11", 3000.0, "2025-02-26 10:00:00", "Banca en Linea"),
    ("k2", "d11", 2500.0, "2025-03-02 10:00:00", "Banca en Linea"),
    # d12: active customer (a transaction a week before): never dormant
    ("l0", "d12", 120.0, "2025-02-26 10:00:00", "Comercio 1"),
    ("l1", "d12", 9000.0, "2025-03-05 10:00:00", "Sucursal 2"),
    # d13: nulls are ignored: the null-amount row does not end the silence
    ("m0", "d13", 120.0, "2024-11-20 10:00:00", "Comercio 1"),
    ("m1", "d13", None, "2025-03-01 10:00:00", "Comercio 1"),
    ("m2", "d13", 5000.01, "2025-03-05 10:00:00", "Banca en Linea"),
]
EXPECTED = {"a1": 1.2, "b3": 1.1, "e2": 1.1, "g1": 1.2, "k2": 1.1, "m2": 1.000002}


def run(tmp_path, rows, month=MONTH, **params):
    write_months(tmp_path, transactions(rows))
    return rule_evidence(tmp_path, month, RULE, **params)


def test_hand_built_rows(tmp_path):
    evidence = run(tmp_path, ROWS)
    assert flags(evidence) == EXPECTED
    d2 = evidence[evidence["id_cliente"] == "d2"].set_index("id_transaccion")
    # the amounts since reactivating are evidence; the crossing one is flagged
    assert d2["marcada"].to_dict() == {"b1": False, "b2": False, "b3": True}
    assert set(d2["clave_alerta"]) == {"b1"}
    assert d2.loc["b3", "suma_desde_reactivacion"] == 5500.0
    assert d2.loc["b3", "dias_inactiva"] == 105
    assert d2.loc["b3", "reactivada_en"] == pd.Timestamp("2025-03-05 10:00:00")
    d11 = evidence[evidence["id_cliente"] == "d11"]
    assert list(d11["id_transaccion"]) == ["k2"] and set(d11["clave_alerta"]) == {"k1"}


def test_parameters_change_the_pattern(tmp_path):
    write_months(tmp_path, transactions(ROWS))
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, dormant_days=5))
    assert "l1" in flagged  # a week's silence is now enough
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, window_days=8))
    assert "d2" in flagged
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, min_amount=4999.99))
    assert "c2" in flagged and flagged["a1"] == round(6000 / 4999.99, 9)


def test_later_data_never_changes_a_flag(tmp_path):
    before = flags(run(tmp_path / "before", ROWS))
    later = [
        ("z0", "d3", 0.01, "2025-03-06 10:00:01", "Banca en Linea"),  # d3 now crosses 5,000
        ("z1", "d2", 9000.0, "2025-03-08 10:00:00", "Banca en Linea"),
        ("z2", "d8", 9000.0, "2025-03-09 10:00:00", "Banca en Linea"),
        ("z3", "d1", 9000.0, "2025-04-01 10:00:00", "Banca en Linea"),  # next month
        ("z4", "d7", 1.0, "2025-03-05 10:00:00", "Banca en Linea"),  # same instant, later id
    ]
    after = flags(run(tmp_path / "after", ROWS + later))
    assert {k: v for k, v in after.items() if k in before} == before
    assert {"z0", "z1"} <= set(after) and set(before) <= set(after)


def test_engine_equals_oracle_on_hand_built_rows(tmp_path):
    frame = transactions(ROWS)
    write_months(tmp_path, frame)
    evidence = rule_evidence(tmp_path, MONTH, RULE)
    expected_flags, expected_rows = oracle(frame, MONTH)
    assert flags(evidence) == expected_flags == EXPECTED
    assert alert_keys(evidence) == expected_rows


ANCHOR = ("anchor", None, 1.0, "2025-03-15 12:00:00", "Comercio A")
STARTS = [pd.Timestamp(t) for t in ("2024-08-25", "2024-11-01", "2025-02-20", "2025-03-01")]
CUSTOMERS = st.sampled_from(["c1", "c2", "c3", None])
AMOUNTS = st.one_of(
    st.sampled_from([1000.0, 2500.0, 5000.0, 2499.99, 2500.01, None]),
    st.integers(min_value=1, max_value=800_000).map(lambda cents: cents / 100),
)
ROW = st.tuples(
    CUSTOMERS,
    AMOUNTS,
    st.sampled_from(range(len(STARTS))),
    st.integers(min_value=0, max_value=40 * 24).map(lambda hours: hours * 3600),
)
# Seconds after the cut-off: at once, within the window, or next month.
LATER = st.tuples(CUSTOMERS, AMOUNTS, st.sampled_from([1, 3600, 3 * 86_400, 40 * 86_400]))


def frame_of(rows: list[tuple]) -> pd.DataFrame:
    return transactions(
        [
            (f"t{i:03d}", customer, amount, STARTS[start] + pd.Timedelta(seconds=s), "X")
            for i, (customer, amount, start, s) in enumerate(rows)
        ]
        + [ANCHOR]
    )


@examples(40)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    dormant_days=st.sampled_from([10, 30, 90]),
    window_days=st.sampled_from([1, 7]),
    min_amount=st.sampled_from([2500.0, 5000.0]),
)
def test_engine_equals_oracle(tmp_path_factory, rows, dormant_days, window_days, min_amount):
    root = tmp_path_factory.mktemp("dormant")
    frame = frame_of(rows)
    write_months(root, frame)
    params = {"dormant_days": dormant_days, "window_days": window_days, "min_amount": min_amount}
    evidence = rule_evidence(root, MONTH, RULE, **params)
    expected_flags, expected_rows = oracle(frame, MONTH, **params)
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


@examples(20)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    cut=st.integers(min_value=0, max_value=30),
    later=st.lists(LATER, min_size=1, max_size=10),
)
def test_rows_after_a_transaction_never_change_its_flag(tmp_path_factory, rows, cut, later):
    frame = frame_of(rows)
    cutoff = frame["fecha"].sort_values().iloc[cut % len(frame)]
    extra = transactions(
        [
            (f"z{i:03d}", customer, amount, cutoff + pd.Timedelta(seconds=s), "X")
            for i, (customer, amount, s) in enumerate(later)
        ]
    )
    without, with_later = flags_until_without_and_with(
        tmp_path_factory, frame, extra, cutoff, RULE, MONTH, dormant_days=10, min_amount=2500.0
    )
    assert without == with_later


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Ten months, so the last ones have the full six-month lookback."""
    root = tmp_path_factory.mktemp("synth")
    frame, labels = synthetic_months(root, "2024-09", "2025-06", rows_per_month=20_000, seed=11)
    return root, frame, labels


def test_engine_equals_oracle_on_synthetic_data_and_catches_dormant_accounts(synthetic):
    root, frame, labels = synthetic
    flagged: dict[str, float] = {}
    months = month_range("2025-01", "2025-06")
    for month in months:
        evidence = rule_evidence(root, month, RULE)
        expected_flags, expected_rows = oracle(frame, month)
        assert flags(evidence) == expected_flags
        assert alert_keys(evidence) == expected_rows
        flagged.update(expected_flags)
    fraud = frame.merge(labels[labels["escenario"] == "cuenta_dormida"], on="id_transaccion")
    fraud = fraud[fraud["fecha"] >= months[0].start]
    # A case is visible only if its customer has a transaction in the lookback before it.
    first = fraud.groupby("id_cliente")["fecha"].min()
    seen = [
        customer
        for customer, when in first.items()
        if (
            (frame["id_cliente"] == customer)
            & (frame["fecha"] < when)
            & (frame["fecha"] >= Month.of(when).shift(-LOOKBACK).start)
        ).any()
    ]
    visible = fraud[fraud["id_cliente"].isin(seen)]
    recall = fraud["id_transaccion"].isin(flagged).mean()
    visible_recall = visible["id_transaccion"].isin(flagged).mean()
    precision = len(set(flagged) & set(fraud["id_transaccion"])) / len(flagged)
    print(
        f"{RULE}: precision {precision:.2f}, recall {recall:.2f} "
        f"({visible_recall:.2f} of cases with history), flagged {len(flagged)}, "
        f"cases {fraud['id_cliente'].nunique()}, with history {len(seen)}"
    )
    assert len(seen) >= 2
    assert visible_recall >= 0.6
    assert precision >= 0.5
    assert np.isfinite(list(flagged.values())).all()
