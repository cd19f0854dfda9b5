"""Command line: ledgerline STATEMENT.csv [--rules RULES] [--since YYYY-MM]"""

from __future__ import annotations

import argparse
from pathlib import Path

from ledgerline.categories import categorizer, load_rules
from ledgerline.parse import read_statement
from ledgerline.report import format_report, summarize


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledgerline", description="Summarize a bank statement export."
    )
    parser.add_argument("statement", type=Path, help="CSV export: date,description,amount")
    parser.add_argument("--rules", type=Path, help="file of 'pattern = category' lines")
    parser.add_argument("--since", metavar="YYYY-MM", help="leave out earlier months")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with args.statement.open(newline="", encoding="utf-8") as handle:
        entries = read_statement(handle)
    if args.since:
        entries = [entry for entry in entries if entry.day.strftime("%Y-%m") >= args.since]
    categorize = None
    if args.rules:
        categorize = categorizer(load_rules(args.rules.read_text(encoding="utf-8")))
    print(format_report(summarize(entries, categorize)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
