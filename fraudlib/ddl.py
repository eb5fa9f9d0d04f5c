"""Athena/Glue definitions of the contract's tables, built from the Arrow schemas in `contract`.

One source for both forms: `athena_ddl` (what `fraud ddl` prints and an admin runs in the
Athena console) and `glue_table_inputs` (the `TableInput` of `AWS::Glue::Table` in the SAM
template, and of `glue.create_table` in the moto tests). The partitioned tables use partition
projection, so Athena computes a month's S3 prefix from `anio`/`mes` and nobody has to run
MSCK REPAIR or register partitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from fraudlib import contract
from fraudlib.errors import FraudlibError

PARTITION_KEYS = ("anio", "mes")

# Years the projection enumerates when a query does not bound `anio` (every query against
# transacciones should, but a wide range only costs planning time, not bytes).
PROJECTED_YEARS = (2000, 2099)

_PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

# Glue accepts lower-case letters, digits and underscores in names; anything else would have
# to be quoted differently in DDL and in IAM ARNs, so it is refused up front.
_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class TableSpec:
    """Where a contract table lives and whether it is partitioned by anio/mes."""

    name: str
    schema: pa.Schema
    root: str  # 'data' or 'alerts': which S3 prefix holds it
    partitioned: bool


TABLES: tuple[TableSpec, ...] = (
    TableSpec(contract.TRANSACTIONS, contract.TRANSACTIONS_SCHEMA, "data", True),
    TableSpec(contract.CONFIRMED_FRAUD, contract.CONFIRMED_FRAUD_SCHEMA, "data", False),
    TableSpec(contract.LABELS, contract.LABELS_SCHEMA, "data", False),
    TableSpec(contract.ALERTS, contract.ALERTS_SCHEMA, "alerts", True),
    TableSpec(contract.FLAGGED, contract.FLAGGED_SCHEMA, "alerts", True),
)


def hive_type(arrow_type: pa.DataType) -> str:
    """The Hive/Glue type name (as Athena DDL and Glue columns spell it) of an Arrow type."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return hive_type(arrow_type.value_type)
    simple = {
        pa.float64(): "double",
        pa.float32(): "float",
        pa.int64(): "bigint",
        pa.int32(): "int",
        pa.int16(): "smallint",
        pa.int8(): "tinyint",
        pa.bool_(): "boolean",
        pa.date32(): "date",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        # Athena reads Parquet timestamps of any unit into `timestamp` (millisecond precision).
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{hive_type(arrow_type.value_type)}>"
    raise TypeError(f"no Hive type for Arrow type {arrow_type}")


def table_columns(spec: TableSpec) -> list[tuple[str, str]]:
    """(name, Hive type) of a table's data columns, in contract order (no partition keys)."""
    return [(field.name, hive_type(field.type)) for field in spec.schema]


def _prefix(uri: str, what: str) -> str:
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise FraudlibError(f"invalid {what} {uri!r}: expected s3://bucket/prefix/")
    return uri if uri.endswith("/") else uri + "/"


def _check_name(name: str, what: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise FraudlibError(
            f"invalid {what} {name!r}: use lower-case letters, digits and underscores"
        )
    return name


def _location(spec: TableSpec, data_uri: str, alerts_uri: str) -> str:
    root = data_uri if spec.root == "data" else alerts_uri
    return f"{root}{spec.name}/"


def _table_properties(spec: TableSpec, location: str, years: tuple[int, int]) -> dict[str, str]:
    properties = {"classification": "parquet"}
    if spec.partitioned:
        properties |= {
            "projection.enabled": "true",
            "projection.anio.type": "integer",
            "projection.anio.range": f"{years[0]},{years[1]}",
            "projection.anio.digits": "4",
            "projection.mes.type": "integer",
            "projection.mes.range": "1,12",
            "projection.mes.digits": "2",
            "storage.location.template": location + "anio=${anio}/mes=${mes}/",
        }
    return properties


def athena_ddl_statements(
    database: str,
    data_uri: str,
    alerts_uri: str,
    *,
    years: tuple[int, int] = PROJECTED_YEARS,
) -> list[str]:
    """One `CREATE ... IF NOT EXISTS` statement per item (database first, then each table).

    Athena runs one statement per query, so callers that execute them need them apart.
    """
    database = _check_name(database, "database name")
    data_uri = _prefix(data_uri, "data URI")
    alerts_uri = _prefix(alerts_uri, "alerts URI")
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`"]
    for spec in TABLES:
        location = _location(spec, data_uri, alerts_uri)
        columns = ",\n".join(f"  `{name}` {type_}" for name, type_ in table_columns(spec))
        lines = [f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{spec.name}` (", columns, ")"]
        if spec.partitioned:
            keys = ", ".join(f"`{key}` string" for key in PARTITION_KEYS)
            lines.append(f"PARTITIONED BY ({keys})")
        lines += ["STORED AS PARQUET", f"LOCATION '{location}'", "TBLPROPERTIES ("]
        properties = _table_properties(spec, location, years)
        lines.append(",\n".join(f"  '{key}'='{value}'" for key, value in properties.items()))
        lines.append(")")
        statements.append("\n".join(lines))
    return statements


def athena_ddl(
    database: str,
    data_uri: str,
    alerts_uri: str,
    *,
    years: tuple[int, int] = PROJECTED_YEARS,
) -> str:
    """Athena DDL creating the database and every contract table, `;`-separated.

    `data_uri` holds transacciones, fraudes_confirmados and etiquetas; `alerts_uri` holds the
    outputs alertas and sospechosas (both `s3://bucket/prefix/`).
    """
    statements = athena_ddl_statements(database, data_uri, alerts_uri, years=years)
    return ";\n\n".join(statements) + ";\n"


def glue_table_inputs(
    data_uri: str,
    alerts_uri: str,
    *,
    years: tuple[int, int] = PROJECTED_YEARS,
) -> dict[str, dict]:
    """Table name -> Glue `TableInput` (the shape of boto3 `create_table` and CloudFormation).

    Same columns, locations and projection properties as `athena_ddl`.
    """
    data_uri = _prefix(data_uri, "data URI")
    alerts_uri = _prefix(alerts_uri, "alerts URI")
    inputs: dict[str, dict] = {}
    for spec in TABLES:
        location = _location(spec, data_uri, alerts_uri)
        table_input = {
            "Name": spec.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"EXTERNAL": "TRUE", **_table_properties(spec, location, years)},
            "StorageDescriptor": {
                "Columns": [{"Name": name, "Type": type_} for name, type_ in table_columns(spec)],
                "Location": location,
                "InputFormat": _PARQUET_INPUT,
                "OutputFormat": _PARQUET_OUTPUT,
                "SerdeInfo": {
                    "SerializationLibrary": _PARQUET_SERDE,
                    "Parameters": {"serialization.format": "1"},
                },
            },
            "PartitionKeys": (
                [{"Name": key, "Type": "string"} for key in PARTITION_KEYS]
                if spec.partitioned
                else []
            ),
        }
        inputs[spec.name] = table_input
    return inputs
