"""The domain's own bounds (domain/limits.py), its origin and rate-limit rules, the request-body
base and the event size check, without services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from api.platform.bodies import Body, PermissionIn, SettingsIn, known_timezones, storable
from commands.runner import Context, EventTooLarge, StreamWrite, check_sizes, envelopes
from domain.envelope import SYSTEM, encode
from domain.errors import InvalidValue
from domain.limits import MAX_PERMISSIONS, MAX_RESOURCE, check_permissions
from domain.organization.decider import valid_origin
from domain.organization.events import OrganizationRenamed
from domain.organization.plans import RateLimit, check_rate_limit
from domain.permissions import ApiPermission, Conditions
from infra.settings import SettingsError, load_settings


@pytest.mark.parametrize(("origin", "valid"), [
    ("https://app.example.com", True), ("http://localhost:3000", True),
    ("https://[::1]:8443", True), ("https://10.0.0.1", True),
    ("https://app.example.com/", False), ("https://a.example/x", False),
    ("https://u:p@a.example", False), ("https://a.example?q", False), ("https://a.example#", False),
    ("ftp://a.example", False), ("https://", False), ("https://a.example:0", False),
    ("https://a.example:65536", False), ("HTTPS://A.EXAMPLE", False), ("https://a_b.example", False),
    ("https://" + "a" * 300 + ".example", False),
])
def test_an_origin_is_a_scheme_a_host_and_an_optional_port_and_nothing_else(
        origin: str, valid: bool) -> None:
    assert valid_origin(origin) is valid


def test_permissions_are_bounded_in_number_and_in_size() -> None:
    one = ApiPermission(resource="users", actions=("read",))
    check_permissions((one,) * MAX_PERMISSIONS, "role_too_many_permissions")
    with pytest.raises(InvalidValue) as many:
        check_permissions((one,) * (MAX_PERMISSIONS + 1), "role_too_many_permissions")
    assert many.value.code == "role_too_many_permissions"
    for big in (ApiPermission(resource="r" * (MAX_RESOURCE + 1), actions=("read",)),
                ApiPermission(resource="users", actions=("read",),
                              conditions=Conditions(filters={"k": "v" * 10_000}))):
        with pytest.raises(InvalidValue) as large:
            check_permissions((big,), "role_too_many_permissions")
        assert large.value.code == "permission_too_large"


@pytest.mark.parametrize("field", RateLimit.__struct_fields__)
@pytest.mark.parametrize("value", [0, -5, 10**12])
def test_every_rate_limit_window_is_positive_and_bounded(field: str, value: int) -> None:
    limit = RateLimit(requests_per_second=1, burst_limit=1, requests_per_minute=1,
                      requests_per_hour=1, requests_per_day=1)
    check_rate_limit(limit, "rateLimit")
    with pytest.raises(InvalidValue) as refused:
        check_rate_limit(msgspec.structs.replace(limit, **{field: value}), "rateLimit")
    assert refused.value.code == "rate_limit_out_of_range"


class Sample(Body, frozen=True):
    name: str = ""
    tags: list[str] = []
    meta: dict[str, object] = {}


@pytest.mark.parametrize("body", [
    {"name": "a\u0000"}, {"tags": ["ok", "\u0000"]}, {"meta": {"k\u0000": 1}},
    {"meta": {"k": [{"deep": "\u0000"}]}},
])
def test_the_body_base_refuses_nul_anywhere(body: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError, match="NUL"):
        msgspec.json.decode(msgspec.json.encode(body), type=Sample)


def test_the_body_base_refuses_unpaired_surrogates() -> None:
    with pytest.raises(msgspec.ValidationError, match="surrogates"):
        msgspec.convert({"name": "a\ud800b"}, Sample)


def test_a_nested_input_checks_itself() -> None:
    with pytest.raises(msgspec.ValidationError, match="NUL"):
        msgspec.convert({"resource": "x\u0000", "actions": ["read"]}, PermissionIn)


def test_timezones_are_the_iana_database_s() -> None:
    assert {"UTC", "Asia/Tokyo", "America/Argentina/Buenos_Aires"} <= known_timezones()
    assert msgspec.convert({"timezone": "Asia/Tokyo"}, SettingsIn).timezone == "Asia/Tokyo"
    with pytest.raises(msgspec.ValidationError, match="IANA"):
        msgspec.convert({"timezone": "Mars/Olympus"}, SettingsIn)


def test_an_envelope_over_the_limit_is_refused_and_one_under_passes() -> None:
    ctx = Context(actor=SYSTEM, request_id="r", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    batch = envelopes(ctx, [StreamWrite(uuid.uuid4(), "organization", uuid.uuid4(), 0, [
        OrganizationRenamed(name="n" * 5000, previous_name="")])])
    assert check_sizes(batch, 8192) == [encode(batch[0])]  # the bytes the append may store
    with pytest.raises(EventTooLarge) as refused:
        check_sizes(batch, 4096)
    assert (refused.value.event_type, refused.value.limit) == ("organization.Renamed", 4096)
    assert refused.value.size > 5000


def test_a_header_or_path_value_bound_for_an_event_is_made_storable_and_cut() -> None:
    assert storable("trace\u0000id\ud800", 128) == "trace\ufffdid\ufffd"
    assert storable("x" * 300, 128) == "x" * 128


def test_max_event_bytes_must_stay_well_under_the_topics_message_size() -> None:
    assert load_settings({}).max_event_bytes == 262_144
    assert load_settings({}).kafka_max_message_bytes == 1_048_576
    with pytest.raises(SettingsError, match="MAX_EVENT_BYTES"):
        load_settings({"MAX_EVENT_BYTES": "1048576"})
    with pytest.raises(SettingsError, match="MAX_EVENT_BYTES"):
        load_settings({"MAX_EVENT_BYTES": "0"})
