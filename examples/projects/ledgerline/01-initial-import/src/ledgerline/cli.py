"""Command line: ledgerline STATEMENT.csv"""

from __future__ import annotations

import argparse
from pathlib import Path

from ledgerline.parse import read_statement
from ledgerline.report import format_report, summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ledgerline", description="Summarize a bank statement export."
    )
    parser.add_argument("statement", type=Path, help="CSV export: date,description,amount")
    args = parser.parse_args(argv)
    with args.statement.open(newline="", encoding="utf-8") as handle:
        entries = read_statement(handle)
    print(format_report(summarize(entries)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
