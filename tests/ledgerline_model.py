"""What a scripted model answers when it builds a task from the ledgerline example session:
the files each role writes (qualification, environment, solution, tests), as keystrokes.

ledgerline (``tools/repos/examples.py``) is a small Python project whose bank-statement
parser reads debits in parentheses, ``(45.00)``, as positive amounts; commit 7 fixes it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.factory_helpers import example_candidates
from tools.repos.examples import example_shas
from tools.sessions.records import Candidate

OUT = "/kettle/out"


def write_file(path: str, content: str) -> str:
    """Keystrokes that write a file with a quoted heredoc, as a model would."""
    return f"mkdir -p $(dirname {path}) && cat > {path} <<'KETTLE_EOF'\n{content}\nKETTLE_EOF\n"


def ledgerline(tmp_path: Path) -> tuple[Candidate, list[str], Path]:
    repos = tmp_path / "repos"
    candidate = example_candidates(repos)["claude_code"]
    return candidate, example_shas(repos / "ledgerline"), repos / "ledgerline"


def changed_files(repo: Path, commit: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "diff-tree", "--no-commit-id", "--name-only", "-r", commit],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.split()


def qualification_json(fix_commit: str, fix_files: list[str]) -> str:
    return json.dumps(
        {
            "verdict": "qualified",
            "task_spirit": "Bank exports write debits as (45.00) or 250.00-; the user wants "
            "them parsed as negative amounts while plain amounts keep working.",
            "fix_commit": fix_commit,
            "license": "MIT",
            "fix_files": fix_files,
            "fix_changes_tests": True,
            "disqualifiers": [],
            "evidence": ["commit 07 changes parse.py and adds tests for both notations"],
            "confidence": 0.9,
        }
    )


DOCKERFILE_BROKEN = """ARG BASE_IMAGE=kettle/base:bookworm
FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install pytest==9.2.0
RUN this-command-does-not-exist
WORKDIR /app
COPY app/ /app/
"""

DOCKERFILE_FIXED = """ARG BASE_IMAGE=kettle/base:bookworm
FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install pytest==9.2.0 setuptools==84.2.1
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY app/ /app/
RUN pip install --no-build-isolation -e /app
"""

# Fails at the start state ((45.00) reads as +45) and passes once the fix is applied.
REPRODUCTION = (
    'python -c "from decimal import Decimal; from ledgerline.parse import parse_amount; '
    "assert parse_amount('(45.00)') == Decimal('-45.00')\""
)


def report(**changes: object) -> str:
    fields: dict[str, object] = {
        "language": "python",
        "workdir": "/app",
        "test_command": "python -m pytest -q",
        "reproduction": REPRODUCTION,
        "dependencies": ["pytest==9.2.0", "setuptools==84.2.1"],
        "obstacles": [{"summary": "no lock file", "resolution": "pinned pytest by hand"}],
    }
    return json.dumps({**fields, **changes})


WEAK_TEST = "#!/bin/bash\nmkdir -p /logs/verifier\necho 1 > /logs/verifier/reward.txt\n"

# Runs hidden copies of the upstream tests (and the conftest they need) from a fresh
# folder outside the project, with positive evidence from JUnit: a nop, a planted conftest,
# pytest.ini, plugin or stub binary cannot make it write 1.
STRONG_TEST = r"""#!/bin/bash
mkdir -p /logs/verifier
echo 0 > /logs/verifier/reward.txt
run=$(mktemp -d /tmp/kettle-verify.XXXXXX)
cp /tests/conftest.py /tests/test_parse.py "$run"/
cd "$run"
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 /opt/venv/bin/python -I -m pytest -c /dev/null \
    -p no:cacheprovider --confcutdir="$run" --rootdir="$run" -q \
    --junitxml=/logs/verifier/junit.xml "$run"/test_parse.py
status=$?
summary=$(grep -o '<testsuite [^>]*>' /logs/verifier/junit.xml 2>/dev/null | head -n 1)
if [ "$status" -eq 0 ] && [[ "$summary" == *' errors="0" failures="0" skipped="0"'* ]] \
    && [[ "$summary" != *'tests="0"'* ]]; then
    echo 1 > /logs/verifier/reward.txt
fi
echo "pytest exit status: $status; junit: $summary"
"""


def ledgerline_fix(repo: Path, shas: list[str]) -> str:
    """solve.sh as the reconstructor writes it: the fix's source changes as a patch."""
    fix_diff = subprocess.run(
        ["git", "-C", str(repo), "diff", shas[4], shas[6], "--", "src"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return f"#!/bin/bash\nset -euo pipefail\ncd /app\npatch -p1 <<'PATCH'\n{fix_diff}PATCH"
