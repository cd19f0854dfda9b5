"""ledgerline: summarize bank statement exports by category and month."""

from ledgerline.parse import Entry, parse_amount, read_statement
from ledgerline.report import format_report, summarize

__all__ = ["Entry", "format_report", "parse_amount", "read_statement", "summarize"]
__version__ = "0.3.0"
