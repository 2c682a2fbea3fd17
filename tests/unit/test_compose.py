"""docker-compose.yml and the image agree with the settings, the CLI and each other.

Static checks only (this machine has no Docker engine): names, ports, URLs, ordering, volumes.
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from infra.cli import COMMANDS
from infra.local import kafka as kafka_local
from infra.settings import ENV_NAMES, ROOT, Settings, load_settings

COMPOSE = ROOT / "docker-compose.yml"
APPS = ("migrate", "api", "relay", "projector", "bulk", "webhooks", "alerts")
LONG_RUNNING = ("api", "relay", "projector", "bulk", "webhooks", "alerts")
INFRA = ("postgres", "redis", "kafka", "clickhouse")
IMAGES = {
    "postgres": "postgres:15",
    "redis": "redis:7",
    "kafka": "apache/kafka:4.4.0",
    "clickhouse": "clickhouse/clickhouse-server:24.8",
}
# Ports the images listen on inside the compose network (Kafka's come from its listener settings).
CONTAINER_PORTS = {"postgres": 5432, "redis": 6379, "clickhouse": 8123}
# Where each image keeps its data (Kafka's is KAFKA_LOG_DIRS).
DATA_DIRS = {"postgres": "/var/lib/postgresql/data", "redis": "/data", "clickhouse": "/var/lib/clickhouse"}
# Long-running process -> (settings field of its health port, health path).
HEALTH = {"api": ("port", "/health/ready"), "relay": ("relay_port", "/health"),
          "projector": ("projector_port", "/health"), "bulk": ("bulk_port", "/health"),
          "webhooks": ("webhook_port", "/health"), "alerts": ("alerts_port", "/health")}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?P<op>:?[?-])?(?P<arg>[^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def interpolate(value: str) -> str:
    """Resolve compose's ${VAR:?err} / ${VAR:-default} the way `docker compose` would with VAR set.

    A bare ${VAR} is refused: compose silently makes it empty when VAR is unset."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        assert op is not None, f"${{{name}}} needs a default (:-) or an error (:?) when unset"
        # What an operator would supply: long enough for secrets that production requires.
        return arg if op.endswith("-") else f"compose-test-{name.lower()}-{'s' * 24}"

    return _INTERPOLATION.sub(one, value)


def raw_env(services: dict[str, Any], service: str) -> dict[str, Any]:
    env = services[service].get("environment", {})
    assert isinstance(env, dict), f"{service}: environment must be a mapping"
    return env


def app_env(services: dict[str, Any], service: str) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in raw_env(services, service).items()}


def published(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) for each published port, short or long syntax."""
    out = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if "published" in entry:
                out.append((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:  # "host:container" or "ip:host:container"
            out.append((int(parts[-2]), int(parts[-1])))
    return out


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """'PLAINTEXT://kafka:9092,EXTERNAL://:59092' -> {'PLAINTEXT': ('kafka', 9092), ...}"""
    out = {}
    for item in value.split(","):
        name, address = item.strip().split("://")
        host, port = address.rsplit(":", 1)
        out[name] = (host, int(port))
    return out


def kafka_internal_address(services: dict[str, Any]) -> tuple[str, int]:
    env = raw_env(services, "kafka")
    internal = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    return listeners(env["KAFKA_ADVERTISED_LISTENERS"])[internal]


def named_volume_at(compose: dict[str, Any], service: str, target: str) -> str | None:
    for mount in compose["services"][service].get("volumes", []):
        source, _, rest = str(mount).partition(":")
        if rest.split(":")[0] == target and source in (compose.get("volumes") or {}):
            return source
    return None


@cache
def dockerfile_instructions(path: Path) -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, args = line.partition(" ")
            out.append((word.upper(), args.strip()))
    return tuple(out)


def dockerfile_path(services: dict[str, Any], service: str) -> Path:
    build = services[service]["build"]
    return ROOT / build["context"] / build.get("dockerfile", "Dockerfile")


# --- environment -------------------------------------------------------------------------------


def test_app_services_share_one_environment(services: dict[str, Any]) -> None:
    first = raw_env(services, APPS[0])
    for service in APPS[1:]:
        assert raw_env(services, service) == first, f"{service} differs from {APPS[0]}"


@pytest.mark.parametrize("service", APPS)
def test_app_environment_names_are_settings(services: dict[str, Any], service: str) -> None:
    unknown = set(raw_env(services, service)) - set(ENV_NAMES)
    assert not unknown, f"{service}: not in infra.settings.ENV_NAMES: {sorted(unknown)}"


@pytest.mark.parametrize("service", APPS)
def test_app_environment_values_parse_as_settings(services: dict[str, Any], service: str) -> None:
    for name, value in raw_env(services, service).items():
        # YAML would turn yes/no/on/off/true into booleans and ~ into null: quote such values.
        assert type(value) in {str, int}, f"{name}: {value!r}"
    settings = load_settings(app_env(services, service))
    assert settings.env == "production"
    assert settings.host == "0.0.0.0"


def test_admin_token_must_be_supplied(services: dict[str, Any]) -> None:
    value = raw_env(services, "api")["CHRONICLE_ADMIN_TOKEN"]
    assert value.startswith("${CHRONICLE_ADMIN_TOKEN:?"), "the admin token must not have a default"
    assert load_settings(app_env(services, "api")).admin_token == (
        f"compose-test-chronicle_admin_token-{'s' * 24}")


@pytest.mark.parametrize("service", APPS)
def test_app_urls_point_at_compose_services_on_their_container_ports(
        services: dict[str, Any], service: str) -> None:
    settings = load_settings(app_env(services, service))
    database, redis, clickhouse = (urlparse(u) for u in (
        settings.database_url, settings.redis_url, settings.clickhouse_url))
    assert database.scheme in {"postgresql", "postgres"}
    assert redis.scheme == "redis"
    assert clickhouse.scheme == "http"
    assert clickhouse.path.strip("/") == raw_env(services, "clickhouse")["CLICKHOUSE_DB"]
    assert database.path.strip("/") == raw_env(services, "postgres")["POSTGRES_DB"]
    targets = {
        "postgres": (database.hostname, database.port),
        "redis": (redis.hostname, redis.port),
        "clickhouse": (clickhouse.hostname, clickhouse.port),
    }
    for name, (host, port) in targets.items():
        assert host == name, f"{name}: URL host {host!r} is not the compose service"
        assert port == CONTAINER_PORTS[name], f"{name}: URL port {port} is not the container port"
    brokers = settings.kafka_bootstrap_servers.split(",")
    assert brokers == [":".join(map(str, kafka_internal_address(services)))]


# --- kafka -------------------------------------------------------------------------------------


def test_kafka_is_one_kraft_node_with_an_internal_and_an_external_listener(
        compose: dict[str, Any], services: dict[str, Any]) -> None:
    env = {k: str(v) for k, v in raw_env(services, "kafka").items()}
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]

    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:{bound[controller][1]}"
    assert set(bound) <= set(protocols)
    assert set(bound) == {*advertised, controller}, "every listener but the controller is advertised"
    for name, (_host, port) in advertised.items():
        assert bound[name][1] == port, f"{name} is advertised on another port than it listens on"
    assert advertised[env["KAFKA_INTER_BROKER_LISTENER_NAME"]][0] == "kafka"
    assert advertised["EXTERNAL"][0] in LOOPBACK
    for name in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                 "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[name] == "1", name
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from `chronicle migrate`"
    assert named_volume_at(compose, "kafka", env["KAFKA_LOG_DIRS"]), "KAFKA_LOG_DIRS is not on a volume"


def test_the_compose_broker_takes_the_local_brokers_settings(services: dict[str, Any]) -> None:
    env = {k: str(v) for k, v in raw_env(services, "kafka").items()}
    for name, value in kafka_local.SHARED.items():
        variable = "KAFKA_" + name.upper().replace(".", "_")
        assert env.get(variable) == value, f"{variable} should be {value!r} as in infra/local/kafka.py"


def test_the_compose_broker_runs_the_kafka_version_the_local_one_is_assembled_from(
        services: dict[str, Any]) -> None:
    pom = ET.parse(kafka_local.POM).getroot()
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = pom.findtext("m:properties/m:kafka.version", namespaces=namespace)
    assert services["kafka"]["image"] == f"apache/kafka:{version}"


# --- published ports ---------------------------------------------------------------------------


def test_infrastructure_is_published_on_the_local_default_ports(services: dict[str, Any]) -> None:
    defaults = Settings()
    kafka_host, kafka_port = defaults.kafka_bootstrap_servers.rsplit(":", 1)
    kafka_env = raw_env(services, "kafka")
    external = listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"])["EXTERNAL"]
    expected = {  # service -> (host port from the local default URL, container port)
        "postgres": (urlparse(defaults.database_url).port, CONTAINER_PORTS["postgres"]),
        "redis": (urlparse(defaults.redis_url).port, CONTAINER_PORTS["redis"]),
        "clickhouse": (urlparse(defaults.clickhouse_url).port, CONTAINER_PORTS["clickhouse"]),
        "kafka": (int(kafka_port), listeners(kafka_env["KAFKA_LISTENERS"])["EXTERNAL"][1]),
    }
    for name, pair in expected.items():
        assert published(services[name]) == [pair], f"{name}: publish {pair[0]}:{pair[1]}"
    assert kafka_host in LOOPBACK
    assert external[1] == int(kafka_port), "clients on the host are sent to the advertised port"


def test_the_api_is_published_on_its_port(services: dict[str, Any]) -> None:
    port = load_settings(app_env(services, "api")).port
    assert published(services["api"]) == [(port, port)]
    for service in ("migrate", "relay", "projector", "bulk"):
        assert not published(services[service]), service


# --- processes, order, health ------------------------------------------------------------------


def test_every_app_runs_a_real_chronicle_subcommand(services: dict[str, Any]) -> None:
    commands = {}
    for service in APPS:
        command = services[service]["command"]
        assert isinstance(command, list), f"{service}: use the list form"
        assert command[0] in COMMANDS, f"{service}: `chronicle {command[0]}` does not exist"
        commands[service] = command[0]
    assert commands == {s: s for s in APPS}


def test_migrate_runs_to_completion_before_the_other_apps(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate.get("restart") == "no", "a one-shot must not be restarted"
    for name in ("postgres", "kafka", "clickhouse"):
        assert migrate["depends_on"][name] == {"condition": "service_healthy"}, name
    for service in LONG_RUNNING:
        depends = services[service]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, service
        for name, rule in depends.items():
            assert name in services, f"{service} depends on an unknown service {name}"
            if name != "migrate":
                assert rule == {"condition": "service_healthy"}, f"{service} -> {name}"


def test_every_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    assert set(services) == {*INFRA, *APPS}
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_app_healthchecks_probe_the_process_health_endpoint(services: dict[str, Any], service: str) -> None:
    test = " ".join(services[service]["healthcheck"]["test"])
    assert "urllib.request" in test
    urls = re.findall(r"https?://[^'\"\s]+", test)
    assert len(urls) == 1, test
    url = urlparse(urls[0])
    field, path = HEALTH[service]
    assert url.hostname in LOOPBACK
    assert url.port == getattr(load_settings(app_env(services, service)), field), f"{service}: port"
    assert url.path == path


# --- images and data ---------------------------------------------------------------------------


def test_infrastructure_images_are_pinned(services: dict[str, Any]) -> None:
    for name, image in IMAGES.items():
        assert services[name]["image"] == image, name


def test_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    for name, target in DATA_DIRS.items():
        assert named_volume_at(compose, name, target), f"{name}: no named volume at {target}"


def test_apps_are_built_from_the_project_dockerfile(services: dict[str, Any]) -> None:
    for service in APPS:
        assert services[service]["build"]["context"] == ".", service
        assert dockerfile_path(services, service) == ROOT / "infra" / "docker" / "Dockerfile"
    assert dockerfile_path(services, "api").is_file()


def test_the_dockerfile_installs_the_project_and_runs_chronicle(services: dict[str, Any]) -> None:
    path = dockerfile_path(services, "api")
    steps = dockerfile_instructions(path)
    args = {word: [a for w, a in steps if w == word] for word, _ in steps}

    assert args["FROM"] == ["python:3.11-slim"]
    installs = [run for run in args["RUN"] if re.search(r"\bpip install\b[^&;]*\s\.(\s|$)", run)]
    assert installs, "the project is installed with `pip install .`"
    assert "[local]" not in path.read_text(), "the `local` extra is for running without Docker"
    assert args["USER"], "the image must not run as root"
    assert args["USER"][-1] not in {"root", "0"}
    assert json.loads(args["ENTRYPOINT"][-1]) == ["chronicle"]
    assert json.loads(args["CMD"][-1])[0] in COMMANDS

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {source for a in args["COPY"] for source in a.split()[:-1]}
    missing = {*packages, "pyproject.toml"} - copied
    assert not missing, f"not copied into the image: {sorted(missing)}"

    ignore = path.with_name(path.name + ".dockerignore")
    ignored = {line.strip().strip("/") for line in ignore.read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert not ({*packages, "pyproject.toml"} & ignored), "the build context must keep the sources"
