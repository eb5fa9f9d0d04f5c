"""The production engine: Amazon Athena through PyAthena's PandasCursor.

Configuration comes from the environment (the Lambda's, or a shell's), never from keys:
credentials come from boto3's default chain (the execution role in Lambda).

| variable | meaning |
| --- | --- |
| FRAUD_ATHENA_DATABASE | Glue database holding the contract's tables (required) |
| AWS_ATHENA_WORK_GROUP | Athena workgroup (PyAthena's variable) |
| AWS_ATHENA_S3_STAGING_DIR | s3:// prefix for query results (PyAthena's variable) |
| AWS_REGION / AWS_DEFAULT_REGION | region of Athena and Glue |

The SQL handed to `query` is already Trino, Athena's dialect, so it runs unchanged.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fraudlib.errors import DataError, FraudlibError
from fraudlib.month import Month

ENV_DATABASE = "FRAUD_ATHENA_DATABASE"
ENV_WORK_GROUP = "AWS_ATHENA_WORK_GROUP"
ENV_STAGING_DIR = "AWS_ATHENA_S3_STAGING_DIR"
# Lambda sets both; botocore itself only reads AWS_DEFAULT_REGION.
ENV_REGIONS = ("AWS_REGION", "AWS_DEFAULT_REGION")

_TABLE_RE = re.compile(r"[a-z_][a-z0-9_]*")
_MAX_REASON = 500

# PyAthena logs its failures with a traceback (logger.exception) and then raises; we turn the
# raise into a one-line FraudlibError, so those records are demoted to DEBUG, where they stay
# available to whoever turns DEBUG on, instead of reaching stderr through logging's last resort.
_PYATHENA_LOGGERS = (
    "pyathena.common",
    "pyathena.result_set",
    "pyathena.pandas.result_set",
    "pyathena.filesystem.s3",
)


class _DemoteTracebacksToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_DEMOTE = _DemoteTracebacksToDebug()


def _quiet_pyathena_tracebacks() -> None:
    for name in _PYATHENA_LOGGERS:
        logger = logging.getLogger(name)
        if _DEMOTE not in logger.filters:
            logger.addFilter(_DEMOTE)


@dataclass(frozen=True)
class AthenaConfig:
    """Where queries run. Holds names only: credentials never pass through fraudlib."""

    database: str
    work_group: str | None
    s3_staging_dir: str | None
    region: str | None
    unload: bool = False

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        database: str | None = None,
        work_group: str | None = None,
        s3_staging_dir: str | None = None,
        unload: bool = False,
    ) -> AthenaConfig:
        """Read the configuration from the environment; keyword options override it."""
        env = os.environ if environ is None else environ
        database = database or env.get(ENV_DATABASE, "").strip()
        if not database:
            raise FraudlibError(
                f"the athena engine needs {ENV_DATABASE} (the Glue database of the tables)"
            )
        work_group = work_group or env.get(ENV_WORK_GROUP, "").strip() or None
        s3_staging_dir = s3_staging_dir or env.get(ENV_STAGING_DIR, "").strip() or None
        if not work_group and not s3_staging_dir:
            # Athena needs a result location: the staging dir, or a workgroup that sets one.
            raise FraudlibError(
                f"the athena engine needs {ENV_STAGING_DIR} or {ENV_WORK_GROUP} "
                "(where Athena writes query results)"
            )
        if s3_staging_dir and not s3_staging_dir.startswith("s3://"):
            raise FraudlibError(
                f"invalid {ENV_STAGING_DIR} {s3_staging_dir!r}: expected s3://bucket/prefix/"
            )
        region = next((env[name] for name in ENV_REGIONS if env.get(name)), None)
        return cls(database, work_group, s3_staging_dir, region, unload)

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `pyathena.connect` (names and flags, no credentials)."""
        options: dict[str, Any] = {
            "schema_name": self.database,
            # Empty strings stop PyAthena from reading its env variables a second time.
            "work_group": self.work_group or "",
            "s3_staging_dir": self.s3_staging_dir or "",
            "cursor_kwargs": {"unload": self.unload},
        }
        if self.region:
            options["region_name"] = self.region
        return options


def glue_type_family(glue_type: str) -> str:
    """'string', 'double', 'decimal', 'timestamp', 'integer' for a Glue/Hive column type.

    Other types (boolean, date, array<...>) come back as their lower-case Glue name.
    """
    text = glue_type.strip().lower()
    base = re.split(r"[(<\s]", text, maxsplit=1)[0]
    if base in ("string", "varchar", "char"):
        return "string"
    if base in ("double", "float", "real"):
        return "double"
    if base == "decimal":
        return "decimal"
    if base == "timestamp":
        return "timestamp"
    if base in ("tinyint", "smallint", "int", "integer", "bigint"):
        return "integer"
    return text


def _reason(error: BaseException) -> str:
    # Athena's reasons and DuckDB-style messages can span lines; the user gets one.
    text = " ".join(str(error).split()) if error.args and error.args[0] else ""
    text = text or type(error).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _check_table(table: str) -> str:
    if not _TABLE_RE.fullmatch(table):
        raise FraudlibError(f"invalid table name {table!r}")
    return table


class AthenaEngine:
    """Athena via PyAthena's PandasCursor; the database, workgroup and staging dir from env."""

    name = "athena"

    def __init__(
        self,
        *,
        database: str | None = None,
        work_group: str | None = None,
        s3_staging_dir: str | None = None,
        unload: bool = False,
    ) -> None:
        self.config = AthenaConfig.from_env(
            database=database,
            work_group=work_group,
            s3_staging_dir=s3_staging_dir,
            unload=unload,
        )
        try:
            import pyathena
            from botocore.exceptions import BotoCoreError, ClientError, NoRegionError
            from pyathena.error import Error as PyAthenaError
            from pyathena.pandas.cursor import PandasCursor
        except ImportError:  # the core install (and the DuckDB-only CI) has no PyAthena
            raise FraudlibError(
                "the athena engine needs PyAthena: pip install 'fraudlib[athena]'"
            ) from None
        # Errors that mean "Athena/Glue said no" (or could not be reached): reported as one
        # line, never as a traceback.
        self._client_errors: tuple[type[BaseException], ...] = (
            PyAthenaError,
            ClientError,
            BotoCoreError,
        )
        self._client_error = ClientError
        _quiet_pyathena_tracebacks()
        try:
            self._connection = pyathena.connect(
                cursor_class=PandasCursor, **self.config.connect_options()
            )
        except NoRegionError:
            raise FraudlibError(
                f"the athena engine needs an AWS region: set {ENV_REGIONS[0]}"
            ) from None
        except self._client_errors as error:
            raise FraudlibError(f"cannot connect to Athena: {_reason(error)}") from None
        self._glue_client: Any = None
        self._bytes_scanned = 0

    @property
    def database(self) -> str:
        """The Glue database the queries run in."""
        return self.config.database

    def query(self, trino_sql: str, *, label: str = "") -> pd.DataFrame:
        """Run one Trino SQL statement on Athena, unchanged, and return its result.

        A failed query (bad SQL, missing table, access denied) is a one-line FraudlibError
        naming the query's label and Athena's reason.
        """
        cursor = self._connection.cursor()
        try:
            # No parameters: PyAthena then sends the text verbatim (no %-formatting).
            cursor.execute(trino_sql)
            frame = cursor.as_pandas()
        except self._client_errors as error:
            raise FraudlibError(f"{label or 'query'} failed on Athena: {_reason(error)}") from None
        finally:
            # What Athena bills; PyAthena reports it with a successful query's result.
            self._bytes_scanned += int(cursor.data_scanned_in_bytes or 0)
            cursor.close()
        return frame

    def has_table(self, table: str) -> bool:
        """Whether the Glue database has `table` (optional tables may be absent)."""
        return self._glue_table(table) is not None

    def month_columns(self, table: str, month: Month) -> dict[str, str]:
        """Column name -> type family from the Glue definition, after checking the month has rows.

        With partition projection, partitions cannot be listed, so a month is checked with a
        count(*), which Athena answers from Parquet metadata.
        """
        month = Month.parse(month)
        definition = self._glue_table(table)
        if definition is None:
            raise DataError(f"table {table} not found in Glue database {self.database}")
        columns = {
            column["Name"]: glue_type_family(column["Type"])
            for column in definition.get("StorageDescriptor", {}).get("Columns", [])
        }
        keys = {key["Name"]: key["Type"] for key in definition.get("PartitionKeys", [])}
        columns |= {name: glue_type_family(type_) for name, type_ in keys.items()}
        if {"anio", "mes"} <= keys.keys():
            counts = self.query(
                f'select count(*) as n from "{table}" where {month.partition_predicate()}',
                label=f"{table} {month} row count",
            )
            if counts.empty or int(counts.iloc[0, 0]) == 0:
                raise DataError(f"no data for month {month} in table {table}")
        return columns

    def bind_months(self, months: list[Month]) -> None:
        """Nothing to bind: partition projection prunes by each query's anio/mes predicates."""

    @property
    def bytes_scanned(self) -> int:
        """Bytes Athena reports as scanned by this engine's queries so far."""
        return self._bytes_scanned

    def close(self) -> None:
        """Close the Athena, S3 and Glue clients."""
        self._connection.close()
        if self._glue_client is not None:
            self._glue_client.close()

    # -- Glue ---------------------------------------------------------------------------

    def _glue(self) -> Any:
        if self._glue_client is None:
            # The connection's session: same credentials chain and region as the queries.
            self._glue_client = self._connection.session.client(
                "glue", region_name=self._connection.region_name
            )
        return self._glue_client

    def _glue_table(self, table: str) -> dict | None:
        """The Glue table definition, or None when the table does not exist."""
        _check_table(table)
        try:
            return self._glue().get_table(DatabaseName=self.database, Name=table)["Table"]
        except self._client_error as error:
            if error.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                raise FraudlibError(
                    f"Glue get_table {self.database}.{table} failed: {_reason(error)}"
                ) from None
        except self._client_errors as error:
            raise FraudlibError(
                f"Glue get_table {self.database}.{table} failed: {_reason(error)}"
            ) from None
        # Not found: a missing table is an answer, a missing database is a config error.
        self._require_database()
        return None

    def _require_database(self) -> None:
        try:
            self._glue().get_database(Name=self.database)
        except self._client_error as error:
            if error.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                raise FraudlibError(
                    f"Glue database {self.database!r} not found (set by {ENV_DATABASE})"
                ) from None
            raise FraudlibError(
                f"Glue get_database {self.database} failed: {_reason(error)}"
            ) from None
        except self._client_errors as error:
            raise FraudlibError(
                f"Glue get_database {self.database} failed: {_reason(error)}"
            ) from None
