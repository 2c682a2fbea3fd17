"""Given events / when command / then events (or error) specs for the organization decider."""

from __future__ import annotations

from functools import reduce
from typing import Any
from uuid import UUID

import msgspec
import pytest

from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.organization.commands import (
    ChangePlan,
    CreateOrganization,
    DeleteOrganization,
    OrganizationCommand,
    ReactivateOrganization,
    RenameOrganization,
    SetQuotaPolicy,
    SetRateLimit,
    SuspendOrganization,
    UpdateSettings,
)
from domain.organization.decider import DECIDER, INITIAL, Organization, decide, evolve
from domain.organization.events import (
    DataRetention,
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationEvent,
    OrganizationPlanChanged,
    OrganizationQuotaPolicyChanged,
    OrganizationRateLimitChanged,
    OrganizationReactivated,
    OrganizationRenamed,
    OrganizationSettings,
    OrganizationSettingsUpdated,
    OrganizationSuspended,
    RateLimit,
    SecuritySettings,
)
from domain.organization.plans import quota_of
from domain.slug.events import SlugClaimed
from tests.unit.spec import Specification

SETTINGS = OrganizationSettings()
CREATED = OrganizationCreated(name="Acme", slug="acme", plan="free", settings=SETTINGS)
SUSPENDED = OrganizationSuspended(reason="unpaid invoice")
DELETED = OrganizationDeleted(slug="acme")
CREATE = CreateOrganization(name="Acme", slug="acme")
given = Specification(DECIDER).given


def settings(**changes: Any) -> OrganizationSettings:
    security = changes.pop("security", {})
    retention = changes.pop("data_retention", {})
    return OrganizationSettings(security=SecuritySettings(**security),
                                data_retention=DataRetention(**retention), **changes)


def create_with(**changes: Any) -> CreateOrganization:
    return CreateOrganization(**{"name": "Acme", "slug": "acme", **changes})


# Creation


def test_a_new_organization_is_created_active_with_its_name_slug_plan_and_settings() -> None:
    custom = settings(timezone="Europe/Paris", ip_whitelist=("10.0.0.0/8", "2001:db8::/32"))
    command = CreateOrganization(name="Acme", slug="acme", plan="starter", settings=custom)
    given().when(command).then(
        OrganizationCreated(name="Acme", slug="acme", plan="starter", settings=custom))
    state = evolve(INITIAL, decide(command, INITIAL)[0])
    assert state == Organization(status="active", name="Acme", slug="acme", plan="starter",
                                 settings=custom)


def test_the_name_is_stored_without_surrounding_whitespace() -> None:
    given().when(create_with(name="  Acme Corp\n")).then(
        OrganizationCreated(name="Acme Corp", slug="acme", plan="free", settings=SETTINGS))


def test_an_organization_cannot_be_created_twice() -> None:
    given(CREATED).when(CREATE).then_raises(AlreadyExists)


def test_a_deleted_organization_cannot_be_created_again() -> None:
    given(CREATED, DELETED).when(CREATE).then_raises(AlreadyExists)


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 256, " " + "x" * 256])
def test_an_organization_needs_a_name_that_is_not_blank_nor_too_long(name: str) -> None:
    given().when(create_with(name=name)).then_raises(InvalidValue, field="name")


def test_a_name_of_exactly_255_characters_is_accepted() -> None:
    assert len(decide(create_with(name="x" * 255), INITIAL)) == 1


@pytest.mark.parametrize("slug", [
    "", "Acme", "ACME", "-acme", "acme-", "a" * 101, "ac me", "acme_co", "ácme", "acme\n",
])
def test_a_slug_must_be_lowercase_letters_digits_and_inner_hyphens(slug: str) -> None:
    given().when(create_with(slug=slug)).then_raises(InvalidValue, field="slug")


@pytest.mark.parametrize("slug", ["a", "7", "acme-co", "a--b", "a" * 100])
def test_well_formed_slugs_are_accepted(slug: str) -> None:
    assert decide(create_with(slug=slug), INITIAL)[0].slug == slug  # type: ignore[union-attr]


@pytest.mark.parametrize(("whitelist", "field"), [
    (("not-an-ip",), "settings.ipWhitelist[0]"),
    (("10.0.0.0/8", "10.0.0.0/33"), "settings.ipWhitelist[1]"),
    (("10.0.0.0/8", "::1", ""), "settings.ipWhitelist[2]"),
    (("10.0.0.1",) * 101, "settings.ipWhitelist"),
])
def test_a_bad_ip_whitelist_is_rejected_with_the_path_of_the_field(
        whitelist: tuple[str, ...], field: str) -> None:
    given().when(create_with(settings=settings(ip_whitelist=whitelist))).then_raises(
        InvalidValue, field=field)


@pytest.mark.parametrize(("changes", "field"), [
    ({"security": {"session_timeout": 0}}, "settings.security.sessionTimeout"),
    ({"security": {"session_timeout": 43201}}, "settings.security.sessionTimeout"),
    ({"security": {"allowed_origins": ("https://a.example",) * 101}},
     "settings.security.allowedOrigins"),
    ({"security": {"allowed_origins": ("https://a.example/path",)}},
     "settings.security.allowedOrigins[0]"),
    ({"data_retention": {"logs": 0}}, "settings.dataRetention.logs"),
    ({"data_retention": {"analytics": 3651}}, "settings.dataRetention.analytics"),
    ({"data_retention": {"backups": -1}}, "settings.dataRetention.backups"),
    ({"timezone": ""}, "settings.timezone"),
    ({"timezone": "Z" * 65}, "settings.timezone"),
])
def test_out_of_range_settings_are_rejected_with_the_path_of_the_field(
        changes: dict[str, Any], field: str) -> None:
    given().when(create_with(settings=settings(**changes))).then_raises(InvalidValue, field=field)


@pytest.mark.parametrize("changes", [
    {"security": {"session_timeout": 1}},
    {"security": {"session_timeout": 43200}},
    {"data_retention": {"logs": 1, "analytics": 3650, "backups": 3650}},
])
def test_settings_at_the_edges_of_their_ranges_are_accepted(changes: dict[str, Any]) -> None:
    assert len(decide(create_with(settings=settings(**changes)), INITIAL)) == 1


# Changes to a live organization


def test_an_organization_is_renamed_and_the_event_keeps_the_previous_name() -> None:
    given(CREATED).when(RenameOrganization(name=" Acme Corp ")).then(
        OrganizationRenamed(name="Acme Corp", previous_name="Acme"))


def test_renaming_to_the_current_name_produces_no_event() -> None:
    given(CREATED).when(RenameOrganization(name="  Acme ")).then()


def test_a_suspended_organization_can_still_be_renamed() -> None:
    given(CREATED, SUSPENDED).when(RenameOrganization(name="Acme Corp")).then(
        OrganizationRenamed(name="Acme Corp", previous_name="Acme"))


@pytest.mark.parametrize("name", [" ", "x" * 256])
def test_an_organization_cannot_be_renamed_to_a_blank_or_too_long_name(name: str) -> None:
    given(CREATED).when(RenameOrganization(name=name)).then_raises(InvalidValue, field="name")


def test_the_plan_is_changed_and_the_event_keeps_the_previous_plan() -> None:
    given(CREATED).when(ChangePlan(plan="enterprise")).then(
        OrganizationPlanChanged(plan="enterprise", previous_plan="free"))


def test_changing_to_the_current_plan_produces_no_event() -> None:
    given(CREATED, OrganizationPlanChanged(plan="starter", previous_plan="free")).when(
        ChangePlan(plan="starter")).then()


def test_settings_are_updated() -> None:
    new = settings(timezone="Asia/Tokyo", security={"session_timeout": 15})
    given(CREATED).when(UpdateSettings(settings=new)).then(
        OrganizationSettingsUpdated(settings=new))


def test_updating_to_the_current_settings_produces_no_event() -> None:
    given(CREATED).when(UpdateSettings(settings=settings())).then()


def test_invalid_settings_are_rejected_on_update_too() -> None:
    given(CREATED).when(UpdateSettings(settings=settings(ip_whitelist=("::1", "x")))).then_raises(
        InvalidValue, field="settings.ipWhitelist[1]")


# Suspension, reactivation, deletion


def test_an_active_organization_is_suspended_with_a_reason() -> None:
    given(CREATED).when(SuspendOrganization(reason="unpaid invoice")).then(SUSPENDED)


def test_a_suspension_reason_of_exactly_1000_characters_is_accepted() -> None:
    given(CREATED).when(SuspendOrganization(reason="r" * 1000)).then(
        OrganizationSuspended(reason="r" * 1000))


def test_a_suspension_reason_longer_than_1000_characters_is_rejected() -> None:
    given(CREATED).when(SuspendOrganization(reason="r" * 1001)).then_raises(
        InvalidValue, field="reason")


def test_a_suspended_organization_cannot_be_suspended_again() -> None:
    given(CREATED, SUSPENDED).when(SuspendOrganization()).then_raises(InvalidState)


def test_a_suspended_organization_is_reactivated() -> None:
    given(CREATED, SUSPENDED).when(ReactivateOrganization()).then(OrganizationReactivated())


def test_an_active_organization_cannot_be_reactivated() -> None:
    given(CREATED).when(ReactivateOrganization()).then_raises(InvalidState)


def test_a_reactivated_organization_cannot_be_reactivated_again() -> None:
    given(CREATED, SUSPENDED, OrganizationReactivated()).when(
        ReactivateOrganization()).then_raises(InvalidState)


@pytest.mark.parametrize("history", [(CREATED,), (CREATED, SUSPENDED)])
def test_a_live_organization_is_deleted_and_the_event_names_its_slug(
        history: tuple[OrganizationEvent, ...]) -> None:
    given(*history).when(DeleteOrganization()).then(DELETED)


CHANGES: list[OrganizationCommand] = [
    RenameOrganization(name="Other"),
    ChangePlan(plan="starter"),
    UpdateSettings(settings=settings(timezone="Europe/Berlin")),
    SuspendOrganization(),
    ReactivateOrganization(),
    DeleteOrganization(),
    SetRateLimit(rate_limit=None),
    SetQuotaPolicy(quota_policy=None),
]


@pytest.mark.parametrize("command", CHANGES, ids=lambda c: type(c).__name__)
def test_every_change_to_an_absent_organization_is_not_found(
        command: OrganizationCommand) -> None:
    given().when(command).then_raises(NotFound)


@pytest.mark.parametrize("command", CHANGES, ids=lambda c: type(c).__name__)
def test_every_change_to_a_deleted_organization_is_an_invalid_state(
        command: OrganizationCommand) -> None:
    given(CREATED, SUSPENDED, DELETED).when(command).then_raises(InvalidState)


def test_a_deleted_organization_rejects_a_no_op_before_checking_for_no_change() -> None:
    given(CREATED, DELETED).when(RenameOrganization(name="Acme")).then_raises(InvalidState)


# The operator's rate-limit override

ROOMY = RateLimit(requests_per_second=5000, burst_limit=10000, requests_per_minute=300_000,
                  requests_per_hour=10_000_000, requests_per_day=100_000_000)
OVERRIDDEN = OrganizationRateLimitChanged(rate_limit=ROOMY)


def test_an_override_replaces_the_plans_limits_and_remembers_there_was_none() -> None:
    given(CREATED).when(SetRateLimit(rate_limit=ROOMY)).then(
        OrganizationRateLimitChanged(rate_limit=ROOMY, previous_rate_limit=None))
    assert reduce(evolve, [CREATED, OVERRIDDEN], INITIAL).rate_limit == ROOMY


def test_clearing_an_override_goes_back_to_the_plans_limits() -> None:
    given(CREATED, OVERRIDDEN).when(SetRateLimit(rate_limit=None)).then(
        OrganizationRateLimitChanged(rate_limit=None, previous_rate_limit=ROOMY))
    cleared = OrganizationRateLimitChanged(rate_limit=None, previous_rate_limit=ROOMY)
    assert reduce(evolve, [CREATED, OVERRIDDEN, cleared], INITIAL).rate_limit is None


def test_setting_the_same_override_again_records_nothing() -> None:
    given(CREATED, OVERRIDDEN).when(SetRateLimit(rate_limit=ROOMY)).then()
    given(CREATED).when(SetRateLimit(rate_limit=None)).then()


def test_a_suspended_organization_can_still_be_given_an_override() -> None:
    given(CREATED, SUSPENDED).when(SetRateLimit(rate_limit=ROOMY)).then(OVERRIDDEN)


@pytest.mark.parametrize(("field", "value"), [
    ("requests_per_second", 0), ("requests_per_second", -1.5), ("burst_limit", 0),
    ("requests_per_minute", -1), ("requests_per_hour", 0), ("requests_per_day", 0),
    ("requests_per_day", 10**10),
])
def test_every_limit_of_an_override_must_be_positive(field: str, value: float) -> None:
    bad = msgspec.structs.replace(ROOMY, **{field: value})
    camel = "".join(w if i == 0 else w.title() for i, w in enumerate(field.split("_")))
    given(CREATED).when(SetRateLimit(rate_limit=bad)).then_raises(
        InvalidValue, field=f"rateLimit.{camel}")


# The operator's quota-policy override

OVERAGE = OrganizationQuotaPolicyChanged(quota_policy="overage")


def test_a_policy_override_is_recorded_with_the_one_it_replaces() -> None:
    given(CREATED).when(SetQuotaPolicy(quota_policy="overage")).then(OVERAGE)
    given(CREATED, OVERAGE).when(SetQuotaPolicy(quota_policy="block_402")).then(
        OrganizationQuotaPolicyChanged(quota_policy="block_402", previous_quota_policy="overage"))
    assert reduce(evolve, [CREATED, OVERAGE], INITIAL).quota_policy == "overage"


def test_clearing_the_policy_override_goes_back_to_the_plans_and_a_repeat_records_nothing(
        ) -> None:
    cleared = OrganizationQuotaPolicyChanged(quota_policy=None, previous_quota_policy="overage")
    given(CREATED, OVERAGE).when(SetQuotaPolicy(quota_policy=None)).then(cleared)
    assert reduce(evolve, [CREATED, OVERAGE, cleared], INITIAL).quota_policy is None
    given(CREATED, OVERAGE).when(SetQuotaPolicy(quota_policy="overage")).then()
    given(CREATED).when(SetQuotaPolicy(quota_policy=None)).then()


def test_the_policy_override_replaces_only_the_plans_policy_not_its_quotas() -> None:
    plain, over = quota_of("free"), quota_of("free", "block_402")
    assert (plain.over, over.over) == ("block_429", "block_402")
    assert msgspec.structs.replace(over, over="block_429") == plain


# Evolve


def test_replaying_a_history_gives_the_latest_name_plan_settings_and_status() -> None:
    new = settings(timezone="Asia/Tokyo")
    history = [CREATED, OrganizationRenamed(name="Acme Corp", previous_name="Acme"),
               OrganizationPlanChanged(plan="professional", previous_plan="free"),
               OrganizationSettingsUpdated(settings=new), SUSPENDED]
    assert reduce(evolve, history, INITIAL) == Organization(
        status="suspended", name="Acme Corp", slug="acme", plan="professional", settings=new)


def test_evolve_ignores_events_it_does_not_know() -> None:
    state = evolve(INITIAL, CREATED)
    foreign = SlugClaimed(slug="acme", organization_id=UUID(int=1))
    assert evolve(state, foreign) is state  # type: ignore[arg-type]
