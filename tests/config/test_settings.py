"""The settings object: documented, validated at start-up, safe by default in production."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from pydantic import AliasChoices, ValidationError

from tend.config.settings import SECRET_KEY_FILE, SettingsError, TendSettings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
STRONG_KEY = "k" * 50


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No TEND_* variable from the outer environment leaks in; the data dir is scratch."""
    for name in list(os.environ):
        if name.startswith("TEND_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("TEND_DATA_DIR", str(data_dir))
    return data_dir


def environment_name(field_name: str) -> str:
    """The variable a field is read from: its first alias, else `TEND_<FIELD>`."""
    alias = TendSettings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    return f"{TendSettings.model_config.get('env_prefix', '')}{field_name}".upper()


def documented_variables() -> set[str]:
    return set(re.findall(r"^\| `([A-Z_]+)` \|", DOCS.read_text(), flags=re.MULTILINE))


@pytest.mark.parametrize("field_name", list(TendSettings.model_fields))
def test_every_setting_is_documented(field_name: str) -> None:
    assert environment_name(field_name) in documented_variables(), (
        f"{environment_name(field_name)} is missing from the table in docs/settings.md"
    )


def test_docs_list_no_setting_that_does_not_exist() -> None:
    known = {environment_name(name) for name in TendSettings.model_fields}
    assert documented_variables() - known == set()


def test_database_url_is_read_without_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://tend@db:5432/tend")
    assert TendSettings(_env_file=None).database_url == "postgres://tend@db:5432/tend"


def production(monkeypatch: pytest.MonkeyPatch, **variables: str) -> TendSettings:
    monkeypatch.setenv("TEND_ENV", "production")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return TendSettings(_env_file=None)


def test_production_starts_when_configured_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = production(
        monkeypatch, TEND_SECRET_KEY=STRONG_KEY, TEND_ALLOWED_HOSTS="tend.example.com"
    )
    assert settings.effective_secret_key() == STRONG_KEY
    assert settings.debug is False


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="TEND_SECRET_KEY"):
        production(monkeypatch, TEND_ALLOWED_HOSTS="tend.example.com")


def test_production_refuses_a_short_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="at least 32 characters"):
        production(monkeypatch, TEND_SECRET_KEY="short", TEND_ALLOWED_HOSTS="tend.example.com")


def test_production_refuses_to_start_without_allowed_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError, match="TEND_ALLOWED_HOSTS"):
        production(monkeypatch, TEND_SECRET_KEY=STRONG_KEY)


def test_production_refuses_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="TEND_DEBUG"):
        production(
            monkeypatch,
            TEND_SECRET_KEY=STRONG_KEY,
            TEND_ALLOWED_HOSTS="tend.example.com",
            TEND_DEBUG="true",
        )


def test_development_secret_key_is_generated_once_and_kept_private(clean_environment: Path) -> None:
    first = TendSettings(_env_file=None).effective_secret_key()
    key_file = clean_environment / SECRET_KEY_FILE

    assert len(first) >= 32
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert TendSettings(_env_file=None).effective_secret_key() == first


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("TEND_PORT", "abc", "port"),
        ("TEND_PORT", "70000", "port"),
        ("TEND_ENV", "staging", "env"),
        ("TEND_DEBUG", "maybe", "debug"),
        ("TEND_REPORTING_CURRENCY", "EURO", "reporting_currency"),
    ],
)
def test_a_bad_value_fails_fast_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        TendSettings(_env_file=None)
    assert [error["loc"] for error in raised.value.errors()] == [(field,)]
    assert field in str(raised.value)


def test_comma_separated_lists_are_split_and_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEND_ALLOWED_HOSTS", "tend.example.com, 10.0.0.5,,")
    monkeypatch.setenv("TEND_CSRF_TRUSTED_ORIGINS", "https://tend.example.com")
    settings = TendSettings(_env_file=None)
    assert settings.allowed_hosts == ["tend.example.com", "10.0.0.5"]
    assert settings.csrf_trusted_origins == ["https://tend.example.com"]


def test_defaults_need_no_environment() -> None:
    settings = TendSettings(_env_file=None)
    assert settings.env == "development"
    assert settings.allowed_hosts == ["127.0.0.1", "localhost"]
    assert settings.csrf_trusted_origins == []
    assert settings.port == 8000
