"""docker-compose.yml agrees with the settings module: names, ports and environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from infra.cli import COMMANDS
from infra.settings import ENV_NAMES, ROOT, Settings, load_settings

APPS = ("migrate", "api", "relay", "projector")
INFRA_PORTS = {"postgres": 5432, "redis": 6379, "kafka": 9092, "clickhouse": 8123}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def app_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    raw = compose["services"][service]["environment"]
    return {k: str(v).replace("${CHRONICLE_ADMIN_TOKEN:?set CHRONICLE_ADMIN_TOKEN}", "token")
            for k, v in raw.items()}


def published(compose: dict[str, Any], service: str) -> dict[int, int]:
    """container port -> host port."""
    pairs = (p.split(":") for p in compose["services"][service].get("ports", []))
    return {int(container): int(host) for host, container in pairs}


@pytest.mark.parametrize("service", APPS)
def test_app_services_use_only_known_settings_and_valid_values(compose: dict[str, Any],
                                                                service: str) -> None:
    env = app_env(compose, service)
    assert set(env) <= set(ENV_NAMES), set(env) - set(ENV_NAMES)
    settings = load_settings(env)
    assert settings.admin_token == "token"


@pytest.mark.parametrize("service", APPS)
def test_app_urls_point_at_compose_services_on_their_container_ports(
        compose: dict[str, Any], service: str) -> None:
    settings = load_settings(app_env(compose, service))
    targets = {
        "postgres": urlparse(settings.database_url),
        "redis": urlparse(settings.redis_url),
        "kafka": urlparse(f"kafka://{settings.kafka_bootstrap_servers}"),
        "clickhouse": urlparse(settings.clickhouse_url),
    }
    for name, url in targets.items():
        assert url.hostname == name
        assert name in compose["services"]
        assert url.port == INFRA_PORTS[name], f"{name} port"


def test_infrastructure_is_published_on_the_local_default_ports(compose: dict[str, Any]) -> None:
    defaults = Settings()
    expected = {
        "postgres": urlparse(defaults.database_url).port,
        "redis": urlparse(defaults.redis_url).port,
        "kafka": int(defaults.kafka_bootstrap_servers.rsplit(":", 1)[1]),
        "clickhouse": urlparse(defaults.clickhouse_url).port,
    }
    for name, port in expected.items():
        assert port in published(compose, name).values(), name
    kafka_env = compose["services"]["kafka"]["environment"]
    assert f"EXTERNAL://localhost:{expected['kafka']}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]


def test_the_api_is_published_on_its_port(compose: dict[str, Any]) -> None:
    port = load_settings(app_env(compose, "api")).port
    assert published(compose, "api") == {port: port}


def test_every_app_runs_a_real_chronicle_command_after_migrate(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for service in APPS:
        assert services[service]["command"][0] in COMMANDS
        assert "healthcheck" in services[service]
    for service in ("api", "relay", "projector"):
        assert services[service]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}


def test_every_service_has_a_healthcheck_and_the_dockerfile_exists(
        compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
    dockerfile = compose["services"]["api"]["build"]["dockerfile"]
    assert (ROOT / dockerfile).is_file()
    assert "ENTRYPOINT [\"chronicle\"]" in Path(ROOT / dockerfile).read_text()
