"""The Athena DDL and the Glue TableInputs describe the contract's tables, from one source."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from fraudlib import contract
from fraudlib.ddl import TABLES, athena_ddl, athena_ddl_statements, glue_table_inputs
from fraudlib.errors import FraudlibError

DATA = "s3://bank-data/fraud/"
ALERTS = "s3://bank-alerts/fraud/"
SCHEMAS = {spec.name: spec.schema for spec in TABLES}
PARTITIONED = {contract.TRANSACTIONS, contract.ALERTS, contract.FLAGGED}

# Hive type (as sqlglot renders the parsed DDL) -> the Arrow type the contract uses for it.
HIVE_TO_ARROW = {
    "string": pa.string(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("us"),
    "bigint": pa.int64(),
    "array<string>": pa.list_(pa.string()),
}


def _tables(dialect: str) -> dict[str, exp.Create]:
    statements = sqlglot.parse(athena_ddl("fraud", DATA, ALERTS), read=dialect)
    creates = [s for s in statements if s is not None and s.args.get("kind") == "TABLE"]
    return {create.this.this.name: create for create in creates}


def _properties(create: exp.Create) -> dict[str, str]:
    # Plain properties are the TBLPROPERTIES; subclasses are EXTERNAL, LOCATION, ...
    return {
        prop.name: prop.text("value")
        for prop in create.find_all(exp.Property)
        if type(prop) is exp.Property
    }


def test_ddl_has_every_contract_table():
    assert set(_tables("athena")) == {
        contract.TRANSACTIONS,
        contract.CONFIRMED_FRAUD,
        contract.LABELS,
        contract.ALERTS,
        contract.FLAGGED,
    }


@pytest.mark.parametrize("dialect", ["athena", "hive"])
def test_ddl_columns_and_types_equal_the_contract(dialect):
    for name, create in _tables(dialect).items():
        columns = [
            (column.name, HIVE_TO_ARROW[column.args["kind"].sql(dialect="hive").lower()])
            for column in create.this.expressions
        ]
        expected = [(field.name, field.type) for field in SCHEMAS[name]]
        assert columns == expected, name


def test_ddl_creates_only_if_missing_and_external():
    for create in _tables("athena").values():
        assert create.args["exists"]  # IF NOT EXISTS
        assert create.find(exp.ExternalProperty) is not None


def test_partitioned_tables_use_partition_projection():
    for name, create in _tables("athena").items():
        partitioned_by = create.find(exp.PartitionedByProperty)
        properties = _properties(create)
        if name not in PARTITIONED:
            assert partitioned_by is None and "projection.enabled" not in properties
            continue
        keys = [
            (c.name, c.args["kind"].sql(dialect="hive")) for c in partitioned_by.this.expressions
        ]
        assert keys == [("anio", "STRING"), ("mes", "STRING")]
        root = DATA if name == contract.TRANSACTIONS else ALERTS
        assert properties["projection.enabled"] == "true"
        assert properties["projection.anio.type"] == "integer"
        assert properties["projection.anio.digits"] == "4"
        assert properties["projection.mes.type"] == "integer"
        assert properties["projection.mes.range"] == "1,12"
        assert properties["projection.mes.digits"] == "2"
        assert (
            properties["storage.location.template"] == f"{root}{name}/anio=${{anio}}/mes=${{mes}}/"
        )


def test_ddl_starts_by_creating_the_database():
    first = athena_ddl_statements("fraud", DATA, ALERTS)[0]
    assert first == "CREATE DATABASE IF NOT EXISTS `fraud`"


def test_glue_table_inputs_match_the_ddl():
    inputs = glue_table_inputs(DATA, ALERTS)
    tables = _tables("athena")
    assert set(inputs) == set(tables)
    for name, table_input in inputs.items():
        create = tables[name]
        columns = [(c.name, c.args["kind"]) for c in create.this.expressions]
        glue_columns = table_input["StorageDescriptor"]["Columns"]
        assert [c["Name"] for c in glue_columns] == [name_ for name_, _ in columns]
        for column, (_, kind) in zip(glue_columns, columns, strict=True):
            # Glue spells the type as Hive DDL does.
            assert sqlglot.parse_one(f"cast(x as {column['Type']})", read="hive").to == kind
        assert table_input["TableType"] == "EXTERNAL_TABLE"
        location = create.find(exp.LocationProperty).name
        assert table_input["StorageDescriptor"]["Location"] == location
        glue_parameters = dict(table_input["Parameters"])
        assert glue_parameters.pop("EXTERNAL") == "TRUE"
        assert glue_parameters == _properties(create)
        keys = [key["Name"] for key in table_input["PartitionKeys"]]
        assert keys == (["anio", "mes"] if name in PARTITIONED else [])


def test_uris_get_a_trailing_slash_and_must_be_s3():
    inputs = glue_table_inputs("s3://b/data", "s3://b/alerts")
    assert inputs[contract.LABELS]["StorageDescriptor"]["Location"] == "s3://b/data/etiquetas/"
    with pytest.raises(FraudlibError, match="expected s3://"):
        athena_ddl("fraud", "/local/data", ALERTS)
    with pytest.raises(FraudlibError, match="invalid database name"):
        athena_ddl("fraud; drop", DATA, ALERTS)
