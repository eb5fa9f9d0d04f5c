"""amount_spike: given rows -> expected flags, point in time, and a pandas oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from fraudlib.month import Month, month_range

from builders import (
    drawn_transactions,
    examples,
    flags,
    rule_evidence,
    scenario_catch,
    synthetic_months,
    transactions,
    write_months,
)

RULE = "amount_spike"
MONTH = Month(2025, 3)
LOOKBACK = 3


def oracle(
    frame: pd.DataFrame,
    month: Month,
    *,
    factor: float = 10.0,
    min_amount: float = 1000.0,
    min_history: int = 10,
) -> dict[str, float]:
    """Independent pandas version: flagged id -> severidad.

    Running sums of whole cents (exact integers, as SQL's decimal sums) over each customer's
    time-ordered rows instead of SQL window frames.
    """
    rows = frame[(frame["fecha"] >= month.shift(-LOOKBACK).start) & (frame["fecha"] < month.end)]
    rows = rows.dropna(subset=["id_cliente", "monto", "ubicacion"])
    rows = rows.sort_values(["id_cliente", "fecha", "id_transaccion"])
    flagged: dict[str, float] = {}
    for _customer, mine in rows.groupby("id_cliente", sort=False):
        ids = mine["id_transaccion"].to_numpy()
        when = mine["fecha"].to_numpy()
        amount = mine["monto"].to_numpy()
        cents = [round(a * 100) for a in amount]
        earlier_cents = 0
        for i in range(len(ids)):
            if i >= min_history and when[i] >= np.datetime64(month.start):
                average = (earlier_cents / 100) / i
                if amount[i] > min_amount and amount[i] > factor * average:
                    flagged[ids[i]] = round(float(amount[i] / average / factor), 9)
            earlier_cents += cents[i]
    return flagged


def history(customer: str, prefix: str, start: str, count: int = 10, amount=200.0):
    """`count` ordinary payments of `amount`, one a day from `start` ('YYYY-MM-DD')."""
    first = pd.Timestamp(start) + pd.Timedelta(hours=12)
    return [
        (f"{prefix}{i:02d}", customer, amount, first + pd.Timedelta(days=i), "Comercio A")
        for i in range(count)
    ]


SPIKES = [
    # c1: ten payments averaging 200, then 2,500 (12.5 times): flagged
    *history("c1", "a", "2025-02-01"),
    ("a99", "c1", 2500.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    # c2: exactly ten times the average is not more than ten times
    *history("c2", "b", "2025-02-01"),
    ("b99", "c2", 2000.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    # c3: nine earlier payments are too short a history
    *history("c3", "c", "2025-02-01", count=9),
    ("c99", "c3", 5000.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    # c4: twenty times an average of 50, but exactly min_amount: too small to matter ...
    *history("c4", "d", "2025-02-01", amount=50.0),
    ("d99", "c4", 1000.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    # c9: ... while a cent more is a spike
    *history("c9", "k", "2025-02-01", amount=50.0),
    ("k99", "c9", 1000.01, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    # c5: history from four months back is outside the lookback: no baseline
    *history("c5", "e", "2024-11-01"),
    ("e99", "c5", 5000.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    # c6: a business look-alike: large payments are ordinary for it
    *history("c6", "f", "2025-01-10", count=30, amount=3000.0),
    ("f99", "c6", 25000.00, pd.Timestamp("2025-03-05 10:00"), "Sucursal 1"),
    # c7: history earlier this month counts ...
    *history("c7", "g", "2025-03-01", amount=100.0),
    ("g99", "c7", 1500.00, pd.Timestamp("2025-03-12 10:00"), "Comercio A"),
    # c10: ... rows with a null amount or location do not
    *history("c10", "m", "2025-03-01", count=9, amount=100.0),
    ("m50", "c10", None, pd.Timestamp("2025-03-10 13:00"), "Comercio A"),
    ("m51", "c10", 100.00, pd.Timestamp("2025-03-10 14:00"), None),
    ("m99", "c10", 1500.00, pd.Timestamp("2025-03-12 10:00"), "Comercio A"),
    # c8: two at the same instant: ordered by id, the second has the first in its baseline
    # (average 409.09), so it is no longer a spike
    *history("c8", "h", "2025-02-01"),
    ("h99", "c8", 2500.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
    ("h98", "c8", 2500.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
]


def run(tmp_path, rows, month=MONTH, **params):
    write_months(tmp_path, transactions(rows))
    return rule_evidence(tmp_path, month, RULE, **params)


def test_hand_built_rows(tmp_path):
    evidence = run(tmp_path, SPIKES)
    assert flags(evidence) == {"a99": 1.25, "k99": 2.00002, "g99": 1.5, "h98": 1.25}
    # every returned row is a flagged spike, its own alert, with its baseline as evidence
    assert evidence["marcada"].all()
    assert (evidence["clave_alerta"] == evidence["id_transaccion"]).all()
    a99 = evidence.set_index("id_transaccion").loc["a99"]
    assert a99["promedio_previo"] == 200.0 and a99["n_previas"] == 10


def test_factor_amount_and_history_are_parameters(tmp_path):
    write_months(tmp_path, transactions(SPIKES))
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, factor=9.9, min_history=9))
    assert {"b99", "c99"} <= set(flagged)
    assert "m99" in flagged  # nine earlier now suffice
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, min_amount=999.99))
    assert "d99" in flagged
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, factor=8.0))
    assert "f99" in flagged  # 25,000 is 8.3 times the business's average


def test_later_data_never_changes_a_flag(tmp_path):
    before = flags(run(tmp_path / "before", SPIKES))
    later = [
        # large amounts right after a spike and after a near miss (they would change the
        # average), one at the same instant with a later id, and next month
        ("z0", "c1", 90000.00, pd.Timestamp("2025-03-05 10:00:01"), "Comercio A"),
        ("z1", "c2", 1.00, pd.Timestamp("2025-03-05 10:00:01"), "Comercio A"),
        ("z2", "c8", 1.00, pd.Timestamp("2025-03-05 10:00"), "Comercio A"),
        ("z3", "c3", 10.00, pd.Timestamp("2025-03-20 10:00"), "Comercio A"),
        ("z4", "c1", 1.00, pd.Timestamp("2025-04-01 10:00"), "Comercio A"),
    ]
    after = flags(run(tmp_path / "after", SPIKES + later))
    assert {k: v for k, v in after.items() if k in {row[0] for row in SPIKES}} == before
    assert "z0" in after


def test_engine_equals_oracle_on_hand_built_rows(tmp_path):
    frame = transactions(SPIKES)
    write_months(tmp_path, frame)
    assert flags(rule_evidence(tmp_path, MONTH, RULE)) == oracle(frame, MONTH)


# The history is read from December, so the last day is outside the lookback. (Hypothesis
# prefers the first of a list: that is a day of the month.)
DAYS = [pd.Timestamp(d) for d in ("2025-03-10", "2025-02-27", "2024-12-15", "2025-03-20")]
DAYS += [pd.Timestamp("2024-11-30")]
# A row without a customer, ignored by the rule, so the month's partition always exists.
ANCHOR = ("anchor", None, 1.0, "2025-03-15 12:00:00", "Comercio A")
# Mostly small amounts, so that averages stay low and spikes (and exact ties with
# factor × average, e.g. 1000.0 after 100s) are common.
AMOUNTS = st.one_of(
    st.sampled_from([10.0, 20.0, 50.0, 100.0, 100.0, 100.0, 1000.0, 1000.01, 2000.0, None]),
    st.integers(min_value=1, max_value=20_000).map(lambda cents: cents / 100),
)
ROW = st.tuples(
    st.sampled_from(["c1", "c1", "c2", None]),
    AMOUNTS,
    st.sampled_from(range(len(DAYS))),
    # whole hours over a week make ties common
    st.integers(min_value=0, max_value=24 * 7).map(lambda k: k * 3600),
    st.sampled_from(["Comercio A", None]),
)


@examples(40)
@given(
    rows=st.lists(ROW, min_size=10, max_size=40),
    factor=st.sampled_from([2.0, 2.0, 5.0, 10.0]),
    min_amount=st.sampled_from([0.0, 0.0, 1000.0]),
    min_history=st.integers(min_value=1, max_value=4),
)
def test_engine_equals_oracle(tmp_path_factory, rows, factor, min_amount, min_history):
    root = tmp_path_factory.mktemp("spikes")
    frame = drawn_transactions(rows, DAYS, ANCHOR)
    write_months(root, frame)
    params = {"factor": factor, "min_amount": min_amount, "min_history": min_history}
    evidence = rule_evidence(root, MONTH, RULE, **params)
    expected = oracle(frame, MONTH, **params)
    event("some flagged" if expected else "none flagged")
    assert flags(evidence) == expected


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    frame, labels = synthetic_months(root, "2025-01", "2025-04", rows_per_month=20_000, seed=5)
    return root, frame, labels


def test_engine_equals_oracle_on_synthetic_data_and_catches_spikes(synthetic):
    root, frame, labels = synthetic
    flagged: dict[str, float] = {}
    for month in month_range("2025-01", "2025-04"):
        found = flags(rule_evidence(root, month, RULE))
        assert found == oracle(frame, month)
        flagged.update(found)
    catch = scenario_catch(frame, labels, flagged, "monto_atipico")
    # Other fraud (large transfers, structuring, new places) is also far above the victims'
    # history, and so are the large look-alikes, which bounds precision for this label.
    print(
        f"{RULE}: precision {catch.precision:.2f} (any fraud {catch.any_fraud:.2f}), "
        f"recall {catch.recall:.2f}, flagged {catch.flagged}"
    )
    assert catch.recall >= 0.6
    assert catch.any_fraud >= 0.25
