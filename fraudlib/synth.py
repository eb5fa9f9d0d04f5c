"""Synthetic, labelled bank transactions in the contract's layout (`fraud generate`).

A month is built in three steps:

1. A *population* (customers, cities, locations) that depends only on the seed and the
   month size, so every month of a data set shares the same customers and places.
2. *Injected cases*: fraud scenarios (labelled in `etiquetas`, most confirmed later in
   `fraudes_confirmados`) and legitimate look-alikes that come close to the rules without
   being fraud. Both are listed in registries (`SCENARIOS`, `LOOKALIKES`), one small function
   per pattern whose docstring states exactly what it guarantees.
3. *Ordinary activity* filling the month up to `rows_per_month`, vectorized with numpy:
   who (activity rates, dormancy), when (daily and weekly rhythm, paydays), how (channel),
   where (usual places near home, trips) and how much (personal spending level).

Each month draws from its own random stream seeded by (seed, year, month), so a month
generated alone is identical to the same month generated inside a longer range.

Ordinary amounts stay at or below 8,500 (large amounts come only from the patterns), so the
amount thresholds the rules use (10,000; 50,000; 9,000-9,999) are crossed only on purpose.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudlib.contract import (
    CONFIRMED_FRAUD,
    CONFIRMED_FRAUD_SCHEMA,
    LABELS,
    LABELS_SCHEMA,
    MAIN_OFFICE,
    ONLINE_LOCATION,
    TRANSACTIONS,
    TRANSACTIONS_SCHEMA,
    month_dir,
)
from fraudlib.errors import FraudlibError
from fraudlib.month import Month, month_range

MIN_ROWS_PER_MONTH = 1_000
# Ids use 9 digits per month and 7 per customer; 100M rows also keeps string offsets in int32.
MAX_ROWS_PER_MONTH = 100_000_000

# Optional columns written after the contract's ones (rules needing them may be skipped).
CHANNEL_COLUMN, LATITUDE_COLUMN, LONGITUDE_COLUMN = "canal", "latitud", "longitud"
TRANSACTIONS_FILE_SCHEMA = pa.schema(
    [
        *TRANSACTIONS_SCHEMA,
        pa.field(CHANNEL_COLUMN, pa.string()),
        pa.field(LATITUDE_COLUMN, pa.float64()),
        pa.field(LONGITUDE_COLUMN, pa.float64()),
    ]
)

CHANNELS = ("sucursal", "cajero", "comercio", "online", "transferencia")
SUCURSAL, CAJERO, COMERCIO, ONLINE, TRANSFERENCIA = range(len(CHANNELS))

_US = 1_000_000
_HOUR_US = 3_600 * _US
_DAY_US = 24 * _HOUR_US
_EPOCH = datetime(1970, 1, 1)
_ROW_GROUP = 1_000_000  # rows per Parquet row group; also bounds memory for string columns

# Seed-sequence keys keep the population stream and the month streams apart.
_POPULATION_KEY, _MONTH_KEY = 0x5EED_0001, 0x5EED_0002

# --- the world -----------------------------------------------------------------------------
# A country-sized box (about 1,100 km north-south by 1,000 km east-west).
_REGION_LAT, _REGION_LON = (1.0, 11.0), (-77.0, -68.0)
_N_CITIES = 30
_MIN_CITY_KM = 60.0
_N_BRANCHES = 40

# Location kinds; index 0 and 1 of the location table are the main office and online banking.
_MAIN, _BRANCH, _ATM, _MERCHANT, _ONLINE_KIND = range(5)
_MAIN_LOC, _ONLINE_LOC = 0, 1
_CAPITAL = 0  # the largest city, where the main office is

# Customer segments (exclusive).
_RETAIL, _BUSINESS, _TRAVELLER, _SOMETIMES_DORMANT = range(4)

# --- ordinary activity ---------------------------------------------------------------------
# Amount = level × channel multiplier × lognormal noise, folded under a per-channel cap
# (a > cap becomes cap²/a: a smooth tail with no spike at the cap). ATMs pay in tens.
_CHANNEL_MULT = np.array([3.0, 2.0, 1.0, 1.5, 4.0])
_CHANNEL_CAP = np.array([8_500.0, 2_000.0, 6_000.0, 8_000.0, 8_500.0])
_AMOUNT_SIGMA = 0.6
_ORDINARY_MAX = float(_CHANNEL_CAP.max())

# Channel mix when not online, in the order (sucursal, cajero, comercio, transferencia).
_OFFLINE_CHANNELS = np.array([SUCURSAL, CAJERO, COMERCIO, TRANSFERENCIA], dtype=np.int8)
_OFFLINE_MIX_RETAIL = np.array([0.09, 0.28, 0.57, 0.06])
_OFFLINE_MIX_BUSINESS = np.array([0.35, 0.05, 0.25, 0.35])

# Daily rhythm (UTC is taken as local time): quiet nights, peaks at midday and evening;
# weekends start later.
_HOURS_WEEKDAY = np.array(
    [0.3, 0.2, 0.15, 0.12, 0.15, 0.3, 0.8, 1.8, 3.0, 3.8, 4.2, 4.6,
     5.2, 5.0, 4.4, 4.2, 4.4, 4.8, 5.4, 5.6, 4.8, 3.6, 2.2, 1.0]
)  # fmt: skip
_HOURS_WEEKEND = np.array(
    [0.6, 0.45, 0.3, 0.2, 0.15, 0.2, 0.4, 0.8, 1.6, 2.6, 3.6, 4.4,
     5.0, 5.2, 5.0, 4.8, 4.8, 5.0, 5.2, 5.0, 4.4, 3.4, 2.2, 1.2]
)  # fmt: skip
_WEEKDAY_WEIGHT = np.array([1.0, 0.95, 0.95, 1.0, 1.2, 1.1, 0.7])  # Monday first
_PAYDAY_WEIGHT, _AFTER_PAYDAY_WEIGHT = 1.7, 1.3  # the 15th and the last day of the month


def _branch_open(weekday: int, hour: int) -> bool:
    """Branches open 8-16 on weekdays and 9-12 on Saturdays."""
    if weekday < 5:
        return 8 <= hour < 16
    return weekday == 5 and 9 <= hour < 12


_BRANCH_OPEN = np.array([[_branch_open(w, h) for h in range(24)] for w in range(7)])

# Fraud cases: the share confirmed, and per transaction of a confirmed case the share disputed.
_CONFIRMED_CASE_SHARE, _CONFIRMED_ROW_SHARE = 0.75, 0.95
# Confirmation delay in days: lognormal (median 9 days), at least half a day, at most 120.
_CONFIRM_MEDIAN_DAYS, _CONFIRM_SIGMA = 9.0, 0.8


# =============================================================================================
# Public API
# =============================================================================================


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate` wrote: months, sizes, labelled fraud and confirmations, time taken."""

    data_dir: Path
    months: tuple[Month, ...]
    rows_per_month: int
    fraud_by_scenario: Mapping[str, int]  # labelled transactions over all months
    lookalike_rows: Mapping[str, int]  # unlabelled look-alike transactions over all months
    confirmed: int
    seconds: float

    @property
    def fraud_rows(self) -> int:
        return sum(self.fraud_by_scenario.values())


@dataclass(frozen=True)
class Pattern:
    """A named way to inject one case into a month: a fraud scenario or a look-alike.

    `inject` adds the rows of one case and returns False when no customer fits this month.
    `cases_per_million` is the expected number of cases per million rows (Poisson, at least
    one per month); None means `inject` runs once per month and picks its own customers.
    Its docstring is the pattern's description and states what the rows guarantee.
    """

    name: str
    inject: Callable[[_MonthBuilder], bool]
    cases_per_million: float | None

    @property
    def description(self) -> str:
        return inspect.getdoc(self.inject) or ""


def generate(
    data_dir: str | Path,
    first: Month | str,
    last: Month | str,
    *,
    rows_per_month: int = 200_000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write a labelled synthetic data set for every month from `first` to `last`.

    For each month: `transacciones/anio=YYYY/mes=MM/part-0.parquet` (exactly
    `rows_per_month` rows, sorted by `fecha`), `etiquetas/part-YYYY-MM.parquet` (one row per
    fraudulent transaction) and `fraudes_confirmados/part-YYYY-MM.parquet` (the confirmed
    subset of that month's fraud; `fecha_confirmacion` may fall in a later month). Each file
    is replaced atomically. Deterministic for (seed, rows_per_month), month by month.
    """
    started = time.perf_counter()
    months = month_range(first, last)
    _check_arguments(data_dir, rows_per_month, seed)
    root = Path(data_dir)
    population = _build_population(seed, rows_per_month)
    fraud = dict.fromkeys((p.name for p in SCENARIOS), 0)
    lookalikes = dict.fromkeys((p.name for p in LOOKALIKES), 0)
    confirmed = 0
    for month in months:
        month_started = time.perf_counter()
        rows = _build_month(population, month, rows_per_month, seed)
        written = _write_month(root, month, population, rows)
        for index, count in enumerate(np.bincount(rows.label, minlength=len(SCENARIOS) + 1)[1:]):
            fraud[SCENARIOS[index].name] += int(count)
        counts = np.bincount(rows.lookalike, minlength=len(LOOKALIKES) + 1)[1:]
        for index, count in enumerate(counts):
            lookalikes[LOOKALIKES[index].name] += int(count)
        confirmed += written
        if progress is not None:
            progress(
                f"{month}: {len(rows.t):,} rows, {int(np.count_nonzero(rows.label)):,} fraud, "
                f"{written:,} confirmed ({time.perf_counter() - month_started:.1f}s)"
            )
    return GenerateSummary(
        data_dir=root,
        months=tuple(months),
        rows_per_month=rows_per_month,
        fraud_by_scenario=MappingProxyType(fraud),
        lookalike_rows=MappingProxyType(lookalikes),
        confirmed=confirmed,
        seconds=time.perf_counter() - started,
    )


def _check_arguments(data_dir: str | Path, rows_per_month: object, seed: object) -> None:
    if isinstance(rows_per_month, bool) or not isinstance(rows_per_month, int | np.integer):
        raise FraudlibError(f"--rows-per-month must be an integer, not {rows_per_month!r}")
    if not MIN_ROWS_PER_MONTH <= rows_per_month <= MAX_ROWS_PER_MONTH:
        raise FraudlibError(
            f"--rows-per-month must be between {MIN_ROWS_PER_MONTH:,} and "
            f"{MAX_ROWS_PER_MONTH:,}, not {rows_per_month:,}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise FraudlibError(f"--seed must be a non-negative integer, not {seed!r}")
    if Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise FraudlibError(f"--data {data_dir} exists and is not a directory")


# =============================================================================================
# Population: cities, locations, customers (depends on seed and rows_per_month only)
# =============================================================================================


@dataclass(frozen=True)
class _Population:
    # cities
    city_lat: np.ndarray
    city_lon: np.ndarray
    city_weight: np.ndarray
    city_km: np.ndarray  # distance matrix
    # locations (index 0: main office, 1: online banking; then branches, ATMs, merchants)
    loc_names: pa.Array
    loc_lat: np.ndarray  # NaN for online banking
    loc_lon: np.ndarray
    loc_kind: np.ndarray
    loc_city: np.ndarray
    kind_city_start: dict[int, np.ndarray]  # first location of a kind in a city
    kind_city_count: dict[int, np.ndarray]
    # customers
    customer_names: pa.Array
    segment: np.ndarray
    recurring_payer: np.ndarray  # businesses that make large payments every month
    # Look-alikes are played by one half of the customers and fraud hits the other half, so
    # a victim's unlabelled rows are all ordinary activity in every month (the scenarios'
    # promises about "their history" hold across months).
    plays_lookalikes: np.ndarray
    activity: np.ndarray
    level: np.ndarray
    online_affinity: np.ndarray
    home_city: np.ndarray
    home_branch: np.ndarray
    usual_atms: np.ndarray  # (customers, 2)
    usual_merchants: np.ndarray  # (customers, 4)
    dormancy_period: np.ndarray  # months; 0 for customers who never go dormant
    dormancy_length: np.ndarray
    dormancy_phase: np.ndarray
    dormancy_strike: np.ndarray  # the quiet month (>= 4th) in which the account can be abused

    @property
    def n_customers(self) -> int:
        return len(self.segment)

    def random_location(self, kind: int, cities: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A uniformly chosen location of `kind` in each city (u uniform in [0, 1))."""
        count = self.kind_city_count[kind][cities]
        offset = np.minimum((u * count).astype(np.int64), count - 1)
        return (self.kind_city_start[kind][cities] + offset).astype(np.int32)

    def dormancy_position(self, month_index: int) -> np.ndarray:
        """Months since the current dormancy began (`month_index` = year * 12 + month - 1)."""
        return (month_index + self.dormancy_phase) % np.maximum(self.dormancy_period, 1)

    def dormant(self, month_index: int) -> np.ndarray:
        """Customers with no ordinary activity in the month."""
        position = self.dormancy_position(month_index)
        return (self.dormancy_period > 0) & (position < self.dormancy_length)


def _build_population(seed: int, rows_per_month: int) -> _Population:
    rng = np.random.default_rng(np.random.SeedSequence([_POPULATION_KEY, seed, rows_per_month]))
    city_lat, city_lon = _place_cities(rng)
    # Zipf-like city sizes: the capital (city 0, home of the main office) is the largest.
    city_weight = 1.0 / np.arange(1, _N_CITIES + 1) ** 0.9
    city_weight /= city_weight.sum()
    city_km = _km(city_lat[:, None], city_lon[:, None], city_lat[None, :], city_lon[None, :])
    city_spread = 0.02 + 0.06 * np.sqrt(city_weight / city_weight.max())  # degrees

    n_customers = max(rows_per_month // 35, 200)
    counts = {
        _BRANCH: _N_BRANCHES,
        _ATM: int(np.clip(n_customers // 400, 300, 2_000)),
        _MERCHANT: int(np.clip(n_customers // 10, 500, 30_000)),
    }
    prefixes = {_BRANCH: "Sucursal", _ATM: "Cajero", _MERCHANT: "Comercio"}
    names = [MAIN_OFFICE, ONLINE_LOCATION]
    lat = [city_lat[_CAPITAL], math.nan]
    lon = [city_lon[_CAPITAL], math.nan]
    kinds = [_MAIN, _ONLINE_KIND]
    cities = [_CAPITAL, -1]
    starts: dict[int, np.ndarray] = {}
    totals: dict[int, np.ndarray] = {}
    for kind, count in counts.items():
        # Every city gets one of each kind; the rest follow city size.
        city = np.concatenate(
            [np.arange(_N_CITIES), rng.choice(_N_CITIES, count - _N_CITIES, p=city_weight)]
        )
        city.sort()
        per_city = np.bincount(city, minlength=_N_CITIES)
        starts[kind] = len(names) + np.concatenate([[0], np.cumsum(per_city)[:-1]])
        totals[kind] = per_city
        width = len(str(count))
        names += [f"{prefixes[kind]} {i:0{width}d}" for i in range(1, count + 1)]
        lat += list(np.round(city_lat[city] + rng.normal(0, city_spread[city]), 5))
        lon += list(np.round(city_lon[city] + rng.normal(0, city_spread[city]), 5))
        kinds += [kind] * count
        cities += list(city)
    lat_array, lon_array = np.array(lat), np.array(lon)

    segment = np.full(n_customers, _RETAIL, dtype=np.int8)
    order = rng.permutation(n_customers)
    n_business = max(3, round(0.01 * n_customers))
    n_traveller = max(10, round(0.03 * n_customers))
    n_dormant = max(80, round(0.06 * n_customers))
    segment[order[:n_business]] = _BUSINESS
    segment[order[n_business : n_business + n_traveller]] = _TRAVELLER
    segment[order[n_business + n_traveller : n_business + n_traveller + n_dormant]] = (
        _SOMETIMES_DORMANT
    )
    recurring_payer = np.zeros(n_customers, dtype=bool)
    recurring_payer[order[: max(1, round(0.05 * n_business))]] = True
    plays_lookalikes = (rng.random(n_customers) < 0.5) | (segment == _BUSINESS)
    plays_lookalikes |= segment == _TRAVELLER

    business = segment == _BUSINESS
    # Many occasional customers, some very active ones; businesses far more active.
    activity = rng.lognormal(0.0, 1.0, n_customers)
    activity[business] *= 12.0
    activity[segment == _TRAVELLER] *= 1.5
    level = rng.lognormal(math.log(45.0), 0.7, n_customers)
    level[business] = rng.lognormal(math.log(250.0), 0.6, int(business.sum()))
    online_affinity = rng.beta(2.0, 5.0, n_customers).astype(np.float32)
    online_affinity[business] = 0.25

    home_city = rng.choice(_N_CITIES, n_customers, p=city_weight).astype(np.int32)
    home_lat = city_lat[home_city] + rng.normal(0, city_spread[home_city])
    home_lon = city_lon[home_city] + rng.normal(0, city_spread[home_city])

    def nearest(kind: int, candidates: int, keep: int) -> np.ndarray:
        # Usual places: the nearest few of some random places in the home city.
        count = totals[kind][home_city][:, None]
        picked = starts[kind][home_city][:, None] + np.minimum(
            (rng.random((n_customers, candidates)) * count).astype(np.int64), count - 1
        )
        d2 = (lat_array[picked] - home_lat[:, None]) ** 2 + (
            lon_array[picked] - home_lon[:, None]
        ) ** 2
        best = np.argsort(d2, axis=1)[:, :keep]
        return np.take_along_axis(picked, best, axis=1).astype(np.int32)

    home_branch = nearest(_BRANCH, 2, 1)[:, 0]
    usual_atms = nearest(_ATM, 5, 2)
    usual_merchants = nearest(_MERCHANT, 10, 4)

    # Customers who sometimes go dormant repeat a cycle: `length` quiet months out of every
    # `period`. Length >= 4, so a month follows three quiet months while still quiet; one
    # such month per cycle (the strike) is when a dormant-account fraud may hit, so a victim
    # always has three untouched months before it, whichever months are generated.
    dormancy_period = np.zeros(n_customers, dtype=np.int64)
    dormancy_length = np.zeros(n_customers, dtype=np.int64)
    dormancy_phase = np.zeros(n_customers, dtype=np.int64)
    dormancy_strike = np.zeros(n_customers, dtype=np.int64)
    sometimes = np.flatnonzero(segment == _SOMETIMES_DORMANT)
    period = rng.integers(8, 25, len(sometimes))
    longest = np.minimum(period - 2, 10)
    dormancy_period[sometimes] = period
    dormancy_length[sometimes] = 4 + (rng.random(len(sometimes)) * (longest - 3)).astype(int)
    dormancy_phase[sometimes] = (rng.random(len(sometimes)) * period).astype(int)
    length = dormancy_length[sometimes]
    dormancy_strike[sometimes] = 3 + (rng.random(len(sometimes)) * (length - 3)).astype(int)

    return _Population(
        city_lat=city_lat,
        city_lon=city_lon,
        city_weight=city_weight,
        city_km=city_km,
        loc_names=pa.array(names, pa.string()),
        loc_lat=lat_array,
        loc_lon=lon_array,
        loc_kind=np.array(kinds, dtype=np.int8),
        loc_city=np.array(cities, dtype=np.int32),
        kind_city_start=starts,
        kind_city_count=totals,
        customer_names=_numbered_strings("C", np.arange(1, n_customers + 1), 7),
        segment=segment,
        recurring_payer=recurring_payer,
        plays_lookalikes=plays_lookalikes,
        activity=activity,
        level=level,
        online_affinity=online_affinity,
        home_city=home_city,
        home_branch=home_branch,
        usual_atms=usual_atms,
        usual_merchants=usual_merchants,
        dormancy_period=dormancy_period,
        dormancy_length=dormancy_length,
        dormancy_phase=dormancy_phase,
        dormancy_strike=dormancy_strike,
    )


def _place_cities(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lat: list[float] = []
    lon: list[float] = []
    while len(lat) < _N_CITIES:  # rejection sampling keeps cities apart
        a, b = rng.uniform(*_REGION_LAT), rng.uniform(*_REGION_LON)
        if all(_km(a, b, la, lo) >= _MIN_CITY_KM for la, lo in zip(lat, lon, strict=True)):
            lat.append(round(a, 4))
            lon.append(round(b, 4))
    return np.array(lat), np.array(lon)


def _km(lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
    """Great-circle distance in km (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.subtract(lon2, lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def _numbered_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Strings `prefix + zero-padded number`, built as one fixed-width byte buffer.

    All strings have the same length, so the offsets are an arithmetic series; this is
    several times faster than casting and padding with pyarrow compute.
    """
    head = prefix.encode()
    n, size = len(numbers), len(head) + width
    buffer = np.empty((n, size), dtype=np.uint8)
    buffer[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for position in range(size - 1, len(head) - 1, -1):  # one pass per digit, not per row
        buffer[:, position] = rest % 10 + ord("0")
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buffer))


# =============================================================================================
# One month
# =============================================================================================


@dataclass
class _Rows:
    """A month's transactions as integer arrays (strings are built only when writing).

    Injected rows are few, so what marks them is kept sparse: `marked` holds their row
    positions and `label`, `lookalike` and `confirmed_at` are aligned with it.
    """

    customer: np.ndarray  # int32 customer index
    location: np.ndarray  # int32 location index
    channel: np.ndarray  # int8 index into CHANNELS
    cents: np.ndarray  # int64 amount in cents
    t: np.ndarray  # int64 microseconds since the epoch
    marked: np.ndarray  # int64 positions of injected rows
    label: np.ndarray  # int8: 0 legitimate, else 1 + index in SCENARIOS
    lookalike: np.ndarray  # int8: 0 fraud, else 1 + index in LOOKALIKES
    confirmed_at: np.ndarray  # int64 microseconds since the epoch, 0 when not confirmed


@dataclass
class _Trip:
    customer: int
    start: int  # microseconds; ordinary activity in [start, end] moves to `city`
    end: int
    city: int


@dataclass
class _MonthBuilder:
    """What the pattern functions work with: the month, its customers, and the rows so far."""

    population: _Population
    month: Month
    rows_per_month: int
    rng: np.random.Generator
    start_us: int = 0
    days: int = 0
    first_weekday: int = 0
    pools: dict[str, np.ndarray] = field(default_factory=dict)
    used: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    chunks: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    trips: list[_Trip] = field(default_factory=list)
    label: int = 0
    lookalike: int = 0

    def __post_init__(self) -> None:
        self.start_us = int((self.month.start - _EPOCH).total_seconds()) * _US
        self.days = (self.month.end - self.month.start).days
        self.first_weekday = self.month.start.weekday()
        pop = self.population
        index = self.month.year * 12 + self.month.month - 1
        dormant = [pop.dormant(index - back) for back in range(4)]  # this month, 1, 2, 3 ago
        active = ~dormant[0]
        ordinary = (pop.segment == _RETAIL) | (pop.segment == _SOMETIMES_DORMANT)
        business = pop.segment == _BUSINESS
        victim, actor = ~pop.plays_lookalikes, pop.plays_lookalikes
        quiet_before = dormant[1] & dormant[2] & dormant[3]
        self.pools = {
            # Fraud victims: ordinary customers active this month (their usual places are all
            # in their home city, which the location scenarios rely on).
            "victims": np.flatnonzero(active & ordinary & victim),
            "still_dormant": np.flatnonzero(
                dormant[0] & (pop.dormancy_position(index) == pop.dormancy_strike) & victim
            ),
            # Look-alike actors.
            "actors": np.flatnonzero(active & ordinary & actor),
            "business": np.flatnonzero(business & ~pop.recurring_payer),
            "traveller": np.flatnonzero(pop.segment == _TRAVELLER),
            "reactivated": np.flatnonzero(~dormant[0] & quiet_before & actor),
        }
        self.used = np.zeros(pop.n_customers, dtype=bool)

    # --- customers ----------------------------------------------------------------------
    def customer(self, pool: str, city: int | None = None) -> int | None:
        """A customer from `pool` (living in `city` if given) not yet used this month, so
        cases never overlap."""
        candidates = self.pools[pool]
        if city is not None:
            candidates = candidates[self.population.home_city[candidates] == city]
        if len(candidates) == 0:
            return None
        for _ in range(32):
            chosen = int(candidates[self.rng.integers(len(candidates))])
            if not self.used[chosen]:
                self.used[chosen] = True
                return chosen
        free = candidates[~self.used[candidates]]
        if len(free) == 0:
            return None
        chosen = int(free[self.rng.integers(len(free))])
        self.used[chosen] = True
        return chosen

    def customers_near(self, pool: str, city: int, count: int) -> np.ndarray:
        """Up to `count` unused customers from `pool`, those living in `city` first."""
        candidates = self.pools[pool]
        free = candidates[~self.used[candidates]]
        local = free[self.population.home_city[free] == city]
        chosen = self.rng.permutation(local)[:count]
        if len(chosen) < count:
            others = free[self.population.home_city[free] != city]
            chosen = np.concatenate([chosen, self.rng.permutation(others)[: count - len(chosen)]])
        self.used[chosen] = True
        return chosen

    # --- places -------------------------------------------------------------------------
    def location_in(self, kind: int, city: int) -> int:
        return int(self.population.random_location(kind, np.array([city]), self.rng.random(1))[0])

    def any_city(self) -> int:
        return int(self.rng.choice(_N_CITIES, p=self.population.city_weight))

    def km(self, a: int, b: int) -> float:
        """Distance between two locations."""
        lat, lon = self.population.loc_lat, self.population.loc_lon
        return float(_km(lat[a], lon[a], lat[b], lon[b]))

    def city_far_from(self, city: int, km: float) -> int:
        """A random city at least `km` away (the farthest one if none is)."""
        far = np.flatnonzero(self.population.city_km[city] >= km)
        if len(far) == 0:
            return int(np.argmax(self.population.city_km[city]))
        return int(self.rng.choice(far))

    # --- times --------------------------------------------------------------------------
    def weekday(self, day: int) -> int:
        return (self.first_weekday + day) % 7

    def first_day(self, n_days: int) -> int:
        """A first day such that `n_days` days fit in the month."""
        return int(self.rng.integers(0, self.days - n_days + 1))

    def times(
        self, count: int, first_day: int, n_days: int, hours: tuple[int, int] = (8, 22)
    ) -> np.ndarray:
        """`count` sorted instants on days [first_day, first_day + n_days), within `hours`."""
        day = first_day + self.rng.integers(0, n_days, count)
        second = self.rng.integers(hours[0] * 3_600, hours[1] * 3_600, count)
        return np.sort(self.start_us + day * _DAY_US + second * _US)

    def branch_times(self, count: int, first_day: int, n_days: int) -> np.ndarray:
        """Like `times`, on weekdays 9:00-16:00 (branch hours).

        A window with no weekday (a weekend) moves to the nearest weekday, so the instants
        never spread over more than `n_days` days.
        """
        span = range(first_day, min(first_day + n_days, self.days))
        days = [d for d in span if self.weekday(d) < 5]
        if not days:
            weekdays = [d for d in range(self.days) if self.weekday(d) < 5]
            days = [min(weekdays, key=lambda d: (abs(d - first_day), d))]
        day = np.asarray(days)[self.rng.integers(0, len(days), count)]
        second = self.rng.integers(9 * 3_600, 16 * 3_600, count)
        return np.sort(self.start_us + day * _DAY_US + second * _US)

    def window(self, span_s: int, hours: tuple[int, int] = (0, 24)) -> int:
        """The start of a `span_s`-second window that fits in one day's `hours`."""
        day = int(self.rng.integers(0, self.days))
        latest = max(hours[0] * 3_600, hours[1] * 3_600 - span_s - 1)
        second = int(self.rng.integers(hours[0] * 3_600, latest + 1))
        return self.start_us + day * _DAY_US + second * _US

    # --- rows ---------------------------------------------------------------------------
    def add(
        self,
        customer: int,
        location: object,
        channel: object,
        cents: object,
        times: object,
    ) -> None:
        """Add one case's rows (scalars broadcast); a fraud case may be confirmed later."""
        t = np.asarray(times, dtype=np.int64).ravel()
        n = len(t)
        cents = np.broadcast_to(np.asarray(cents, dtype=np.int64), (n,))
        if np.any(cents <= 0):
            raise AssertionError("a pattern produced a non-positive amount")
        confirmed_at = np.zeros(n, dtype=np.int64)
        if self.label and self.rng.random() < _CONFIRMED_CASE_SHARE:
            delay_days = np.clip(
                self.rng.lognormal(math.log(_CONFIRM_MEDIAN_DAYS), _CONFIRM_SIGMA), 0.5, 120.0
            )
            when = int(t.max()) + int(delay_days * _DAY_US) // _US * _US
            disputed = self.rng.random(n) < _CONFIRMED_ROW_SHARE
            confirmed_at[disputed] = when
        self.chunks.append(
            (
                np.full(n, customer, dtype=np.int32),
                np.broadcast_to(np.asarray(location, dtype=np.int32), (n,)),
                np.broadcast_to(np.asarray(channel, dtype=np.int8), (n,)),
                cents,
                t,
                np.full(n, self.label, dtype=np.int8),
                np.full(n, self.lookalike, dtype=np.int8),
                confirmed_at,
            )
        )

    def injected(self) -> _Rows:
        dtypes = (np.int32, np.int32, np.int8, np.int64, np.int64, np.int8, np.int8, np.int64)
        if self.chunks:
            columns = [np.concatenate(c) for c in zip(*self.chunks, strict=True)]
        else:
            columns = [np.zeros(0) for _ in dtypes]
        columns = [c.astype(d) for c, d in zip(columns, dtypes, strict=True)]
        return _Rows(*columns[:5], np.arange(len(columns[0])), *columns[5:])


def _cents(amounts: object) -> np.ndarray:
    return np.round(np.asarray(amounts, dtype=np.float64) * 100).astype(np.int64)


def _atm_cents(rng: np.random.Generator, low: int, high: int, count: int) -> np.ndarray:
    """ATM withdrawals: multiples of 10 between `low` and `high`."""
    return rng.integers(low // 10, high // 10 + 1, count) * 1_000


def _split_cents(rng: np.random.Generator, total: int, parts: int, each_above: int) -> np.ndarray:
    """`parts` integers, each > `each_above`, summing exactly to `total`."""
    spare = total - parts * (each_above + 1)
    if spare < 0:
        raise AssertionError("cannot split")
    cuts = np.sort(rng.integers(0, spare + 1, parts - 1))
    shares = np.diff(np.concatenate([[0], cuts, [spare]]))
    return shares + each_above + 1


def _ordinary_ceiling(level: float) -> float:
    """An amount above ~99.9% of a customer's ordinary amounts in every channel."""
    return min(_ORDINARY_MAX, level * float(_CHANNEL_MULT.max()) * math.exp(3 * _AMOUNT_SIGMA))


# =============================================================================================
# Fraud scenarios (labelled). Each docstring states the pattern and what it guarantees.
# =============================================================================================


def _grandes_transferencias(b: _MonthBuilder) -> bool:
    """Large transfers: 3-6 transactions, each >= 10,500, summing >= 52,000 within 1-10 days,
    by one customer at one location other than 'Oficina Principal' (a branch in the customer's
    home city, or a merchant anywhere). The seed rule's pattern."""
    c = b.customer("victims")
    if c is None:
        return False
    n = int(b.rng.integers(3, 7))
    amounts = b.rng.uniform(10_500, 28_000, n)
    amounts += max(0.0, 52_000 - amounts.sum()) / n
    n_days = int(b.rng.integers(1, 11))
    first = b.first_day(n_days)
    if b.rng.random() < 0.6:
        location = b.location_in(_BRANCH, int(b.population.home_city[c]))
        b.add(c, location, TRANSFERENCIA, np.ceil(amounts * 100), b.branch_times(n, first, n_days))
    else:
        location = b.location_in(_MERCHANT, b.any_city())
        b.add(c, location, COMERCIO, np.ceil(amounts * 100), b.times(n, first, n_days))
    return True


def _rafaga(b: _MonthBuilder) -> bool:
    """Velocity burst: 5-15 transactions by one customer, first to last within 1-5 minutes
    (at most 300 s), online or at one merchant, amounts 30-600."""
    c = b.customer("victims")
    if c is None:
        return False
    n = int(b.rng.integers(5, 16))
    span_s = int(b.rng.integers(60, 301))
    offsets = np.sort(b.rng.integers(0, span_s + 1, n))
    times = b.window(span_s) + (offsets - offsets[0]) * _US
    if b.rng.random() < 0.5:
        location, channel = _ONLINE_LOC, ONLINE
    else:
        location, channel = b.location_in(_MERCHANT, b.any_city()), COMERCIO
    b.add(c, location, channel, _cents(b.rng.uniform(30, 600, n)), times)
    return True


def _fraccionamiento(b: _MonthBuilder) -> bool:
    """Structuring: 3-6 cash deposits of 9,000.00-9,999.99 (just under 10,000) by one
    customer within 1-3 calendar days, at branches of the customer's home city."""
    c = b.customer("victims")
    if c is None:
        return False
    n = int(b.rng.integers(3, 7))
    n_days = int(b.rng.integers(1, 4))
    city = int(b.population.home_city[c])
    places = np.array([b.population.home_branch[c], b.location_in(_BRANCH, city)])
    location = places[b.rng.integers(0, 2, n)]
    cents = b.rng.integers(900_000, 1_000_000, n)
    b.add(c, location, SUCURSAL, cents, b.branch_times(n, b.first_day(n_days), n_days))
    return True


def _monto_atipico(b: _MonthBuilder) -> bool:
    """Amount spike: one transaction at a place the customer uses (usual merchant or online)
    of 2-5 times the customer's ordinary ceiling (99.9th percentile of their amounts in every
    channel), i.e. about 50-120 times their median at merchants."""
    c = b.customer("victims")
    if c is None:
        return False
    amount = _ordinary_ceiling(float(b.population.level[c])) * b.rng.uniform(2, 5)
    if b.rng.random() < 0.6:
        location, channel = int(b.population.usual_merchants[c, 0]), COMERCIO
    else:
        location, channel = _ONLINE_LOC, ONLINE
    b.add(c, location, channel, _cents(amount), b.times(1, b.first_day(1), 1))
    return True


def _ubicacion_nueva(b: _MonthBuilder) -> bool:
    """New location: 1-2 transactions within an hour at a merchant in a city >= 300 km from
    the customer's home city, which their ordinary activity never visits; the first amount is
    1,000-9,000 (15-40 times their spending level)."""
    c = b.customer("victims")
    if c is None:
        return False
    city = b.city_far_from(int(b.population.home_city[c]), 300)
    location = b.location_in(_MERCHANT, city)
    n = int(b.rng.integers(1, 3))
    first = np.clip(b.population.level[c] * b.rng.uniform(15, 40), 1_000, 9_000)
    amounts = np.concatenate([[first], b.rng.uniform(50, 500, n - 1)])
    start = b.window(3_600, hours=(8, 22))
    times = start + np.sort(b.rng.integers(0, 3_600, n)) * _US
    b.add(c, location, COMERCIO, _cents(amounts), times)
    return True


def _saltos_ubicacion(b: _MonthBuilder) -> bool:
    """Impossible travel: 4-8 transactions at distinct ATMs/merchants within 30-90 minutes;
    consecutive places are >= 250 km apart and no gap exceeds 44 minutes, so every
    hop implies more than 250 km/h."""
    c = b.customer("victims")
    if c is None:
        return False
    n = int(b.rng.integers(4, 9))
    span_s = int(b.rng.integers(30 * 60, 90 * 60 + 1))
    gaps = b.rng.uniform(0.7, 1.3, n - 1)
    offsets = np.concatenate([[0], np.cumsum(np.floor(gaps / gaps.sum() * span_s))])
    city = int(b.population.home_city[c])
    locations: list[int] = []
    channels: list[int] = []
    cents: list[int] = []
    while len(locations) < n:
        city = b.city_far_from(city, 250)
        atm = b.rng.random() < 0.6
        location = b.location_in(_ATM if atm else _MERCHANT, city)
        if location in locations or (locations and b.km(locations[-1], location) < 250):
            continue
        locations.append(location)
        channels.append(CAJERO if atm else COMERCIO)
        amount = _atm_cents(b.rng, 100, 1_000, 1) if atm else _cents(b.rng.uniform(50, 1_500, 1))
        cents.append(int(amount[0]))
    times = b.window(span_s) + offsets.astype(np.int64) * _US
    b.add(c, locations, channels, cents, times)
    return True


def _cuenta_dormida(b: _MonthBuilder) -> bool:
    """Dormant account: a customer with no activity in this month and the three before
    suddenly moves 2-5 amounts of 2,000-9,500 (>= 10,500 in total) within 1-2 days, online
    or at a branch in another city. These are the customer's only rows in the month."""
    c = b.customer("still_dormant")
    if c is None:
        return False
    n = int(b.rng.integers(2, 6))
    amounts = b.rng.uniform(2_000, 9_500, n)
    amounts += max(0.0, 10_500 - amounts.sum()) / n
    n_days = int(b.rng.integers(1, 3))
    first = b.first_day(n_days)
    if b.rng.random() < 0.7:
        b.add(c, _ONLINE_LOC, ONLINE, np.ceil(amounts * 100), b.times(n, first, n_days, (0, 24)))
    else:
        city = b.city_far_from(int(b.population.home_city[c]), 200)
        location = b.location_in(_BRANCH, city)
        b.add(c, location, TRANSFERENCIA, np.ceil(amounts * 100), b.branch_times(n, first, n_days))
    return True


def _punto_comprometido(b: _MonthBuilder) -> bool:
    """Compromised point (an ATM where cloned cards are cashed out until it is found):
    12-30 different customers (mostly living in its city) each have 1-2 withdrawals of
    100-800 at the same ATM, spread over 14-24 days, often at night. The episode outlasts
    the first confirmations (median delay ~10 days), as real ones do until the bank acts."""
    city = b.any_city()
    location = b.location_in(_ATM, city)
    victims = b.customers_near("victims", city, int(b.rng.integers(12, 31)))
    if len(victims) < 12:
        return False
    n_days = int(b.rng.integers(14, 25))
    first = b.first_day(n_days)
    for victim in victims:
        n = int(b.rng.integers(1, 3))
        hours = (0, 5) if b.rng.random() < 0.5 else (0, 24)
        times = b.times(n, first, n_days, hours)
        b.add(int(victim), location, CAJERO, _atm_cents(b.rng, 100, 800, n), times)
    return True


# Cases per million rows are chosen so fraud is about 0.15% of rows (at least one case of each
# scenario per month, so small months carry relatively more).
SCENARIOS: tuple[Pattern, ...] = (
    Pattern("grandes_transferencias", _grandes_transferencias, 40),
    Pattern("rafaga", _rafaga, 30),
    Pattern("fraccionamiento", _fraccionamiento, 40),
    Pattern("monto_atipico", _monto_atipico, 150),
    Pattern("ubicacion_nueva", _ubicacion_nueva, 100),
    Pattern("saltos_ubicacion", _saltos_ubicacion, 30),
    Pattern("cuenta_dormida", _cuenta_dormida, 30),
    Pattern("punto_comprometido", _punto_comprometido, 10),
)


# =============================================================================================
# Legitimate look-alikes (not labelled): close to the rules' patterns, but not fraud.
# =============================================================================================


def _oficina_principal_grandes(b: _MonthBuilder) -> bool:
    """Large transfers at the trusted main office: 3-6 transfers each >= 10,500 summing
    >= 52,000 at 'Oficina Principal' (the seed rule excludes that location), by a business
    or another customer, living in the capital."""
    c = b.customer("business", city=_CAPITAL) if b.rng.random() < 0.6 else None
    c = b.customer("actors", city=_CAPITAL) if c is None else c
    if c is None:
        return False
    n = int(b.rng.integers(3, 7))
    amounts = b.rng.uniform(10_500, 60_000, n)
    amounts += max(0.0, 52_000 - amounts.sum()) / n
    n_days = int(b.rng.integers(1, 11))
    times = b.branch_times(n, b.first_day(n_days), n_days)
    b.add(c, _MAIN_LOC, TRANSFERENCIA, np.ceil(amounts * 100), times)
    return True


def _casi_umbral(b: _MonthBuilder) -> bool:
    """Near miss of the seed rule: 2-4 transfers each > 10,000 at one non-main branch by one
    customer in the month, summing to 30,000.00-49,500.00."""
    c = b.customer("actors")
    if c is None:
        return False
    n = int(b.rng.integers(2, 5))
    total = int(b.rng.integers(max(30_000, n * 10_250), 49_500 + 1)) * 100
    cents = _split_cents(b.rng, total, n, 1_010_000)
    location = b.location_in(_BRANCH, int(b.population.home_city[c]))
    n_days = int(b.rng.integers(1, 21))
    b.add(c, location, TRANSFERENCIA, cents, b.branch_times(n, b.first_day(n_days), n_days))
    return True


def _empate_suma_50000(b: _MonthBuilder) -> bool:
    """Tie at the sum threshold: 2-4 transfers each > 10,000 at one non-main branch summing to
    exactly 50,000.00. Amounts are multiples of 0.25, exact in binary floating point, so the
    sum is exactly 50000.0 in any order (the seed rule's `> 50000` must not fire)."""
    c = b.customer("actors")
    if c is None:
        return False
    n = int(b.rng.integers(2, 5))
    quarters = _split_cents(b.rng, 200_000, n, 40_000)  # in units of 0.25
    location = b.location_in(_BRANCH, int(b.population.home_city[c]))
    n_days = int(b.rng.integers(1, 21))
    times = b.branch_times(n, b.first_day(n_days), n_days)
    b.add(c, location, TRANSFERENCIA, quarters * 25, times)
    return True


def _empate_monto_10000(b: _MonthBuilder) -> bool:
    """Tie at the amount threshold: 5-7 transfers of exactly 10,000.00 plus 1-2 transfers of
    10,500-20,000 at one non-main branch. Counting amounts >= 10,000 the total exceeds 50,000;
    counting amounts > 10,000 (the seed rule) it stays at or below 40,000."""
    c = b.customer("actors")
    if c is None:
        return False
    ties = int(b.rng.integers(5, 8))
    larger = _cents(b.rng.uniform(10_500, 20_000, int(b.rng.integers(1, 3))))
    cents = np.concatenate([np.full(ties, 1_000_000), larger])
    location = b.location_in(_BRANCH, int(b.population.home_city[c]))
    n_days = int(b.rng.integers(1, 21))
    times = b.branch_times(len(cents), b.first_day(n_days), n_days)
    b.add(c, location, TRANSFERENCIA, b.rng.permutation(cents), times)
    return True


def _empresa_pagos_grandes(b: _MonthBuilder) -> bool:
    """Recurring large payments: every month the same few businesses (about 5% of them) pay
    3-5 transfers of 12,000-35,000 (>= 55,000 in total) at their home branch late in the
    month. Legitimate, yet it meets the seed rule: a known source of false positives that
    history (the same pattern every month) can explain."""
    payers = np.flatnonzero(b.population.recurring_payer)
    for c in payers:
        b.used[c] = True
        n = int(b.rng.integers(3, 6))
        amounts = b.rng.uniform(12_000, 35_000, n)
        amounts += max(0.0, 55_000 - amounts.sum()) / n
        times = b.branch_times(n, b.days - 7, 7)
        b.add(int(c), b.population.home_branch[c], TRANSFERENCIA, np.ceil(amounts * 100), times)
    return len(payers) > 0


def _dia_de_pago(b: _MonthBuilder) -> bool:
    """Payday burst: on the 15th or the last day of the month, 5-8 online payments of 15-400
    within 10-20 minutes (a slower burst than `rafaga`)."""
    c = b.customer("actors")
    if c is None:
        return False
    n = int(b.rng.integers(5, 9))
    span_s = int(b.rng.integers(600, 1_201))
    day = 14 if b.rng.random() < 0.5 else b.days - 1
    second = int(b.rng.integers(7 * 3_600, 22 * 3_600 - span_s))
    offsets = np.sort(b.rng.integers(0, span_s + 1, n))
    offsets = offsets - offsets[0]
    offsets[-1] = span_s
    times = b.start_us + day * _DAY_US + (second + offsets) * _US
    b.add(c, _ONLINE_LOC, ONLINE, _cents(b.rng.uniform(15, 400, n)), times)
    return True


def _empresa_muchas_transacciones(b: _MonthBuilder) -> bool:
    """Busy business day: a business makes 30-80 deposits of ordinary size at its home branch
    on one weekday between 9:00 and 16:00."""
    c = b.customer("business")
    if c is None:
        return False
    n = int(b.rng.integers(30, 81))
    day = b.first_day(1)
    times = b.branch_times(n, day, 1)
    level = float(b.population.level[c])
    amounts = np.minimum(level * b.rng.lognormal(0, _AMOUNT_SIGMA, n), _ORDINARY_MAX)
    b.add(c, b.population.home_branch[c], SUCURSAL, np.maximum(_cents(amounts), 100), times)
    return True


def _viajero(b: _MonthBuilder) -> bool:
    """Legitimate trip: a travelling customer pays at home, reaches a city >= 300 km away
    2.5-5 hours later and spends 2-6 days there: 4-12 transactions at places new to them,
    one of 1,000-4,000 (a hotel). Their ordinary activity during the trip moves there too."""
    c = b.customer("traveller")
    if c is None:
        return False
    home = int(b.population.home_city[c])
    city = b.city_far_from(home, 300)
    n_days = int(b.rng.integers(2, 7))
    first = b.first_day(n_days)
    departure = b.start_us + first * _DAY_US + int(b.rng.integers(6 * 3_600, 10 * 3_600)) * _US
    arrival = departure + int(b.rng.integers(int(2.5 * 3_600), 5 * 3_600)) * _US
    end = b.start_us + (first + n_days) * _DAY_US - 1
    level = float(b.population.level[c])
    b.add(c, b.population.usual_merchants[c, 0], COMERCIO, _cents(level), departure)
    n = int(b.rng.integers(4, 13))
    times = np.sort(b.rng.integers(arrival, end, n))
    times[0] = arrival
    atm = b.rng.random(n) < 0.3
    kinds = np.where(atm, _ATM, _MERCHANT)
    locations = [b.location_in(int(k), city) for k in kinds]
    cents = np.where(atm, _atm_cents(b.rng, 50, 500, n), _cents(level * b.rng.lognormal(0, 0.6, n)))
    hotel = int(b.rng.integers(1, n)) if n > 1 else 0
    atm[hotel] = False
    locations[hotel] = b.location_in(_MERCHANT, city)
    cents[hotel] = _cents(b.rng.uniform(1_000, 4_000))
    b.add(c, locations, np.where(atm, CAJERO, COMERCIO), np.maximum(cents, 100), times)
    b.trips.append(_Trip(c, arrival, end, city))
    return True


def _monto_9000_aislado(b: _MonthBuilder) -> bool:
    """One-off amount just under 10,000: a single deposit of 9,000.00-9,999.99 at the
    customer's home branch, with no other such amount from them that month."""
    c = b.customer("actors")
    if c is None:
        return False
    cents = b.rng.integers(900_000, 1_000_000)
    b.add(c, b.population.home_branch[c], SUCURSAL, cents, b.branch_times(1, b.first_day(1), 1))
    return True


def _reactivacion_legitima(b: _MonthBuilder) -> bool:
    """Legitimate reactivation: a customer dormant for the three previous months comes back
    (ordinary activity resumes) with a deposit of 2,000-8,000 in person at their home branch."""
    c = b.customer("reactivated")
    if c is None:
        return False
    amount = b.rng.uniform(2_000, 8_000)
    times = b.branch_times(1, b.first_day(1), 1)
    b.add(c, b.population.home_branch[c], SUCURSAL, _cents(amount), times)
    return True


LOOKALIKES: tuple[Pattern, ...] = (
    Pattern("empresa_pagos_grandes", _empresa_pagos_grandes, None),
    Pattern("oficina_principal_grandes", _oficina_principal_grandes, 40),
    Pattern("casi_umbral", _casi_umbral, 40),
    Pattern("empate_suma_50000", _empate_suma_50000, 10),
    Pattern("empate_monto_10000", _empate_monto_10000, 10),
    Pattern("dia_de_pago", _dia_de_pago, 100),
    Pattern("empresa_muchas_transacciones", _empresa_muchas_transacciones, 20),
    Pattern("viajero", _viajero, 60),
    Pattern("monto_9000_aislado", _monto_9000_aislado, 60),
    Pattern("reactivacion_legitima", _reactivacion_legitima, 30),
)


def _inject(builder: _MonthBuilder) -> _Rows:
    rng = builder.rng
    scale = builder.rows_per_month / 1_000_000
    for registry, is_fraud in ((SCENARIOS, True), (LOOKALIKES, False)):
        for index, pattern in enumerate(registry):
            builder.label = index + 1 if is_fraud else 0
            builder.lookalike = 0 if is_fraud else index + 1
            if pattern.cases_per_million is None:
                pattern.inject(builder)
                continue
            for _ in range(max(1, int(rng.poisson(pattern.cases_per_million * scale)))):
                pattern.inject(builder)
    builder.label = builder.lookalike = 0
    return builder.injected()


# =============================================================================================
# Ordinary activity
# =============================================================================================


def _ordinary_rows(builder: _MonthBuilder, n: int, rng: np.random.Generator) -> _Rows:
    pop = builder.population
    index = builder.month.year * 12 + builder.month.month - 1
    weight = np.where(pop.dormant(index), 0.0, pop.activity)
    counts = rng.multinomial(n, weight / weight.sum())
    customer = np.repeat(np.arange(pop.n_customers, dtype=np.int32), counts)

    # When: day (weekday rhythm, paydays), hour (daily rhythm; weekends differ), second.
    days = builder.days
    weekday = (builder.first_weekday + np.arange(days)) % 7
    day_weight = _WEEKDAY_WEIGHT[weekday].copy()
    for payday in (14, days - 1):
        day_weight[payday] *= _PAYDAY_WEIGHT
        day_weight[(payday + 1) % days] *= _AFTER_PAYDAY_WEIGHT
    # Small dtypes and in-place updates keep the peak memory of 10M-row months down.
    day = _sample(rng, day_weight, n).astype(np.int8)
    weekday_of_row = weekday.astype(np.int8)[day]
    weekend = np.flatnonzero(weekday_of_row >= 5)
    u = rng.random(n, dtype=np.float32)
    hour = np.searchsorted(_cdf(_HOURS_WEEKDAY), u, side="right").astype(np.int8)
    hour[weekend] = np.searchsorted(_cdf(_HOURS_WEEKEND), u[weekend], side="right")
    del u, weekend
    t = rng.integers(0, 3_600, n, dtype=np.int64)
    t += day * np.int64(86_400)
    t += hour * np.int64(3_600)
    t *= _US
    t += builder.start_us

    # How: online by personal affinity, otherwise by segment mix; branches keep their hours.
    business = np.flatnonzero(pop.segment[customer] == _BUSINESS)
    u = rng.random(n, dtype=np.float32)
    mix = np.searchsorted(_cdf(_OFFLINE_MIX_RETAIL), u, side="right").astype(np.int8)
    mix[business] = np.searchsorted(_cdf(_OFFLINE_MIX_BUSINESS), u[business], side="right")
    channel = _OFFLINE_CHANNELS[mix]
    del business, mix, u
    channel[rng.random(n, dtype=np.float32) < pop.online_affinity[customer]] = ONLINE
    closed = ~_BRANCH_OPEN[weekday_of_row, hour]
    del day, hour, weekday_of_row
    channel[closed & (channel == SUCURSAL)] = CAJERO
    channel[closed & (channel == TRANSFERENCIA)] = ONLINE
    del closed

    # Where: usual places near home, sometimes another place in the home city.
    location = np.full(n, _ONLINE_LOC, dtype=np.int32)
    for code in (SUCURSAL, TRANSFERENCIA):
        rows = np.flatnonzero(channel == code)
        who = customer[rows]
        u = rng.random(len(rows))
        chosen = pop.home_branch[who].copy()
        other = u < 0.12
        chosen[other] = pop.random_location(_BRANCH, pop.home_city[who[other]], u[other] / 0.12)
        # The main office is also a branch for people living in the capital.
        chosen[(u > 0.85) & (pop.home_city[who] == _CAPITAL)] = _MAIN_LOC
        location[rows] = chosen
    for code, kind, usual, share in (
        (CAJERO, _ATM, pop.usual_atms, 0.85),
        (COMERCIO, _MERCHANT, pop.usual_merchants, 0.75),
    ):
        rows = np.flatnonzero(channel == code)
        who = customer[rows]
        u = rng.random(len(rows))
        chosen = usual[who, rng.integers(0, usual.shape[1], len(rows))]
        other = u >= share
        chosen[other] = pop.random_location(
            kind, pop.home_city[who[other]], (u[other] - share) / (1 - share)
        )
        location[rows] = chosen

    # How much: personal level × channel, lognormal noise, folded under the channel cap.
    amount = rng.standard_normal(n)
    amount *= _AMOUNT_SIGMA
    np.exp(amount, out=amount)
    amount *= pop.level[customer]
    amount *= _CHANNEL_MULT[channel]
    for code, cap in enumerate(_CHANNEL_CAP):
        over = np.flatnonzero((amount > cap) & (channel == code))
        amount[over] = cap * cap / amount[over]
    atm = np.flatnonzero(channel == CAJERO)
    atm_cents = np.maximum(np.round(amount[atm] / 10), 1).astype(np.int64) * 1_000
    amount *= 100
    np.round(amount, out=amount)
    cents = amount.astype(np.int64)
    del amount
    np.maximum(cents, 100, out=cents)
    cents[atm] = atm_cents
    del atm, atm_cents

    none = np.zeros(0, dtype=np.int64)
    rows = _Rows(customer, location, channel, cents, t, none, none, none, none)
    _move_trips(pop, builder.trips, rows, rng)
    return rows


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights) / np.sum(weights)
    cdf[-1] = 1.0
    return cdf[:-1]  # searchsorted(side="right") over the inner edges gives 0..len-1


def _sample(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(_cdf(weights), rng.random(n), side="right")


def _move_trips(
    pop: _Population, trips: list[_Trip], rows: _Rows, rng: np.random.Generator
) -> None:
    """Ordinary in-person activity during a trip happens in the destination city."""
    if not trips:
        return
    trip_of = np.full(pop.n_customers, -1, dtype=np.int64)
    for number, trip in enumerate(trips):
        trip_of[trip.customer] = number
    starts = np.array([trip.start for trip in trips])
    ends = np.array([trip.end for trip in trips])
    cities = np.array([trip.city for trip in trips], dtype=np.int32)
    candidates = np.flatnonzero(trip_of[rows.customer] >= 0)
    which = trip_of[rows.customer[candidates]]
    t = rows.t[candidates]
    inside = (t >= starts[which]) & (t <= ends[which]) & (rows.channel[candidates] != ONLINE)
    moved, which = candidates[inside], which[inside]
    kind = np.select(
        [rows.channel[moved] == CAJERO, rows.channel[moved] == COMERCIO], [_ATM, _MERCHANT], _BRANCH
    )
    u = rng.random(len(moved))
    for k in (_BRANCH, _ATM, _MERCHANT):
        mask = kind == k
        rows.location[moved[mask]] = pop.random_location(k, cities[which[mask]], u[mask])


# =============================================================================================
# Assembling and writing a month
# =============================================================================================


def _build_month(population: _Population, month: Month, rows_per_month: int, seed: int) -> _Rows:
    """All rows of a month, sorted by `fecha`; depends only on (population, month, seed)."""
    inject_seed, ordinary_seed = np.random.SeedSequence(
        [_MONTH_KEY, seed, month.year, month.month]
    ).spawn(2)
    builder = _MonthBuilder(population, month, rows_per_month, np.random.default_rng(inject_seed))
    injected = _inject(builder)
    n_ordinary = rows_per_month - len(injected.t)
    if n_ordinary < 0:
        raise FraudlibError(f"--rows-per-month {rows_per_month:,} is too small for {month}")
    ordinary = _ordinary_rows(builder, n_ordinary, np.random.default_rng(ordinary_seed))

    t = np.concatenate([ordinary.t, injected.t])
    order = np.argsort(t, kind="stable")
    del t
    # Injected rows are few: their labels travel through the sort by position.
    positions = np.flatnonzero(order >= n_ordinary)
    source = order[positions] - n_ordinary

    def merged(name: str) -> np.ndarray:
        column = np.concatenate([getattr(ordinary, name), getattr(injected, name)])
        setattr(ordinary, name, None)  # free each ordinary column once merged
        return column[order]

    return _Rows(
        customer=merged("customer"),
        location=merged("location"),
        channel=merged("channel"),
        cents=merged("cents"),
        t=merged("t"),
        marked=positions,
        label=injected.label[source],
        lookalike=injected.lookalike[source],
        confirmed_at=injected.confirmed_at[source],
    )


def _transaction_ids(month: Month, positions: np.ndarray) -> pa.Array:
    """'T202503-000000123': the month keeps ids unique across months; the number is the rank
    by `fecha` within the month."""
    return _numbered_strings(f"T{month.year:04d}{month.month:02d}-", positions, 9)


def _write_month(root: Path, month: Month, population: _Population, rows: _Rows) -> int:
    """Write the month's three files; returns the number of confirmed frauds written."""
    n = len(rows.t)
    online = np.isnan(population.loc_lat)  # online banking has no position: null
    latitude = pa.array(population.loc_lat, pa.float64(), mask=online)
    longitude = pa.array(population.loc_lon, pa.float64(), mask=online)

    def write_transactions(path: Path) -> None:
        with pq.ParquetWriter(
            path,
            TRANSACTIONS_FILE_SCHEMA,
            compression="snappy",
            # Unique ids gain nothing from a dictionary; repeated names and coordinates do.
            use_dictionary=[
                "id_cliente",
                "ubicacion",
                CHANNEL_COLUMN,
                LATITUDE_COLUMN,
                LONGITUDE_COLUMN,
            ],
        ) as writer:
            for begin in range(0, n, _ROW_GROUP):
                end = min(begin + _ROW_GROUP, n)
                location = pa.array(rows.location[begin:end])
                columns = [
                    _transaction_ids(month, np.arange(begin, end)),
                    pc.take(population.customer_names, pa.array(rows.customer[begin:end])),
                    pa.array(rows.cents[begin:end] / 100.0, pa.float64()),
                    pa.array(rows.t[begin:end], pa.timestamp("us")),
                    pc.take(population.loc_names, location),
                    pc.take(pa.array(CHANNELS, pa.string()), pa.array(rows.channel[begin:end])),
                    pc.take(latitude, location),
                    pc.take(longitude, location),
                ]
                writer.write_table(
                    pa.Table.from_arrays(columns, schema=TRANSACTIONS_FILE_SCHEMA),
                    row_group_size=_ROW_GROUP,
                )

    fraud = np.flatnonzero(rows.label)  # `marked` is sorted, so labels follow the ids
    labels = pa.Table.from_arrays(
        [
            _transaction_ids(month, rows.marked[fraud]),
            pc.take(pa.array([p.name for p in SCENARIOS]), pa.array(rows.label[fraud] - 1)),
        ],
        schema=LABELS_SCHEMA,
    )
    confirmed = np.flatnonzero(rows.confirmed_at)
    confirmations = pa.Table.from_arrays(
        [
            _transaction_ids(month, rows.marked[confirmed]),
            pa.array(rows.confirmed_at[confirmed], pa.timestamp("us")),
        ],
        schema=CONFIRMED_FRAUD_SCHEMA,
    )
    stem = f"part-{month.year:04d}-{month.month:02d}.parquet"
    _replace_atomically(month_dir(root, TRANSACTIONS, month) / "part-0.parquet", write_transactions)
    _replace_atomically(
        root / LABELS / stem, lambda path: pq.write_table(labels, path, compression="snappy")
    )
    _replace_atomically(
        root / CONFIRMED_FRAUD / stem,
        lambda path: pq.write_table(confirmations, path, compression="snappy"),
    )
    return len(confirmed)


def _replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a hidden temporary file in the same directory, then rename over `path`.

    Readers (and globs like `*.parquet`) never see a half-written file; the leading dot also
    makes Athena ignore a leftover temporary file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise FraudlibError(f"cannot write {path}: {error.strerror or error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
