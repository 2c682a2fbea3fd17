"""The error catalog: both languages with the same parameters, Accept-Language, and every code."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from api.platform.errors import DOMAIN_STATUS, HTTP_CODES
from api.platform.i18n import CATALOG, codes_table, localize, negotiate, placeholders, render
from commands.runner import TooMuchContention, VersionConflict
from domain import errors as domain_errors
from domain.errors import DomainError
from domain.organization import decider as org
from domain.organization.commands import (
    CreateOrganization,
    ReactivateOrganization,
    RenameOrganization,
    SuspendOrganization,
)
from domain.organization.events import (
    DataRetention,
    OrganizationSettings,
    SecuritySettings,
)
from domain.slug import decider as slug
from infra.settings import ROOT

ACME, OTHER = UUID(int=1), UUID(int=2)
LIVE = org.Organization(status="active", name="Acme", slug="acme")


@pytest.mark.parametrize(("header", "language"), [
    (None, "en"), ("", "en"), ("ja", "ja"), ("ja-JP", "ja"), ("JA-jp", "ja"), ("en-US", "en"),
    ("fr", "en"), ("fr, ja;q=0.5", "ja"), ("en;q=0.4, ja;q=0.8", "ja"), ("ja;q=0.2, en", "en"),
    ("ja, en", "ja"), ("en, ja", "en"), ("ja;q=0", "en"), ("*", "en"), ("ja;q=abc, en;q=0.1", "en"),
    ("ja;q=7", "en"), ("  ja-JP ; q=0.9 ", "ja"), ("zh, *;q=0.5, ja;q=0.4", "en"),
])
def test_accept_language_picks_japanese_or_falls_back_to_english(header: str | None,
                                                                 language: str) -> None:
    assert negotiate(header) == language


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_message_has_english_and_japanese_with_the_same_parameters(key: str) -> None:
    entry = CATALOG[key]
    assert entry.en.strip()
    assert entry.ja.strip()
    assert entry.ja != entry.en
    assert placeholders(entry.en) == placeholders(entry.ja)


def test_a_specific_reason_is_sent_under_a_broad_code_of_the_same_status() -> None:
    for key, entry in CATALOG.items():
        if entry.code:
            broad = CATALOG[entry.code]
            assert (broad.status, broad.code) == (entry.status, ""), key


def test_messages_fill_their_parameters_and_survive_a_missing_one() -> None:
    assert render("json_too_deep", "ja", {"max": 32}) == "JSON 本文の入れ子が 32 階層を超えています"
    assert render("slug_taken", "en", {"slug": "acme"}) == "slug 'acme' is already taken"
    assert render("json_too_deep", "en") == "the JSON body is nested deeper than {max} levels"
    assert render("no_such_code", "ja") is None
    assert localize("no_such_code", "ja", fallback="raw text") == ("raw text", "en")
    assert localize("name_blank", "ja") == ("名前を空にすることはできません", "ja")


def test_the_readme_lists_every_code_from_the_catalog() -> None:
    readme = (ROOT / "README.md").read_text()
    assert codes_table() in readme, "regenerate the table: python -m api.i18n"


def settings(**changes: object) -> OrganizationSettings:
    security = changes.pop("security", {})
    retention = changes.pop("retention", {})
    return OrganizationSettings(security=SecuritySettings(**security),  # type: ignore[arg-type]
                                data_retention=DataRetention(**retention),  # type: ignore[arg-type]
                                **changes)  # type: ignore[arg-type]


def create(**changes: object) -> Callable[[], object]:
    command = CreateOrganization(**{"name": "Acme", "slug": "acme", **changes})  # type: ignore[arg-type]
    return lambda: org.decide(command, org.INITIAL)


REJECTIONS: dict[str, Callable[[], object]] = {
    "organization_already_exists": lambda: org.decide(CreateOrganization(name="A", slug="a"), LIVE),
    "organization_not_found": lambda: org.decide(RenameOrganization(name="B"), org.INITIAL),
    "organization_deleted": lambda: org.decide(
        RenameOrganization(name="B"), org.Organization(status="deleted")),
    "organization_already_suspended": lambda: org.decide(
        SuspendOrganization(), org.Organization(status="suspended")),
    "organization_not_suspended": lambda: org.decide(ReactivateOrganization(), LIVE),
    "suspend_reason_too_long": lambda: org.decide(SuspendOrganization(reason="r" * 1001), LIVE),
    "name_blank": create(name="  "),
    "name_too_long": create(name="n" * 256),
    "slug_invalid": create(slug="Not OK"),
    "ip_whitelist_too_many": create(settings=settings(ip_whitelist=("10.0.0.1",) * 101)),
    "ip_whitelist_invalid": create(settings=settings(ip_whitelist=("10.0.0.0/8", "nope"))),
    "allowed_origins_too_many": create(settings=settings(
        security={"allowed_origins": ("https://a.example",) * 101})),
    "session_timeout_out_of_range": create(settings=settings(security={"session_timeout": 0})),
    "data_retention_out_of_range": create(settings=settings(retention={"analytics": 9999})),
    "timezone_invalid": create(settings=settings(timezone="")),
    "slug_taken": lambda: slug.claim(slug.Slug(owner=ACME), "acme", OTHER),
    "slug_not_held": lambda: slug.release(slug.Slug(owner=ACME), "acme", OTHER),
}


@pytest.mark.parametrize("reason", sorted(REJECTIONS))
def test_every_domain_rejection_has_its_catalog_message_status_and_parameters(reason: str) -> None:
    with pytest.raises(DomainError) as caught:
        REJECTIONS[reason]()
    error, entry = caught.value, CATALOG[reason]
    assert error.code == reason
    assert (entry.code or reason) == error.category
    assert entry.status == next(s for t, s in DOMAIN_STATUS.items() if isinstance(error, t))
    assert set(error.params) == placeholders(entry.en)
    assert render(reason, "en", error.params) == error.message, "English text unchanged"


def test_every_fixed_code_of_the_http_layer_is_in_the_catalog() -> None:
    codes = {*HTTP_CODES.values(), VersionConflict.code, TooMuchContention.code, "error"}
    codes |= {getattr(domain_errors, name).code for name in dir(domain_errors)
              if isinstance(getattr(domain_errors, name), type)
              and issubclass(getattr(domain_errors, name), DomainError)}
    assert codes <= set(CATALOG)


DOMAIN_CLASSES = {"DomainError", "NotFound", "AlreadyExists", "InvalidState", "InvalidValue",
                  "SlugTaken", "Unauthenticated", "Forbidden"}


def raise_sites() -> Iterator[tuple[str, ast.Call]]:
    for package in ("api", "commands", "domain"):
        for path in sorted(Path(ROOT, package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                        node.func.id in DOMAIN_CLASSES | {"ApiException", "error_response"}):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def test_every_code_raised_in_the_source_is_in_the_catalog_with_its_status_and_text() -> None:
    seen = 0
    for where, call in raise_sites():
        seen += 1
        keywords = {k.arg: k.value for k in call.keywords}
        name = call.func.id  # type: ignore[attr-defined]
        if name in DOMAIN_CLASSES:
            key = literal(keywords.get("code")) or getattr(domain_errors, name).code
            assert key in CATALOG, f"{where}: {key} is not in api/platform/i18n.py"
            continue
        offset = 1 if name == "ApiException" else 2  # error_response(request, status, code, ...)
        status, code = (literal(a) for a in call.args[offset - 1:offset + 1])
        key = literal(keywords.get("reason")) or code
        if name == "error_response" and not isinstance(key, str):
            continue  # the handlers passing on an exception's code
        assert isinstance(key, str), f"{where}: codes are literal strings"
        assert key in CATALOG, f"{where}: {key} is not in api/platform/i18n.py"
        entry = CATALOG[key]
        assert isinstance(code, str) or name == "error_response", f"{where}: a literal code"
        assert code in (None, entry.code or key), f"{where}: {key} is sent as {entry.code or key}"
        assert status in (None, entry.status), f"{where}: {key} has status {entry.status}"
        message = literal(call.args[offset + 1]) if len(call.args) > offset + 1 else None
        if name == "ApiException" and isinstance(message, str):
            assert message == render(key, "en"), f"{where}: differs from the catalog"
        if placeholders(entry.en) and name == "ApiException":
            assert "params" in keywords, f"{where}: {key} needs params"
    assert seen > 20
