"""The data contract: table names, columns and types, and the on-disk layout.

This is the bank's Athena schema, so names stay in Spanish. Every other module takes table
and column facts from here.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from fraudlib.month import Month

TRANSACTIONS = "transacciones"
CONFIRMED_FRAUD = "fraudes_confirmados"
LABELS = "etiquetas"
ALERTS = "alertas"
FLAGGED = "sospechosas"

MAIN_OFFICE = "Oficina Principal"
ONLINE_LOCATION = "Banca en Linea"  # the `ubicacion` of online banking: not a physical place

# Required columns of `transacciones` and the Arrow types accepted for each. Further columns
# may exist; rules that need an absent one are skipped.
TRANSACTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "id_transaccion": ("string",),
    "id_cliente": ("string",),
    "monto": ("double", "decimal"),
    "fecha": ("timestamp",),
    "ubicacion": ("string",),
}

TRANSACTIONS_SCHEMA = pa.schema(
    [
        ("id_transaccion", pa.string()),
        ("id_cliente", pa.string()),
        ("monto", pa.float64()),
        ("fecha", pa.timestamp("us")),
        ("ubicacion", pa.string()),
    ]
)

CONFIRMED_FRAUD_SCHEMA = pa.schema(
    [("id_transaccion", pa.string()), ("fecha_confirmacion", pa.timestamp("us"))]
)

LABELS_SCHEMA = pa.schema([("id_transaccion", pa.string()), ("escenario", pa.string())])

ALERTS_SCHEMA = pa.schema(
    [
        ("id_alerta", pa.string()),
        ("regla", pa.string()),
        ("version_regla", pa.string()),
        ("id_cliente", pa.string()),
        ("ubicacion", pa.string()),
        ("desde", pa.timestamp("us")),
        ("hasta", pa.timestamp("us")),
        ("n_transacciones", pa.int64()),
        ("monto_total", pa.float64()),
        ("ids_transaccion", pa.list_(pa.string())),
        ("puntaje", pa.float64()),
        ("decision", pa.string()),
        ("detalle", pa.string()),
    ]
)

FLAGGED_SCHEMA = pa.schema(
    [
        ("id_transaccion", pa.string()),
        ("id_cliente", pa.string()),
        ("fecha", pa.timestamp("us")),
        ("monto", pa.float64()),
        ("ubicacion", pa.string()),
        ("puntaje", pa.float64()),
        ("reglas", pa.list_(pa.string())),
        ("decision", pa.string()),
    ]
)

DECISIONS = ("review", "block")


def arrow_type_family(arrow_type: pa.DataType) -> str:
    """'string', 'double', 'decimal', 'timestamp', ... — the family a contract type allows."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return arrow_type_family(arrow_type.value_type)
    if pa.types.is_floating(arrow_type):
        return "double"
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_integer(arrow_type):
        return "integer"
    return str(arrow_type)


def month_dir(root: Path | str, table: str, month: Month) -> Path:
    """`ROOT/table/anio=YYYY/mes=MM` — the same layout for inputs and outputs."""
    return Path(root) / table / month.partition_path()
