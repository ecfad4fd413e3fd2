from pathlib import Path

import pytest

from config import ConfigError, Settings
from config.accounts import DEMO_APPID

PG = "postgres://clubbot:s3cretpw@db.internal:5432/clubbot"


def test_embedded_default_fills_demo_secrets_and_dry_run() -> None:
    settings = Settings.from_env(_env_file=None)
    assert settings.embedded
    assert settings.wechat_appid == DEMO_APPID
    assert settings.credentials.token and settings.credentials.secret
    assert settings.dry_run is True
    assert "embedded demo" in settings.describe()


def test_production_refuses_missing_secrets_and_names_them() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(_env_file=None, database_url=PG, redis_url="redis://r:6379/0")
    message = str(err.value)
    for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN"):
        assert name in message


def test_production_with_secrets_is_not_dry_run() -> None:
    settings = Settings.from_env(
        _env_file=None,
        database_url=PG,
        redis_url="redis://r:6379/0",
        wechat_appid="wxprod",
        wechat_secret="prod-secret-value",
        wechat_token="prodtoken",
    )
    assert not settings.embedded
    assert settings.dry_run is False


def test_secrets_never_show_in_repr_or_description() -> None:
    settings = Settings.from_env(
        _env_file=None,
        database_url=PG,
        redis_url="redis://:redispw@r:6379/0",
        wechat_appid="wxprod",
        wechat_secret="prod-secret-value",
        wechat_token="prodtoken",
        wechat_aes_key="a" * 43,
    )
    shown = repr(settings) + str(settings) + settings.describe() + repr(settings.credentials)
    for secret in ("prod-secret-value", "prodtoken", "a" * 43, "s3cretpw", "redispw"):
        assert secret not in shown


def test_aes_key_must_be_43_characters() -> None:
    with pytest.raises(ConfigError, match="WECHAT_AES_KEY"):
        Settings.from_env(_env_file=None, wechat_aes_key="short")


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        Settings.from_env(_env_file=None, club_tz="Mars/Olympus")


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WECHAT_APPID=wxfromdotenv\nPORT=9090\n", encoding="utf-8")
    monkeypatch.delenv("WECHAT_APPID", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    settings = Settings.from_env(_env_file=env_file)
    assert settings.wechat_appid == "wxfromdotenv"
    assert settings.port == 9090


def test_environment_variables_use_contract_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_API_BASE", "http://127.0.0.1:9999/")
    monkeypatch.setenv("CLUB_TZ", "Asia/Hong_Kong")
    monkeypatch.setenv("WECHAT_DRY_RUN", "0")
    settings = Settings.from_env(_env_file=None)
    assert settings.wechat_api_base == "http://127.0.0.1:9999"
    assert settings.club_tz == "Asia/Hong_Kong"
    assert settings.dry_run is False


def test_replica_url_is_optional_and_must_be_postgres() -> None:
    assert Settings.from_env(_env_file=None).database_replica_url is None
    assert Settings.from_env(_env_file=None, database_replica_url="").database_replica_url is None
    replica = "postgres://reader:pw@replica.internal:5432/clubbot"
    settings = Settings.from_env(_env_file=None, database_replica_url=replica)
    assert settings.database_replica_url == replica
    assert "pw" not in repr(settings)
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL"):
        Settings.from_env(_env_file=None, database_replica_url="sqlite://copy.sqlite3")


def test_the_redis_prefix_is_a_setting_with_a_checked_shape() -> None:
    base = {"_env_file": None, "database_url": "sqlite://:memory:"}
    assert Settings.from_env(**base).redis_prefix == "clubbot"
    assert Settings.from_env(**base, redis_prefix="shop-2.test").redis_prefix == "shop-2.test"
    for bad in ("", "club:bot", "club*", "-x"):
        with pytest.raises(ConfigError, match="REDIS_PREFIX"):
            Settings.from_env(**base, redis_prefix=bad)


def test_the_queue_visibility_is_twenty_seconds_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"_env_file": None, "database_url": "sqlite://:memory:"}
    assert Settings.from_env(**base).queue_visibility_seconds == 20
    monkeypatch.setenv("QUEUE_VISIBILITY_SECONDS", "8")
    assert Settings.from_env(**base).queue_visibility_seconds == 8
    for bad in ("0", "0.5", "3601", "nan", "inf", "soon"):
        monkeypatch.setenv("QUEUE_VISIBILITY_SECONDS", bad)
        with pytest.raises(ConfigError, match="QUEUE_VISIBILITY_SECONDS"):
            Settings.from_env(**base)
