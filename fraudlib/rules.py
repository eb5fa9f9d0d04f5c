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

from dataclasses import dataclass, field
from importlib import resources

from fraudlib.contract import MAIN_OFFICE
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
        return {p.name: p.default for p in self.params}

    def render(self, month: Month, values: dict[str, object]) -> str:
        """The Trino statement for `month` with validated parameter `values`."""
        context = {
            "month": month,
            "history_start": month.shift(-self.lookback_months),
            "month_start": month.start,
            "month_end": month.end,
        }
        return render(self.sql_text(), {**values, **context}, source=f"rule {self.name}")


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
        weight=0.6,
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
