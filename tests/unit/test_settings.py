"""Settings come from the environment, with defaults a fresh machine can use."""

from __future__ import annotations

import pytest

from harness.settings import Settings


def test_runs_clean_up_after_crashed_runs_unless_told_not_to() -> None:
    assert Settings.from_env({}).reap_at_start is True


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("no", False), ("1", True)])
def test_kettle_reap_at_start_switches_the_start_up_cleanup(value: str, expected: bool) -> None:
    assert Settings.from_env({"KETTLE_REAP_AT_START": value}).reap_at_start is expected


def test_a_ca_bundle_is_taken_only_when_the_file_exists(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    assert Settings.from_env({"SSL_CERT_FILE": str(bundle)}).ca_bundle is None
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert Settings.from_env({"SSL_CERT_FILE": str(bundle)}).ca_bundle == bundle
