"""fraudlib: fraud rules over Hive-partitioned Parquet, run on DuckDB locally and Athena in AWS."""

__version__ = "0.1.0"
