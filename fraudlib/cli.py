"""The `fraud` command line. Exit 0 on success; 2 on bad input, with one line on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fraudlib.errors import FraudlibError
from fraudlib.month import Month

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except FraudlibError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fraud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help="write a labelled synthetic data set")
    generate.add_argument("--data", required=True, type=Path, help="data root to write")
    generate.add_argument("--from", dest="first", required=True, type=_month, metavar="YYYY-MM")
    generate.add_argument("--to", dest="last", required=True, type=_month, metavar="YYYY-MM")
    generate.add_argument("--rows-per-month", type=int, default=200_000, metavar="N")
    generate.add_argument("--seed", type=int, default=0, metavar="N")
    generate.set_defaults(run=cmd_generate)

    detect = commands.add_parser("detect", help="run the rules on one month, write alerts")
    detect.add_argument("--data", type=Path, help="data root (local engine)")
    detect.add_argument("--month", required=True, type=_month, metavar="YYYY-MM")
    detect.add_argument("--out", type=Path, help="outputs root (default: --data)")
    detect.add_argument("--rule", action="append", metavar="NAME", help="run only this rule")
    detect.add_argument("--config", type=Path, metavar="FILE", help="rules config (YAML)")
    detect.add_argument("--engine", choices=("local", "athena"), default="local")
    detect.set_defaults(run=cmd_detect)

    backtest = commands.add_parser("backtest", help="measure rules against known fraud")
    backtest.add_argument("--data", type=Path, help="data root (local engine)")
    backtest.add_argument("--from", dest="first", required=True, type=_month, metavar="YYYY-MM")
    backtest.add_argument("--to", dest="last", required=True, type=_month, metavar="YYYY-MM")
    backtest.add_argument("--config", type=Path, metavar="FILE", help="rules config (YAML)")
    backtest.add_argument(
        "--against", type=Path, metavar="FILE", help="compare with this (production) config"
    )
    backtest.add_argument(
        "--output", type=Path, metavar="FILE", help="also write the tables (.json or .csv)"
    )
    backtest.add_argument("--engine", choices=("local", "athena"), default="local")
    backtest.set_defaults(run=cmd_backtest)

    rules = commands.add_parser("rules", help="list rules, versions and parameters")
    rules.add_argument("--config", type=Path, metavar="FILE", help="show values from this config")
    rules.add_argument("--sql", metavar="NAME", help="print the SQL of one rule")
    rules.set_defaults(run=cmd_rules)

    ddl = commands.add_parser("ddl", help="print the Athena DDL for the tables")
    ddl.add_argument("--database", default="fraud")
    ddl.add_argument("--data-uri", default="s3://YOUR-BUCKET/data/", metavar="S3_URI")
    ddl.add_argument("--alerts-uri", default="s3://YOUR-BUCKET/alerts/", metavar="S3_URI")
    ddl.set_defaults(run=cmd_ddl)
    return parser


def cmd_generate(args: argparse.Namespace) -> None:
    from fraudlib.month import month_range

    month_range(args.first, args.last)  # an empty range fails before anything is written
    from fraudlib.synth import generate

    summary = generate(
        args.data,
        args.first,
        args.last,
        rows_per_month=args.rows_per_month,
        seed=args.seed,
        progress=_progress,
    )
    print(f"Wrote {len(summary.months)} months to {args.data} in {summary.seconds:.1f}s")


def cmd_detect(args: argparse.Namespace) -> None:
    from fraudlib.config import load_config
    from fraudlib.detect import run_month
    from fraudlib.outputs import write_month_local

    config = load_config(args.config)
    if args.rule:
        config.enabled_rules(args.rule)  # unknown names fail before any data is read
    engine = _engine(args)  # the local engine's --data is checked first, with its own message
    try:
        out = args.out or args.data
        if out is None:
            raise FraudlibError("--out is required with the athena engine")
        result = run_month(engine, args.month, config, rules=args.rule, progress=_progress)
    finally:
        engine.close()
    written = write_month_local(
        out, args.month, {"alertas": result.alerts, "sospechosas": result.flagged}
    )
    print(
        f"{args.month}: {result.rows:,} transactions, {len(result.alerts)} alerts, "
        f"{len(result.flagged)} flagged transactions ({result.seconds:.1f}s)"
    )
    print(format_table(result.summary))
    for notice in result.notices:
        print(f"note: {notice}")
    for table, path in written.items():
        print(f"wrote {table}: {path}")


def _engine(args: argparse.Namespace):
    from fraudlib.engines import make_engine

    if args.engine == "athena":
        return make_engine("athena")
    if args.data is None:
        raise FraudlibError("--data is required with the local engine")
    return make_engine("local", data=args.data)


def cmd_backtest(args: argparse.Namespace) -> None:
    from fraudlib.backtest import compare, run_backtest
    from fraudlib.config import load_config
    from fraudlib.month import month_range
    from fraudlib.report_tables import write_tables

    months = month_range(args.first, args.last)
    config = load_config(args.config)
    production = load_config(args.against) if args.against else None
    if args.output and args.output.suffix not in (".json", ".csv"):
        raise FraudlibError(f"--output must end in .json or .csv, got {args.output.name}")
    engine = _engine(args)
    try:
        result = run_backtest(engine, months, config, progress=_progress)
        baseline = (
            run_backtest(engine, months, production, progress=_progress) if production else None
        )
    finally:
        engine.close()
    print(f"Backtest {months[0]}..{months[-1]} against {result.truth}, config {config.version}")
    print(format_table(result.metrics))
    print("\nRecall by fraud scenario")
    print(format_table(result.by_scenario.reset_index()))
    print("\nFlagged transactions shared by two rules")
    print(format_table(result.overlap.reset_index()))
    tables = {
        "metrics": result.metrics,
        "per_month": result.per_month,
        "by_scenario": result.by_scenario.reset_index(),
        "overlap": result.overlap.reset_index(),
    }
    if baseline is not None:
        delta = compare(result, baseline)
        print(f"\n{config.version} against {production.version}")
        print(format_table(delta))
        tables["comparison"] = delta
    if args.output:
        write_tables(args.output, tables)
        print(f"wrote {args.output}")


def cmd_rules(args: argparse.Namespace) -> None:
    from fraudlib.config import load_config
    from fraudlib.rules import RULES, get_rule

    if args.sql:
        print(get_rule(args.sql).sql_text(), end="")
        return
    config = load_config(args.config)
    print(f"rules config {config.version}; block at puntaje >= {config.block_at}")
    for rule in RULES:
        settings = config.rules[rule.name]
        state = "enabled" if settings.enabled else "disabled"
        print(f"\n{rule.name} v{rule.version} ({state}, weight {settings.weight})")
        print(f"  {rule.description}")
        for param in rule.params:
            print(f"  - {param.name} = {settings.params[param.name]!r} ({param.kind}): {param.doc}")
        needs = [*rule.columns, *rule.tables]
        print(f"  needs: {', '.join(needs)}; lookback: {rule.lookback_months} month(s)")


def cmd_ddl(args: argparse.Namespace) -> None:
    from fraudlib.ddl import athena_ddl

    print(athena_ddl(args.database, args.data_uri, args.alerts_uri))


def format_table(frame: pd.DataFrame) -> str:
    """A plain text table with thousands separators, for terminal summaries."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            if value != value:  # NaN: nothing to divide by
                return "-"
            return f"{value:,.2f}" if abs(value) >= 10 or value == 0 else f"{value:.3f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    rows = [[str(c) for c in frame.columns]]
    rows += [[cell(v) for v in record] for record in frame.astype(object).itertuples(index=False)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except FraudlibError as error:
        print(f"fraud {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"fraud {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
