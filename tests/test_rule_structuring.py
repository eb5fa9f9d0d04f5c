"""structuring: given rows -> expected flags, point in time, and a pandas oracle."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from fraudlib.month import Month, month_range

from builders import (
    alert_keys,
    case_by_customer_and_month,
    drawn_transactions,
    examples,
    flags,
    rule_evidence,
    scenario_catch,
    synthetic_months,
    transactions,
    write_months,
)

RULE = "structuring"
MONTH = Month(2025, 3)
LOOKBACK = 1


def oracle(
    frame: pd.DataFrame,
    month: Month,
    *,
    threshold: float = 10000.0,
    margin: float = 0.1,
    min_count: int = 3,
    window_days: int = 3,
) -> tuple[dict[str, float], dict[str, str]]:
    """Independent pandas version: (flagged id -> severidad, returned id -> clave_alerta).

    Binary search over each customer's time-ordered amounts in the band instead of SQL window
    frames. The band's lower edge is computed exactly, as SQL does with decimal literals.
    """
    lower = float(Decimal(repr(threshold)) * (1 - Decimal(repr(margin))))
    window = np.timedelta64(timedelta(days=window_days))
    rows = frame[(frame["fecha"] >= month.shift(-LOOKBACK).start) & (frame["fecha"] < month.end)]
    rows = rows.dropna(subset=["id_cliente", "monto", "ubicacion"])
    rows = rows[(rows["monto"] >= lower) & (rows["monto"] < threshold)]
    rows = rows.sort_values(["id_cliente", "fecha", "id_transaccion"])
    flagged: dict[str, float] = {}
    returned: dict[str, str] = {}
    for _customer, mine in rows.groupby("id_cliente", sort=False):
        ids = mine["id_transaccion"].to_numpy()
        when = mine["fecha"].to_numpy()
        position = np.arange(len(ids))
        counts = position - np.searchsorted(when, when - window, side="left") + 1
        hit = counts >= min_count
        starts = np.r_[True, when[1:] > when[:-1] + window]
        run_key = ids[np.maximum.accumulate(np.where(starts, position, 0))]
        in_month = when >= np.datetime64(month.start)
        marked_runs = set(run_key[hit & in_month])
        for i in np.flatnonzero(in_month):
            if hit[i]:
                flagged[ids[i]] = round(counts[i] / min_count, 9)
            if run_key[i] in marked_runs:
                returned[ids[i]] = run_key[i]
    return flagged, returned


def at(text: str) -> str:
    """'DD HH:MM[:SS]' in March 2025, as 'YYYY-MM-DD HH:MM:SS'."""
    return f"2025-03-{text}" + (":00" if text.count(":") == 1 else "")


DEPOSITS = [
    # c1: three deposits just under 10,000 within two days, then a fourth
    ("a0", "c1", 9500.00, at("03 10:00"), "Sucursal 1"),
    ("a1", "c1", 9200.00, at("04 11:00"), "Sucursal 2"),
    ("a2", "c1", 9900.00, at("05 09:00"), "Sucursal 1"),
    ("a3", "c1", 9999.99, at("05 15:00"), "Sucursal 1"),
    # c2: one deposit fewer - never flagged
    ("b0", "c2", 9500.00, at("03 10:00"), "Sucursal 1"),
    ("b1", "c2", 9500.00, at("04 10:00"), "Sucursal 1"),
    # c3: the first of three falls one second outside the three days ending at the third
    ("c0", "c3", 9500.00, at("03 10:00:00"), "Sucursal 1"),
    ("c1", "c3", 9500.00, at("04 10:00"), "Sucursal 1"),
    ("c2", "c3", 9500.00, at("06 10:00:01"), "Sucursal 1"),
    # c4: the same, exactly three days: the window includes its start
    ("d0", "c4", 9500.00, at("03 10:00:00"), "Sucursal 1"),
    ("d1", "c4", 9500.00, at("04 10:00"), "Sucursal 1"),
    ("d2", "c4", 9500.00, at("06 10:00:00"), "Sucursal 1"),
    # c5: exactly the threshold is reported anyway, so it is not under it
    ("e0", "c5", 9500.00, at("10 10:00"), "Sucursal 1"),
    ("e1", "c5", 9600.00, at("10 11:00"), "Sucursal 1"),
    ("e2", "c5", 10000.00, at("10 12:00"), "Sucursal 1"),
    # c6: the band's lower edge (9,000.00) is in it ...
    ("f0", "c6", 9000.00, at("10 10:00"), "Sucursal 1"),
    ("f1", "c6", 9999.99, at("10 11:00"), "Sucursal 1"),
    ("f2", "c6", 9500.00, at("10 12:00"), "Sucursal 1"),
    # c7: ... and 8,999.99 is not
    ("g0", "c7", 8999.99, at("10 10:00"), "Sucursal 1"),
    ("g1", "c7", 9999.99, at("10 11:00"), "Sucursal 1"),
    ("g2", "c7", 9500.00, at("10 12:00"), "Sucursal 1"),
    # c8: look-alike: a one-off deposit just under 10,000 every week, other amounts between
    ("h0", "c8", 9400.00, at("03 10:00"), "Sucursal 1"),
    ("h1", "c8", 120.00, at("04 10:00"), "Comercio 1"),
    ("h2", "c8", 9400.00, at("10 10:00"), "Sucursal 1"),
    ("h3", "c8", 9400.00, at("17 10:00"), "Sucursal 1"),
    ("h4", "c8", 9400.00, at("24 10:00"), "Sucursal 1"),
    # c9: rows with a null amount or location are ignored
    ("i0", "c9", 9500.00, at("12 10:00"), "Sucursal 1"),
    ("i1", "c9", None, at("12 11:00"), "Sucursal 1"),
    ("i2", "c9", 9500.00, at("12 12:00"), None),
    ("i3", "c9", 9500.00, at("12 13:00"), "Sucursal 1"),
    # c10: other amounts in between do not break an episode; simultaneous deposits are
    # ordered by id
    ("j2", "c10", 9100.00, at("20 10:00"), "Sucursal 1"),
    ("j1", "c10", 50.00, at("20 10:30"), "Comercio 1"),
    ("j4", "c10", 9100.00, at("20 11:00"), "Sucursal 1"),
    ("j3", "c10", 9100.00, at("20 11:00"), "Sucursal 1"),
]


def run(tmp_path, rows, month=MONTH, **params):
    write_months(tmp_path, transactions(rows))
    return rule_evidence(tmp_path, month, RULE, **params)


def test_hand_built_rows(tmp_path):
    evidence = run(tmp_path, DEPOSITS)
    assert flags(evidence) == {
        "a2": 1.0,
        "a3": round(4 / 3, 9),
        "d2": 1.0,
        "f2": 1.0,
        "j4": 1.0,
    }
    c1 = evidence[evidence["id_cliente"] == "c1"].set_index("id_transaccion")
    assert sorted(c1.index) == ["a0", "a1", "a2", "a3"]
    assert set(c1["clave_alerta"]) == {"a0"}
    assert c1.loc["a3", "en_ventana"] == 4
    c10 = evidence[evidence["id_cliente"] == "c10"]
    assert sorted(c10["id_transaccion"]) == ["j2", "j3", "j4"]  # the 50.00 is not evidence


def test_threshold_margin_count_and_window_are_parameters(tmp_path):
    write_months(tmp_path, transactions(DEPOSITS))
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, min_count=2, window_days=1))
    assert {"b1", "c1", "e1", "i3"} <= set(flagged)  # b1, c1: exactly one day later
    assert "a1" not in flagged  # 25 hours later
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, window_days=14))
    assert "h3" in flagged and "c2" in flagged
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, threshold=10000.01))
    assert "e2" in flagged and "f2" not in flagged  # the band is now [9000.009, 10000.01)


def test_an_episode_reaching_into_the_previous_month_counts_its_deposits(tmp_path):
    rows = [
        ("m0", "c1", 9500.00, "2025-02-27 10:00", "Sucursal 1"),
        ("m1", "c1", 9500.00, "2025-02-28 10:00", "Sucursal 1"),
        ("m2", "c1", 9500.00, "2025-03-01 10:00", "Sucursal 1"),
        ("n0", "c2", 9500.00, "2025-01-31 10:00", "Sucursal 1"),  # two months back: unread
        ("n1", "c2", 9500.00, "2025-02-01 10:00", "Sucursal 1"),
        ("n2", "c2", 9500.00, "2025-03-01 10:00", "Sucursal 1"),
    ]
    evidence = run(tmp_path, rows)
    assert flags(evidence) == {"m2": 1.0}
    assert set(evidence["id_transaccion"]) == {"m2"}  # only this month's rows
    assert set(evidence["clave_alerta"]) == {"m0"}


def test_later_data_never_changes_a_flag(tmp_path):
    before = flags(run(tmp_path / "before", DEPOSITS))
    later = [
        # deposits right after flagged and unflagged ones, at the same instant with a later
        # id, and next month
        ("z0", "c2", 9500.00, at("04 10:00:01"), "Sucursal 1"),
        ("z1", "c3", 9500.00, at("06 10:00:02"), "Sucursal 1"),
        ("z2", "c10", 9100.00, at("20 11:00"), "Sucursal 1"),
        ("z3", "c7", 9500.00, at("10 13:00"), "Sucursal 1"),
        ("z4", "c5", 9800.00, "2025-04-01 09:00:00", "Sucursal 1"),
    ]
    after = flags(run(tmp_path / "after", DEPOSITS + later))
    assert {k: v for k, v in after.items() if k in {row[0] for row in DEPOSITS}} == before
    assert {"z0", "z1", "z2", "z3"} <= set(after)


def test_engine_equals_oracle_on_hand_built_rows(tmp_path):
    frame = transactions(DEPOSITS)
    write_months(tmp_path, frame)
    evidence = rule_evidence(tmp_path, MONTH, RULE)
    expected_flags, expected_rows = oracle(frame, MONTH)
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


# January is outside the one-month lookback. (Hypothesis prefers the first of a list.)
DAYS = [pd.Timestamp(d) for d in ("2025-03-01", "2025-02-27", "2025-01-30", "2025-03-20")]
# A row without a customer, ignored by the rule, so the month's partition always exists.
ANCHOR = ("anchor", None, 1.0, "2025-03-15 12:00:00", "Sucursal 1")
# Mostly amounts in or at the edges of the default band, some far from it.
AMOUNTS = st.one_of(
    st.sampled_from([9000.0, 8999.99, 9999.99, 10000.0, 9500.0, 9100.0, 4500.0, 4750.0, None]),
    st.integers(min_value=850_000, max_value=1_000_100).map(lambda cents: cents / 100),
)
ROW = st.tuples(
    st.sampled_from(["c1", "c1", "c2", None]),
    AMOUNTS,
    st.sampled_from(range(len(DAYS))),
    # whole hours make ties and exact window edges common
    st.integers(min_value=0, max_value=24 * 3).map(lambda k: k * 3600),
    st.sampled_from(["Sucursal 1", "Sucursal 2", None]),
)


@examples(40)
@given(
    rows=st.lists(ROW, min_size=10, max_size=40),
    threshold=st.sampled_from([10000.0, 10000.0, 5000.0]),
    margin=st.sampled_from([0.1, 0.05, 0.15]),
    min_count=st.integers(min_value=2, max_value=4),
    window_days=st.integers(min_value=1, max_value=4),
)
def test_engine_equals_oracle(tmp_path_factory, rows, threshold, margin, min_count, window_days):
    root = tmp_path_factory.mktemp("structuring")
    frame = drawn_transactions(rows, DAYS, ANCHOR)
    write_months(root, frame)
    params = {
        "threshold": threshold,
        "margin": margin,
        "min_count": min_count,
        "window_days": window_days,
    }
    evidence = rule_evidence(root, MONTH, RULE, **params)
    expected_flags, expected_rows = oracle(frame, MONTH, **params)
    event("some flagged" if expected_flags else "none flagged")
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    frame, labels = synthetic_months(root, "2025-01", "2025-04", rows_per_month=20_000, seed=5)
    return root, frame, labels


def test_engine_equals_oracle_on_synthetic_data_and_catches_structuring(synthetic):
    root, frame, labels = synthetic
    flagged: dict[str, float] = {}
    for month in month_range("2025-01", "2025-04"):
        evidence = rule_evidence(root, month, RULE)
        expected_flags, expected_rows = oracle(frame, month)
        assert flags(evidence) == expected_flags
        assert alert_keys(evidence) == expected_rows
        flagged.update(expected_flags)
    # The first min_count - 1 deposits are needed to see the pattern, so transaction recall
    # is bounded by (n - 2) / n; every case (3-6 deposits within 3 days) is caught.
    catch = scenario_catch(
        frame, labels, flagged, "fraccionamiento", case_key=case_by_customer_and_month
    )
    print(
        f"{RULE}: precision {catch.precision:.2f}, recall {catch.recall:.2f}, "
        f"cases {catch.cases_caught}/{catch.cases}, flagged {catch.flagged}"
    )
    assert catch.cases_caught == catch.cases
    assert catch.recall >= 0.4
    assert catch.precision >= 0.8
