"""The rule registry: every rule is one SQL file (Trino dialect) plus one `Rule` entry here.

A rule's SQL returns *evidence rows*, one per transaction that belongs to a hit:

| column | meaning |
| --- | --- |
| id_transaccion, id_cliente, fecha, monto, ubicacion | the transaction |
| clave_alerta | groups evidence rows of one customer into one alert (e.g. the location) |
| marcada | whether this transaction is itself flagged, judged at its `fecha` |
| severidad | how far past the rule's threshold, at this transaction (1.0 = just past) |
| any other column | evidence, copied into the alert's `detalle` |

Every rule can use these context values besides its own parameters: `:month`,
`:history_start` (the month `lookback_months` before), `:month_start`, `:month_end`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources

from fraudlib.contract import MAIN_OFFICE, ONLINE_LOCATION
from fraudlib.errors import ConfigError
from fraudlib.month import Month
from fraudlib.render import render

EVIDENCE_COLUMNS = (
    "id_transaccion",
    "id_cliente",
    "fecha",
    "monto",
    "ubicacion",
    "clave_alerta",
    "marcada",
    "severidad",
)
CONTEXT_NAMES = ("month", "history_start", "month_start", "month_end")

# Parameter kinds: how a config value is validated and what Python type it is rendered from.
PARAM_KINDS = ("amount", "count", "ratio", "minutes", "days", "locations")


@dataclass(frozen=True)
class Param:
    """A named, typed rule parameter with its default."""

    name: str
    kind: str
    default: object
    doc: str

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class Rule:
    """A fraud rule: its SQL file, parameters, what data it needs, and its default weight."""

    name: str
    version: str
    description: str
    params: tuple[Param, ...]
    weight: float
    columns: tuple[str, ...] = ("id_transaccion", "id_cliente", "fecha", "monto", "ubicacion")
    tables: tuple[str, ...] = ()
    lookback_months: int = 0
    sql_file: str = field(default="")

    @property
    def sql_path(self) -> str:
        return self.sql_file or f"{self.name}.sql"

    def sql_text(self) -> str:
        """The SQL as written (what a reviewer reads)."""
        return resources.files("fraudlib").joinpath("sql", self.sql_path).read_text("utf-8")

    def defaults(self) -> dict[str, object]:
        # copies: list defaults (locations) must not be shared between configs or rules
        return {p.name: copy.deepcopy(p.default) for p in self.params}

    def render(self, month: Month, values: dict[str, object]) -> str:
        """The Trino statement for `month` with validated parameter `values`."""
        context = {
            "month": month,
            "history_start": month.shift(-self.lookback_months),
            "month_start": month.start,
            "month_end": month.end,
        }
        return render(self.sql_text(), {**values, **context}, source=f"rule {self.name}")


# Where a customer is not physically: online banking, and the main office where operations
# from anywhere are booked. Shared by the rules that follow customers from place to place.
NOT_A_PLACE = Param(
    "excluded_locations",
    "locations",
    [MAIN_OFFICE, ONLINE_LOCATION],
    "not a place the customer is at (online banking, operations booked centrally)",
)

# Default weights are each rule's transaction precision in `fraud backtest` over six months
# of synthetic data (seed 3, 200,000 rows a month), clipped to [0.05, 0.95]. A bank should
# set its own from a backtest on its data (`--config`).
RULES: tuple[Rule, ...] = (
    Rule(
        name="large_sum_at_location",
        version="1",
        description=(
            "A customer's transactions above min_amount at one location other than the trusted "
            "ones add up to more than min_total within the month (the original rule)."
        ),
        params=(
            Param("min_amount", "amount", 10000.0, "only transactions strictly above this count"),
            Param("min_total", "amount", 50000.0, "flag once their sum is strictly above this"),
            Param(
                "trusted_locations",
                "locations",
                [MAIN_OFFICE],
                "locations never flagged by this rule (the main office)",
            ),
        ),
        weight=0.72,
    ),
    Rule(
        name="burst_of_transactions",
        version="1",
        description=(
            "Velocity: at least min_count transactions by one customer within window minutes, "
            "ending at the flagged one (the earlier ones of the burst are evidence). Customers "
            "whose own history shows bursts on routine_burst_days earlier days of the lookback "
            "(a busy business) are not flagged."
        ),
        params=(
            Param("min_count", "count", 5, "transactions in the window, this one included"),
            Param("window", "minutes", 5, "length of the window ending at the transaction"),
            Param(
                "routine_burst_days",
                "count",
                3,
                "customers with a burst on at least this many earlier days are routinely busy",
            ),
        ),
        weight=0.67,
        lookback_months=3,
    ),
    Rule(
        name="structuring",
        version="1",
        description=(
            "Structuring: at least min_count transactions by one customer, each in "
            "[threshold × (1 − margin), threshold), within window_days days ending at the "
            "flagged one — a sum split so that no transaction reaches the reporting threshold."
        ),
        params=(
            Param("threshold", "amount", 10000.0, "the reporting threshold (amounts stay below)"),
            Param("margin", "ratio", 0.1, "the band under the threshold, as a share of it"),
            Param("min_count", "count", 3, "amounts in the band within the window, this one too"),
            Param(
                "window_days",
                "days",
                3,
                "length of the window ending at the transaction (at most 28: one month is read)",
            ),
        ),
        weight=0.95,
        lookback_months=1,
    ),
    Rule(
        name="amount_spike",
        version="1",
        description=(
            "Amount spike: an amount above min_amount and more than factor times the average "
            "of the customer's earlier transactions in the lookback (3 previous months and "
            "this month so far), for customers with at least min_history of them."
        ),
        params=(
            Param("factor", "ratio", 10.0, "flag above this multiple of the customer's average"),
            Param("min_amount", "amount", 1000.0, "smaller amounts are never a spike"),
            Param("min_history", "count", 10, "earlier transactions needed for a baseline"),
        ),
        weight=0.43,
        lookback_months=3,
    ),
    Rule(
        name="new_location_high_amount",
        version="1",
        description=(
            "New location, high amount: the customer's first transaction at a location in the "
            "lookback (3 previous months and this month so far) is above min_amount and above "
            "factor times the average of their earlier transactions; customers with fewer than "
            "min_history earlier transactions (to whom every place is new) are not flagged."
        ),
        params=(
            Param("min_amount", "amount", 500.0, "smaller amounts are never flagged (a floor)"),
            Param("factor", "ratio", 5.0, "flag above this multiple of the customer's average"),
            Param("min_history", "count", 10, "earlier transactions needed for a baseline"),
        ),
        weight=0.58,
        lookback_months=3,
    ),
    Rule(
        name="location_hopping",
        version="1",
        description=(
            "Location hopping: a customer moves at least min_locations times within window "
            "minutes ending at the flagged transaction (a move is a transaction at a place "
            "other than their last three, so going back and forth between a few places is not "
            "hopping; excluded_locations such as online banking are not places). Customers who "
            "hopped on routine_hop_days earlier days of the lookback (the previous month and "
            "this one so far) are routine and not flagged."
        ),
        params=(
            Param(
                "min_locations", "count", 4, "moves to another place in the window, this one too"
            ),
            Param("window", "minutes", 60, "length of the window ending at the transaction"),
            Param(
                "routine_hop_days",
                "count",
                2,
                "customers who hopped on at least this many earlier days are routinely mobile",
            ),
            NOT_A_PLACE,
        ),
        weight=0.27,
        lookback_months=1,
    ),
    Rule(
        name="impossible_travel",
        version="1",
        description=(
            "Impossible travel: the customer's previous transaction with coordinates is at "
            "least min_km away (haversine) and getting here in the time between needs a speed "
            "above max_speed_kmh (elapsed time counted as at least one minute). Needs the "
            "optional latitud/longitud columns; skipped on data without them."
        ),
        params=(
            Param("max_speed_kmh", "ratio", 500.0, "flag above this speed, in km/h"),
            Param("min_km", "ratio", 50.0, "shorter legs, in km, are never impossible"),
            NOT_A_PLACE,
        ),
        weight=0.9,
        columns=(
            "id_transaccion",
            "id_cliente",
            "fecha",
            "monto",
            "ubicacion",
            "latitud",
            "longitud",
        ),
        lookback_months=1,
    ),
    Rule(
        name="dormant_reactivated",
        version="1",
        description=(
            "Dormant account reactivated: a customer whose transaction comes at least "
            "dormant_days after their previous one reactivates; within window_days from then, "
            "a transaction above min_amount, or a sum since reactivating above it, is flagged. "
            "A customer with no earlier transaction in the lookback (6 months) is taken as new, "
            "not dormant, and never flagged; dormant_days must stay well under the lookback."
        ),
        params=(
            Param("dormant_days", "days", 90, "a silence at least this long makes a sleeper"),
            Param("window_days", "days", 7, "how long after reactivating amounts are summed"),
            Param("min_amount", "amount", 5000.0, "flag the amount or sum strictly above this"),
        ),
        weight=0.4,
        lookback_months=6,
    ),
    Rule(
        name="compromised_location",
        version="3",
        description=(
            "Compromised location: at the transaction's fecha, at least min_victims different "
            "customers are known (fraudes_confirmados, from fecha_confirmacion on) to have been "
            "defrauded at its location within the window_days before it, and the customer is new "
            "there: no transaction of theirs at that location in the lookback (2 previous months "
            "and this month so far) before the new_days before it. The place's regulars are not "
            "flagged: cloned cards are cashed out where the cardholder does not go. A "
            "transaction is never judged on its own confirmation. excluded_locations (online "
            "banking) are not points that can be compromised. Customers with fewer than "
            "min_history earlier transactions in the lookback (to whom every place is new) are "
            "not flagged. Needs the fraudes_confirmados table."
        ),
        params=(
            Param(
                "min_victims",
                "count",
                2,
                "defrauded customers known at the place (one victim's transactions count once)",
            ),
            Param(
                "window_days",
                "days",
                14,
                "frauds older than this do not count (at most 59: two months are read)",
            ),
            Param(
                "new_days",
                "days",
                14,
                "a customer whose first transaction at the place in the lookback is at most "
                "this old is new there, so a card's second withdrawal is flagged too",
            ),
            Param(
                "min_history",
                "count",
                5,
                "earlier transactions of the customer in the lookback needed for 'new there'",
            ),
            Param(
                "excluded_locations",
                "locations",
                [ONLINE_LOCATION],
                "not a point that can be compromised (online banking)",
            ),
        ),
        weight=0.42,
        tables=("fraudes_confirmados",),
        lookback_months=2,
    ),
)


def rule_names() -> list[str]:
    return [rule.name for rule in RULES]


def get_rule(name: str) -> Rule:
    """A rule by name, or a ConfigError listing the known ones."""
    for rule in RULES:
        if rule.name == name:
            return rule
    raise ConfigError(f"unknown rule {name!r}: known rules are {', '.join(rule_names())}")
