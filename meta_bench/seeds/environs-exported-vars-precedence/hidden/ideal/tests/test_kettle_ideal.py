"""Outcome tests written from the user's words (public API only: Env, FileAwareEnv, read_env)."""

import os

import pytest

import environs


@pytest.fixture(autouse=True)
def restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def dotenv_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "KETTLE_DATABASE_URL=postgres://localhost/dev\n"
        "KETTLE_PORT=8000\n"
        "KETTLE_LOG_LEVEL=debug\n"
    )
    return path


def make_env(cls=environs.Env, **kwargs):
    return cls(**kwargs)


def test_exported_variable_wins_over_dotenv(dotenv_file, monkeypatch):
    monkeypatch.setenv("KETTLE_DATABASE_URL", "postgres://db.prod/app")
    monkeypatch.setenv("KETTLE_PORT", "9000")
    env = make_env()
    env.read_env(dotenv_file)
    assert env.str("KETTLE_DATABASE_URL") == "postgres://db.prod/app"
    assert env.int("KETTLE_PORT") == 9000
    assert env("KETTLE_DATABASE_URL") == "postgres://db.prod/app"


def test_not_exported_comes_from_dotenv(dotenv_file, monkeypatch):
    monkeypatch.setenv("KETTLE_DATABASE_URL", "postgres://db.prod/app")
    monkeypatch.delenv("KETTLE_LOG_LEVEL", raising=False)
    monkeypatch.delenv("KETTLE_PORT", raising=False)
    env = make_env()
    env.read_env(dotenv_file)
    assert env.str("KETTLE_LOG_LEVEL") == "debug"
    assert env.int("KETTLE_PORT") == 8000


def test_read_env_found_by_search_from_cwd(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("KETTLE_DATABASE_URL=postgres://localhost/dev\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KETTLE_DATABASE_URL", "postgres://db.prod/app")
    env = make_env()
    env.read_env(".env")
    assert env.str("KETTLE_DATABASE_URL") == "postgres://db.prod/app"


def test_variable_set_after_read_env_wins(dotenv_file, monkeypatch):
    monkeypatch.delenv("KETTLE_DATABASE_URL", raising=False)
    env = make_env()
    env.read_env(dotenv_file)  # at import time
    monkeypatch.setenv("KETTLE_DATABASE_URL", "postgres://test-db/app")  # in a fixture
    assert env.str("KETTLE_DATABASE_URL") == "postgres://test-db/app"


def test_module_level_env_instance(dotenv_file, monkeypatch):
    monkeypatch.setenv("KETTLE_PORT", "9001")
    environs.env.read_env(dotenv_file)
    assert environs.env.int("KETTLE_PORT") == 9001


@pytest.fixture
def secrets(tmp_path):
    prod = tmp_path / "db_password"
    prod.write_text("prod-secret")
    dev = tmp_path / "dev_password"
    dev.write_text("dev-secret")
    dotenv = tmp_path / "secrets.env"
    dotenv.write_text(f"KETTLE_DB_PASSWORD_FILE={dev}\n")
    return prod, dev, dotenv


def test_file_aware_exported_file_variable_wins(secrets, monkeypatch):
    prod, _, dotenv = secrets
    monkeypatch.setenv("KETTLE_DB_PASSWORD_FILE", str(prod))
    env = make_env(environs.FileAwareEnv)
    env.read_env(dotenv)
    assert env.str("KETTLE_DB_PASSWORD") == "prod-secret"


def test_file_aware_exported_after_read_env_wins(secrets, monkeypatch):
    prod, _, dotenv = secrets
    monkeypatch.delenv("KETTLE_DB_PASSWORD_FILE", raising=False)
    env = make_env(environs.FileAwareEnv)
    env.read_env(dotenv)
    monkeypatch.setenv("KETTLE_DB_PASSWORD_FILE", str(prod))
    assert env.str("KETTLE_DB_PASSWORD") == "prod-secret"


def test_file_aware_dotenv_used_when_not_exported(secrets, monkeypatch):
    _, _, dotenv = secrets
    monkeypatch.delenv("KETTLE_DB_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("KETTLE_DB_PASSWORD", raising=False)
    env = make_env(environs.FileAwareEnv)
    env.read_env(dotenv)
    assert env.str("KETTLE_DB_PASSWORD") == "dev-secret"


def test_file_aware_plain_exported_variable_wins_over_dotenv(tmp_path, monkeypatch):
    dotenv = tmp_path / "plain.env"
    dotenv.write_text("KETTLE_DATABASE_URL=postgres://localhost/dev\n")
    monkeypatch.setenv("KETTLE_DATABASE_URL", "postgres://db.prod/app")
    monkeypatch.delenv("KETTLE_DATABASE_URL_FILE", raising=False)
    env = make_env(environs.FileAwareEnv)
    env.read_env(dotenv)
    assert env.str("KETTLE_DATABASE_URL") == "postgres://db.prod/app"
