import pytest

SAMPLE = """date,description,amount
2025-01-03,Salary ACME Corp,"2,450.00"
2025-01-05,Coffee Corner,-4.50
2025-01-09,Grocer & Sons,-62.15
2025-02-02,Coffee Corner,-3.90
"""


@pytest.fixture
def sample_lines() -> list[str]:
    return SAMPLE.splitlines(keepends=True)
