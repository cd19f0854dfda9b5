"""Materializing seeds: a local repository with the start and upstream fix commits, the fix
split into its source and test parts, cached, and clear errors when a download fails."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.settings import Settings
from meta_bench.materialize import (
    MaterializeError,
    download_release,
    materialize,
    reference_repo,
)
from meta_bench.records import Intent, RepoSource, Seed
from meta_bench.seed_format import load_seed

SEEDS = Path(__file__).resolve().parents[2] / "meta_bench" / "seeds"


def git(repo: str | Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={repo}" if str(repo).endswith(".git") else f"--git-dir={repo}/.git",
         *args], capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "kettle-home")


def test_an_example_seed_gives_its_start_and_fix_commits_and_the_split_fix(
    settings: Settings,
) -> None:
    seed = load_seed(SEEDS / "timebox-compound-durations")
    found = materialize(seed, settings)
    assert found.builder_repo == found.repo
    assert git(found.repo, "log", "-1", "--format=%s", found.fix_commit).startswith(
        "Accept durations with several units"
    )
    assert git(found.repo, "rev-parse", f"{found.fix_commit}~1") == found.start_commit
    assert found.source_paths == ["README.md", "src/timebox/duration.py"]
    assert found.test_paths == ["tests/test_duration.py"]
    assert "b/src/timebox/duration.py" in found.source_diff
    assert "tests/" not in found.source_diff and "b/tests/test_duration.py" in found.test_diff
    assert "def test_" in found.upstream_tests()["tests/test_duration.py"]


def test_materializing_twice_reuses_the_cached_result(settings: Settings) -> None:
    seed = load_seed(SEEDS / "pagewise-last-page")
    first = materialize(seed, settings)
    (Path(first.folder) / "marker").write_text("kept")
    second = materialize(seed, settings)
    assert second == first and (Path(second.folder) / "marker").is_file()


def test_intent_only_builders_get_a_history_that_ends_at_the_start(settings: Settings) -> None:
    seed = load_seed(SEEDS / "timebox-compound-durations").model_copy(
        update={"visibility": "intent_only"}
    )
    found = materialize(seed, settings)
    assert found.builder_repo != found.repo
    assert git(found.builder_repo, "rev-parse", "main") == found.start_commit
    objects = git(found.builder_repo, "rev-list", "--all")
    assert found.fix_commit not in objects and found.start_commit in objects


def sdist(path: Path, top: str, files: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as bundle:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))


def pypi_seed() -> Seed:
    return Seed(
        id="tiny-fix",
        title="tiny",
        language="python",
        license="MIT",
        source=RepoSource(
            kind="pypi",
            package="tiny",
            start_version="1.0",
            fix_version="1.1",
            fix_paths=["tiny/core.py", "tests/test_core.py"],
        ),
        intent=Intent(first_prompt="double() is wrong"),
        upstream_test_paths=["tests/test_core.py"],
    )


def test_a_pypi_seed_is_the_start_release_plus_the_fix_paths_of_the_fix_release(
    settings: Settings,
) -> None:
    downloads = settings.home / "meta_bench" / "downloads" / "pypi"
    sdist(
        downloads / "tiny-1.0" / "tiny-1.0.tar.gz",
        "tiny-1.0",
        {
            "PKG-INFO": "Version: 1.0\n",
            "tiny/core.py": "def double(x):\n    return x + x + 1\n",
            "tests/test_core.py": "def test_one():\n    assert True\n",
        },
    )
    sdist(
        downloads / "tiny-1.1" / "tiny-1.1.tar.gz",
        "tiny-1.1",
        {
            "PKG-INFO": "Version: 1.1\n",
            "tiny/core.py": "def double(x):\n    return 2 * x\n",
            "tests/test_core.py": "from tiny.core import double\n\n\ndef test_double():\n"
            "    assert double(2) == 4\n",
            "tiny/unrelated.py": "NEW = 1\n",
        },
    )
    found = materialize(pypi_seed(), settings)
    changed = git(found.repo, "diff", "--name-only", found.start_commit, found.fix_commit)
    assert changed.split() == ["tests/test_core.py", "tiny/core.py"]
    assert git(found.repo, "show", f"{found.fix_commit}:PKG-INFO") == "Version: 1.0"
    assert found.source_paths == ["tiny/core.py"] and "+    return 2 * x" in found.source_diff
    assert found.upstream_url == "pypi:tiny@1.1"
    reference = reference_repo(found, settings)
    assert git(reference, "show", "HEAD:tiny/core.py").endswith("return 2 * x")
    assert git(reference, "diff", "--name-only", "HEAD~1", "HEAD").split() == [
        "tests/test_core.py",
        "tiny/core.py",
    ]


def test_a_failed_pypi_download_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(MaterializeError) as raised:
        download_release("pypi", "kettle-no-such-package", "1.0", tmp_path)
    message = raised.value.message
    assert message.startswith("cannot download kettle-no-such-package==1.0 from PyPI: ")
    assert "\n" not in message and "No matching distribution" in message


def test_a_failed_npm_download_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    with pytest.raises(MaterializeError) as raised:
        download_release("npm", "kettle-no-such-package", "1.0.0", tmp_path)
    message = raised.value.message
    assert message.startswith("cannot download kettle-no-such-package==1.0.0 from npm: ")
    assert "\n" not in message and "ECONNREFUSED" in message


def test_a_fix_path_in_neither_release_is_named(settings: Settings) -> None:
    downloads = settings.home / "meta_bench" / "downloads" / "pypi"
    for version in ("1.0", "1.1"):
        sdist(downloads / f"tiny-{version}" / f"tiny-{version}.tar.gz", f"tiny-{version}",
              {"tiny/core.py": f"V = '{version}'\n"})  # fmt: skip
    with pytest.raises(MaterializeError, match=r"fix path tests/test_core\.py is in neither"):
        materialize(pypi_seed(), settings)
