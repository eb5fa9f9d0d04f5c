"""The synthetic data generator: contract, determinism, labels, scenarios and look-alikes."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudlib import synth
from fraudlib.contract import (
    CONFIRMED_FRAUD,
    CONFIRMED_FRAUD_SCHEMA,
    LABELS,
    LABELS_SCHEMA,
    MAIN_OFFICE,
    TRANSACTIONS,
    TRANSACTIONS_SCHEMA,
    month_dir,
)
from fraudlib.errors import FraudlibError
from fraudlib.month import Month, month_range
from fraudlib.synth import LOOKALIKES, SCENARIOS, generate

ROWS = 20_000
SEED = 3
FIRST, LAST = Month(2025, 1), Month(2025, 6)
MONTHS = month_range(FIRST, LAST)


def _transactions_path(root: Path, month: Month) -> Path:
    return month_dir(root, TRANSACTIONS, month) / "part-0.parquet"


def _side_path(root: Path, table: str, month: Month) -> Path:
    return root / table / f"part-{month}.parquet"


def _files(root: Path, month: Month) -> dict[str, Path]:
    return {
        TRANSACTIONS: _transactions_path(root, month),
        LABELS: _side_path(root, LABELS, month),
        CONFIRMED_FRAUD: _side_path(root, CONFIRMED_FRAUD, month),
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Six months of 20,000 rows, generated once for the module."""
    root = tmp_path_factory.mktemp("synth")
    lines: list[str] = []
    summary = generate(root, FIRST, LAST, rows_per_month=ROWS, seed=SEED, progress=lines.append)
    return root, summary, lines


@pytest.fixture(scope="module")
def frames(dataset):
    """(transactions with a `month` column, labels, confirmations) as pandas frames."""
    root = dataset[0]
    parts = []
    for month in MONTHS:
        part = pq.read_table(_transactions_path(root, month)).to_pandas()
        part["month"] = str(month)
        parts.append(part)
    transactions = pd.concat(parts, ignore_index=True)
    labels = pd.concat(
        [pq.read_table(_side_path(root, LABELS, m)).to_pandas() for m in MONTHS],
        ignore_index=True,
    )
    confirmed = pd.concat(
        [pq.read_table(_side_path(root, CONFIRMED_FRAUD, m)).to_pandas() for m in MONTHS],
        ignore_index=True,
    )
    return transactions, labels, confirmed


@pytest.fixture(scope="module")
def labelled(frames):
    transactions, labels, _ = frames
    return transactions.merge(labels, on="id_transaccion", how="left")


def _seed_rule(transactions: pd.DataFrame) -> pd.DataFrame:
    """The original rule, as an oracle: per month, customer and non-main location, the
    transactions > 10,000 summing > 50,000."""
    big = transactions[(transactions.monto > 10_000) & (transactions.ubicacion != MAIN_OFFICE)]
    totals = big.groupby(["month", "id_cliente", "ubicacion"], as_index=False).monto.sum()
    return totals[totals.monto > 50_000]


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_tables(tmp_path):
    for name in ("a", "b"):
        generate(tmp_path / name, "2025-01", "2025-02", rows_per_month=5_000, seed=11)
    for month in month_range("2025-01", "2025-02"):
        for table, path in _files(tmp_path / "a", month).items():
            other = _files(tmp_path / "b", month)[table]
            assert pq.read_table(path).equals(pq.read_table(other)), (table, month)


def test_different_seed_gives_different_data(tmp_path):
    generate(tmp_path / "a", "2025-01", "2025-01", rows_per_month=5_000, seed=1)
    generate(tmp_path / "b", "2025-01", "2025-01", rows_per_month=5_000, seed=2)
    month = Month(2025, 1)
    a = pq.read_table(_transactions_path(tmp_path / "a", month))
    b = pq.read_table(_transactions_path(tmp_path / "b", month))
    assert a.num_rows == b.num_rows == 5_000
    assert not a.column("monto").equals(b.column("monto"))
    assert not a.column("fecha").equals(b.column("fecha"))


def test_month_generated_alone_matches_month_in_range(dataset, tmp_path):
    root = dataset[0]
    march = Month(2025, 3)
    generate(tmp_path, march, march, rows_per_month=ROWS, seed=SEED)
    for table, path in _files(tmp_path, march).items():
        in_range = pq.read_table(_files(root, march)[table])
        assert pq.read_table(path).equals(in_range), table


def test_months_differ_from_each_other(frames):
    transactions = frames[0]
    jan = transactions[transactions.month == "2025-01"].monto.to_numpy()
    feb = transactions[transactions.month == "2025-02"].monto.to_numpy()
    assert not np.array_equal(jan, feb)


# --- contract ------------------------------------------------------------------------------


def test_schemas_match_the_contract_exactly(dataset):
    root = dataset[0]
    for month in MONTHS:
        schema = pq.read_schema(_transactions_path(root, month))
        contract = list(TRANSACTIONS_SCHEMA)
        assert list(schema)[: len(contract)] == contract
        assert schema.field("fecha").type == pa.timestamp("us")  # naive: no time zone
        assert [(f.name, f.type) for f in list(schema)[len(contract) :]] == [
            ("canal", pa.string()),
            ("latitud", pa.float64()),
            ("longitud", pa.float64()),
        ]
        assert pq.read_schema(_side_path(root, LABELS, month)).equals(LABELS_SCHEMA)
        confirmed = pq.read_schema(_side_path(root, CONFIRMED_FRAUD, month))
        assert confirmed.equals(CONFIRMED_FRAUD_SCHEMA)


def test_every_month_has_exactly_the_requested_rows(frames):
    assert (frames[0].groupby("month").size() == ROWS).all()


def test_fecha_is_within_its_month_and_sorted(dataset):
    root = dataset[0]
    for month in MONTHS:
        fecha = pq.read_table(_transactions_path(root, month)).column("fecha").to_pandas()
        assert fecha.min() >= pd.Timestamp(month.start)
        assert fecha.max() < pd.Timestamp(month.end)
        assert fecha.is_monotonic_increasing


def test_monto_is_positive_with_two_decimals(frames):
    monto = frames[0].monto.to_numpy()
    assert (monto > 0).all()
    assert np.array_equal(np.round(monto * 100) / 100, monto)


def test_ids_are_unique_across_months_and_well_formed(frames):
    transactions = frames[0]
    assert transactions.id_transaccion.is_unique
    months = transactions.month.str.replace("-", "")
    assert (transactions.id_transaccion.str[1:7] == months).all()
    assert transactions.id_transaccion.str.fullmatch(r"T\d{6}-\d{9}").all()
    assert transactions.id_cliente.str.fullmatch(r"C\d{7}").all()


def test_channels_and_coordinates(frames):
    transactions = frames[0]
    assert set(transactions.canal) == set(synth.CHANNELS)
    online = transactions.canal == "online"
    assert (transactions.ubicacion[online] == synth.ONLINE_LOCATION).all()
    assert transactions.latitud[online].isna().all()
    assert transactions.latitud[~online].notna().all()
    assert transactions.longitud[~online].between(-180, 180).all()
    # Every location has one fixed position.
    positions = transactions[~online].groupby("ubicacion")[["latitud", "longitud"]].nunique()
    assert (positions == 1).all().all()


def test_locations_of_every_kind(frames):
    names = set(frames[0].ubicacion)
    assert MAIN_OFFICE in names
    assert synth.ONLINE_LOCATION in names
    for prefix, at_least in (("Sucursal ", 20), ("Cajero ", 100), ("Comercio ", 200)):
        assert sum(name.startswith(prefix) for name in names) >= at_least, prefix


def test_no_temporary_files_are_left(dataset):
    leftovers = [p for p in dataset[0].rglob("*") if p.name.startswith(".")]
    assert leftovers == []


# --- labels and confirmations --------------------------------------------------------------


def test_every_label_refers_to_an_existing_transaction(frames):
    transactions, labels, _ = frames
    assert labels.id_transaccion.is_unique
    assert labels.id_transaccion.isin(transactions.id_transaccion).all()
    assert set(labels.escenario) <= {s.name for s in SCENARIOS}


def test_confirmations_are_labelled_fraud_confirmed_after_the_fact(frames):
    transactions, labels, confirmed = frames
    assert confirmed.id_transaccion.is_unique
    assert confirmed.id_transaccion.isin(labels.id_transaccion).all()
    joined = confirmed.merge(transactions, on="id_transaccion")
    assert (joined.fecha_confirmacion > joined.fecha).all()
    delay_days = (joined.fecha_confirmacion - joined.fecha).dt.total_seconds() / 86_400
    assert delay_days.min() >= 0.5
    assert delay_days.median() > 2  # days to weeks, not minutes
    assert 0.5 <= len(confirmed) / len(labels) <= 0.9
    # Some confirmations arrive in a later month than the transaction.
    later = joined.fecha_confirmacion.dt.to_period("M") > joined.fecha.dt.to_period("M")
    assert later.any()


def test_summary_counts_match_the_files(dataset, frames):
    _, summary, lines = dataset
    _, labels, confirmed = frames
    assert summary.months == tuple(MONTHS)
    assert summary.rows_per_month == ROWS
    assert dict(summary.fraud_by_scenario) == labels.escenario.value_counts().to_dict()
    assert summary.confirmed == len(confirmed)
    assert summary.seconds > 0
    assert len(lines) == len(MONTHS)
    assert all(line.startswith(str(month)) for line, month in zip(lines, MONTHS, strict=True))


def test_every_scenario_is_present(dataset, frames):
    summary = dataset[1]
    assert set(frames[1].escenario) == {s.name for s in SCENARIOS}
    assert all(count > 0 for count in summary.fraud_by_scenario.values())


def test_fraud_is_a_small_share_of_rows(frames):
    transactions, labels, _ = frames
    share = len(labels) / len(transactions)
    # Small months carry at least one case of each scenario, so their share is higher than
    # the ~0.15% of full-size months.
    assert 0.0005 <= share <= 0.01


# --- each scenario keeps its promise -------------------------------------------------------


def _cases(labelled: pd.DataFrame, scenario: str):
    rows = labelled[labelled.escenario == scenario]
    assert len(rows) > 0, scenario
    return rows.groupby(["month", "id_cliente"])


def test_grandes_transferencias_meets_the_seed_rule(labelled):
    for _, case in _cases(labelled, "grandes_transferencias"):
        assert case.ubicacion.nunique() == 1
        assert (case.ubicacion != MAIN_OFFICE).all()
        assert (case.monto > 10_000).all()
        assert case.monto.sum() > 50_000
    flagged = _seed_rule(labelled)
    fraud = labelled[labelled.escenario == "grandes_transferencias"]
    keys = set(zip(flagged.month, flagged.id_cliente, strict=True))
    assert set(zip(fraud.month, fraud.id_cliente, strict=True)) <= keys


def test_rafaga_is_a_burst_within_five_minutes(labelled):
    for _, case in _cases(labelled, "rafaga"):
        assert 5 <= len(case) <= 15
        assert case.fecha.max() - case.fecha.min() <= pd.Timedelta(minutes=5)


def test_fraccionamiento_stays_just_under_the_threshold(labelled):
    for _, case in _cases(labelled, "fraccionamiento"):
        assert len(case) >= 3
        assert case.monto.between(9_000, 9_999.99).all()
        assert case.fecha.max() - case.fecha.min() < pd.Timedelta(days=3)


def test_monto_atipico_is_far_above_the_customers_history(labelled):
    for (_, customer), case in _cases(labelled, "monto_atipico"):
        history = labelled[(labelled.id_cliente == customer) & labelled.escenario.isna()]
        assert case.monto.max() >= 10 * history.monto.median()
        assert case.monto.max() > history.monto.max()


def test_ubicacion_nueva_is_a_place_the_customer_never_used(labelled):
    for (_, customer), case in _cases(labelled, "ubicacion_nueva"):
        others = labelled[(labelled.id_cliente == customer) & (labelled.escenario.isna())]
        assert not set(case.ubicacion) & set(others.ubicacion)
        assert case.monto.max() >= 1_000


def test_saltos_ubicacion_implies_impossible_speed(labelled):
    for _, case in _cases(labelled, "saltos_ubicacion"):
        case = case.sort_values("fecha")
        assert case.ubicacion.is_unique and len(case) >= 4
        assert case.fecha.max() - case.fecha.min() <= pd.Timedelta(minutes=90)
        lat, lon = case.latitud.to_numpy(), case.longitud.to_numpy()
        km = synth._km(lat[:-1], lon[:-1], lat[1:], lon[1:])
        hours = np.diff(case.fecha.to_numpy()).astype("timedelta64[s]").astype(float) / 3_600
        assert (km >= 250).all()
        assert (km / np.maximum(hours, 1e-9) > 250).all()


def test_cuenta_dormida_follows_three_quiet_months(labelled):
    checked = 0
    for (month, customer), case in _cases(labelled, "cuenta_dormida"):
        mine = labelled[labelled.id_cliente == customer]
        this_month = mine[mine.month == month]
        assert this_month.escenario.eq("cuenta_dormida").all()  # nothing ordinary this month
        before = {str(Month.parse(month).shift(-k)) for k in (1, 2, 3)}
        if before <= set(map(str, MONTHS)):
            assert not mine.month.isin(before).any()
            checked += 1
        assert case.monto.sum() >= 10_000
    assert checked > 0


def test_punto_comprometido_hits_many_customers_at_one_place(labelled):
    rows = labelled[labelled.escenario == "punto_comprometido"]
    assert len(rows) > 0
    for _, case in rows.groupby(["month", "ubicacion"]):
        assert case.id_cliente.nunique() >= 12
        assert case.fecha.max() - case.fecha.min() < pd.Timedelta(days=24)
        assert (case.canal == "cajero").all()


# --- legitimate look-alikes ----------------------------------------------------------------


def test_every_lookalike_is_present_and_unlabelled(dataset):
    summary = dataset[1]
    assert set(summary.lookalike_rows) == {p.name for p in LOOKALIKES}
    assert all(count > 0 for count in summary.lookalike_rows.values()), summary.lookalike_rows


def test_ties_at_the_thresholds_are_present_and_not_flagged(labelled):
    legit = labelled[labelled.escenario.isna()]
    non_main = legit[(legit.monto > 10_000) & (legit.ubicacion != MAIN_OFFICE)]
    totals = non_main.groupby(["month", "id_cliente", "ubicacion"]).monto.sum()
    assert (totals == 50_000.0).any()  # exact in floating point: the seed rule's `>` is tested
    assert ((totals >= 30_000) & (totals < 50_000)).any()  # near misses
    exact = legit[legit.monto == 10_000.0]
    assert len(exact) >= 5
    # Counting the exact 10,000.00 amounts with `>=` would cross 50,000 at one place.
    at_least = legit[(legit.monto >= 10_000) & (legit.ubicacion != MAIN_OFFICE)]
    inclusive = at_least.groupby(["month", "id_cliente", "ubicacion"]).monto.sum()
    strict = totals.reindex(inclusive.index, fill_value=0)
    assert ((inclusive > 50_000) & (strict <= 50_000)).any()
    flagged = _seed_rule(labelled)
    ties = totals[totals == 50_000.0].reset_index()
    assert not ties.id_cliente.isin(flagged.id_cliente).any()


def test_large_transfers_at_the_main_office_are_legitimate(labelled):
    main = labelled[(labelled.ubicacion == MAIN_OFFICE) & (labelled.monto > 10_000)]
    assert main.escenario.isna().all()
    assert (main.groupby(["month", "id_cliente"]).monto.sum() > 50_000).any()


def test_only_recurring_business_payments_are_legitimate_seed_rule_hits(labelled):
    flagged = _seed_rule(labelled)
    fraud_customers = set(labelled[labelled.escenario == "grandes_transferencias"].id_cliente)
    legit = flagged[~flagged.id_cliente.isin(fraud_customers)]
    assert len(legit) > 0  # precision below 1 on purpose
    # The same customers at the same branch every month: history can explain them.
    assert legit.groupby(["id_cliente", "ubicacion"]).size().min() == len(MONTHS)


def test_one_off_amounts_just_under_the_threshold_exist(labelled):
    legit = labelled[labelled.escenario.isna() & labelled.monto.between(9_000, 9_999.99)]
    per_customer = legit.groupby(["month", "id_cliente"]).size()
    assert (per_customer == 1).any()


def test_dormant_customers_reactivate(frames):
    transactions = frames[0]
    present = pd.crosstab(transactions.id_cliente, transactions.month) > 0
    present = present.reindex(columns=[str(m) for m in MONTHS], fill_value=False)
    # A month with activity right after three months without any.
    back = present.to_numpy()
    reactivated = [
        (~back[:, m - 3 : m].any(axis=1) & back[:, m]).sum() for m in range(3, len(MONTHS))
    ]
    assert sum(reactivated) > 0


def test_activity_is_skewed_and_has_daily_rhythm(frames):
    transactions = frames[0]
    per_customer = transactions.groupby(["month", "id_cliente"]).size()
    assert per_customer.quantile(0.99) > 5 * per_customer.median()
    hours = transactions.fecha.dt.hour.value_counts()
    assert hours.loc[[12, 13, 18, 19]].min() > 5 * hours.loc[[2, 3, 4]].max()
    branch = transactions[transactions.canal.isin(["sucursal", "transferencia"])]
    assert (branch.fecha.dt.day_of_week < 6).all()  # branches are closed on Sundays


def test_usual_places_are_near_home(frames):
    transactions = frames[0]
    in_person = transactions[transactions.canal.isin(["cajero", "comercio"])]
    spread = in_person.groupby("id_cliente")[["latitud", "longitud"]].std().dropna()
    # The median customer's places lie within a fraction of a degree of each other.
    assert spread.latitud.median() < 0.5


# --- registries ----------------------------------------------------------------------------


def test_registries_are_named_and_described():
    names = [p.name for p in (*SCENARIOS, *LOOKALIKES)]
    assert len(names) == len(set(names))
    assert {p.name for p in SCENARIOS} == {
        "grandes_transferencias",
        "rafaga",
        "fraccionamiento",
        "monto_atipico",
        "ubicacion_nueva",
        "saltos_ubicacion",
        "cuenta_dormida",
        "punto_comprometido",
    }
    for pattern in (*SCENARIOS, *LOOKALIKES):
        assert re.fullmatch(r"[a-z0-9_]+", pattern.name)
        assert len(pattern.description) > 40, pattern.name


# --- re-runs and bad input -----------------------------------------------------------------


def test_rerun_replaces_the_month(tmp_path):
    month = Month(2025, 2)
    generate(tmp_path, month, month, rows_per_month=2_000, seed=1)
    generate(tmp_path, month, month, rows_per_month=3_000, seed=2)
    assert pq.read_metadata(_transactions_path(tmp_path, month)).num_rows == 3_000
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        path.name for path in _files(tmp_path, month).values()
    )


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    month = Month(2025, 2)
    generate(tmp_path, month, month, rows_per_month=2_000, seed=1)
    path = _transactions_path(tmp_path, month)
    before = path.read_bytes()

    def fail(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate(tmp_path, month, month, rows_per_month=3_000, seed=2)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows_per_month": 999}, "rows-per-month"),
        ({"rows_per_month": 0}, "rows-per-month"),
        ({"rows_per_month": -5}, "rows-per-month"),
        ({"rows_per_month": 10**9}, "rows-per-month"),
        ({"rows_per_month": 1_000.5}, "rows-per-month"),
        ({"rows_per_month": "2000"}, "rows-per-month"),
        ({"rows_per_month": True}, "rows-per-month"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": None}, "seed"),
        ({"first": "2025-04", "last": "2025-03"}, "empty month range"),
        ({"first": "2025-13"}, "invalid month"),
        ({"last": "March"}, "invalid month"),
    ],
)
def test_bad_arguments_are_one_clear_error(tmp_path, kwargs, message):
    arguments = {"first": "2025-01", "last": "2025-01", "rows_per_month": 2_000, "seed": 0}
    arguments.update(kwargs)
    first, last = arguments.pop("first"), arguments.pop("last")
    with pytest.raises(FraudlibError, match=message) as error:
        generate(tmp_path, first, last, **arguments)
    assert "\n" not in str(error.value)
    assert not any(tmp_path.iterdir())  # nothing written


def test_data_dir_that_is_a_file_is_rejected(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a directory")
    with pytest.raises(FraudlibError, match="not a directory"):
        generate(target, "2025-01", "2025-01", rows_per_month=2_000)


def test_smallest_month_still_works(tmp_path):
    month = Month(2025, 2)
    summary = generate(tmp_path, month, month, rows_per_month=synth.MIN_ROWS_PER_MONTH)
    assert pq.read_metadata(_transactions_path(tmp_path, month)).num_rows == 1_000
    assert summary.fraud_rows > 0
    assert not math.isnan(summary.seconds)
