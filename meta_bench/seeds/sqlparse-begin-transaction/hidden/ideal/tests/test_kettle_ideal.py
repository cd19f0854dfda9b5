"""Ideal control for sqlparse-begin-transaction, written from the user's words only.

Public API only (sqlparse.split). A script that opens a transaction with BEGIN TRANSACTION
(same line or not, any case, LF or CRLF) splits into its statements; a plain BEGIN; keeps
working; real BEGIN ... END blocks stay one statement.
"""

import pytest
import sqlparse

BODY = [
    "UPDATE accounts SET balance = balance - 10 WHERE id = 1;",
    "UPDATE accounts SET balance = balance + 10 WHERE id = 2;",
    "COMMIT;",
]


def test_the_reported_migration_splits_into_four_statements() -> None:
    sql = "BEGIN TRANSACTION;\n" + "\n".join(BODY) + "\n"
    assert sqlparse.split(sql) == ["BEGIN TRANSACTION;", *BODY]


@pytest.mark.parametrize(
    "opening",
    ["BEGIN\nTRANSACTION;", "BEGIN\n    TRANSACTION;", "BEGIN\n\tTRANSACTION;",
     "BEGIN\n\nTRANSACTION;", "BEGIN \nTRANSACTION;"],
)
def test_begin_and_transaction_on_separate_lines(opening: str) -> None:
    sql = opening + "\n" + "\n".join(BODY) + "\n"
    assert sqlparse.split(sql) == [opening, *BODY]


def test_windows_line_endings() -> None:
    for opening in ("BEGIN TRANSACTION;", "BEGIN\r\nTRANSACTION;", "BEGIN\r\n    TRANSACTION;"):
        sql = opening + "\r\n" + "\r\n".join(BODY) + "\r\n"
        assert sqlparse.split(sql) == [opening, *BODY]


@pytest.mark.parametrize(
    "opening", ["begin transaction;", "Begin Transaction;", "begin\ntransaction;", "BEGIN transaction;"]
)
def test_lowercase_migrations(opening: str) -> None:
    body = [statement.lower() for statement in BODY]
    sql = opening + "\n" + "\n".join(body) + "\n"
    assert sqlparse.split(sql) == [opening, *body]


def test_a_plain_begin_still_works() -> None:
    sql = "BEGIN;\n" + "\n".join(BODY) + "\n"
    assert sqlparse.split(sql) == ["BEGIN;", *BODY]


def test_two_transactions_in_one_file() -> None:
    sql = "BEGIN TRANSACTION;\nUPDATE a SET x = 1;\nCOMMIT;\nBEGIN\nTRANSACTION;\nUPDATE b SET y = 2;\nCOMMIT;\n"
    assert sqlparse.split(sql) == [
        "BEGIN TRANSACTION;", "UPDATE a SET x = 1;", "COMMIT;",
        "BEGIN\nTRANSACTION;", "UPDATE b SET y = 2;", "COMMIT;",
    ]


BLOCKS = {
    "procedure": "CREATE PROCEDURE p()\nBEGIN\n  UPDATE a SET x = 1;\n  UPDATE b SET y = 2;\nEND;",
    "function": "CREATE FUNCTION f() RETURNS INT\nBEGIN\n  DECLARE a INT;\n  SET a = 1;\n  RETURN a;\nEND;",
    "procedure with its own transaction":
        "CREATE PROCEDURE transfer()\nBEGIN\n  START TRANSACTION;\n  UPDATE a SET x = 1;\n  COMMIT;\nEND;",
    "anonymous block": "BEGIN\n  UPDATE a SET x = 1;\n  UPDATE b SET y = 2;\nEND;",
    "anonymous block on one line": "BEGIN UPDATE a SET x = 1; UPDATE b SET y = 2; END;",
    "lowercase anonymous block": "begin\n  update a set x = 1;\n  update b set y = 2;\nend;",
    "trigger": "CREATE TRIGGER tr AFTER INSERT ON a\nBEGIN\n  UPDATE b SET n = n + 1;\nEND;",
}


@pytest.mark.parametrize("block", BLOCKS.values(), ids=BLOCKS.keys())
def test_real_begin_end_blocks_stay_together(block: str) -> None:
    assert sqlparse.split(block + "\nSELECT 1;\n") == [block, "SELECT 1;"]


def test_a_function_block_inside_a_query_stays_together() -> None:
    sql = ("WITH\nFUNCTION meaning_of_life()\n  RETURNS tinyint\n  BEGIN\n"
           "    DECLARE a tinyint DEFAULT 6;\n    RETURN a * 7;\n  END\nSELECT meaning_of_life();")
    assert sqlparse.split(sql) == [sql]
