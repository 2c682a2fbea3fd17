"""The layers import only what ARCHITECTURE.md allows: every import statement of the project's
packages (at module level or inside a function) is parsed with ``ast`` and checked."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "commands", "projections", "api", "infra")
STDLIB = frozenset(sys.stdlib_module_names)
COMPOSITION_ROOT = ("infra.container", "infra.cli")  # what wires adapters into use cases
ENTRY_POINTS = ("infra.cli",)  # what may start the HTTP app

# Today's violations, each removed by another part of issue 10 (or named for the lead): delete
# an entry when its import goes; the test fails while an entry is no longer a violation.
KNOWN: frozenset[tuple[str, str]] = frozenset()


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = frozenset(module_of(p) for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def resolved(name: str) -> str:
    """The project module an import names (its longest known prefix), else its top-level name."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in MODULES:
            return ".".join(parts[:end])
    return parts[0]


def imports_of(module: str, tree: ast.AST) -> Iterator[str]:
    package = module if module in MODULES and (ROOT / module.replace(".", "/")).is_dir() \
        else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (resolved(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from infra import clickhouse` imports the module infra.clickhouse
            yield from (resolved(f"{base}.{alias.name}") for alias in node.names)


def within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def is_capability(module: str) -> bool:
    """A capability's routes or schemas: any api module but the platform, auth and the app."""
    return within(module, "api") and not within(module, "api.platform", "api.auth", "api.app") \
        and module != "api"


def violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None when it may."""
    top = imported.split(".")[0]
    if within(importer, "domain") and top not in STDLIB | {"msgspec", "domain"}:
        return "the domain imports only the standard library and msgspec"
    if within(importer, "commands") and top not in STDLIB | {"msgspec", "domain", "commands"}:
        return "use cases import the domain and their ports; adapters arrive as parameters"
    if within(importer, "projections") and (
            within(imported, "commands", "api") or within(imported, *COMPOSITION_ROOT)):
        return "a read model imports neither use cases, nor the API, nor the composition root"
    if within(importer, "api.platform", "api.auth") and (
            within(imported, "api.app") or is_capability(imported)):
        return "the HTTP platform and the auth machinery know no capability"
    if within(imported, "api") and not within(importer, "api", *ENTRY_POINTS):
        return "only the API itself and the entry points import the API"
    if within(imported, "infra.local") and not within(importer, "infra.local"):
        return "the runtime needs nothing of the local dev services"
    if within(importer, "infra") and not within(importer, *COMPOSITION_ROOT) \
            and within(imported, "infra.container"):
        return "an adapter does not import the composition root"
    return None


def project_imports() -> set[tuple[str, str]]:
    found = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_of(path)
            tree = ast.parse(path.read_text(), str(path))
            found |= {(module, imported) for imported in imports_of(module, tree)
                      if imported != module}
    return found


def test_no_layer_imports_what_it_must_not() -> None:
    broken = sorted(f"{importer} -> {imported}: {why}"
                    for importer, imported in project_imports() - KNOWN
                    if (why := violation(importer, imported)) is not None)
    assert not broken, "layering violations:\n" + "\n".join(broken)


def test_every_known_violation_is_still_one_so_the_list_cannot_rot() -> None:
    present = project_imports()
    gone = sorted(f"{i} -> {m}" for i, m in KNOWN
                  if (i, m) not in present or violation(i, m) is None)
    assert not gone, "no longer violations, delete them from KNOWN:\n" + "\n".join(gone)


@pytest.mark.parametrize(("importer", "imported"), [
    ("domain.organization.decider", "psycopg"),
    ("domain.user.events", "infra.settings"),
    ("commands.organizations", "projections.organizations"),
    ("commands.users", "api.app"),
    ("commands.users", "redis"),
    ("projections.organizations", "commands.runner"),
    ("projections.users", "infra.container"),
    ("api.platform.errors", "api.organizations"),
    ("api.platform.edge", "api.app"),
    ("api.auth.guards", "api.users"),
    ("infra.relay", "api.app"),
    ("infra.keycache", "infra.container"),
    ("infra.container", "infra.local.kafka"),
])
def test_the_rules_refuse_an_import_across_a_layer(importer: str, imported: str) -> None:
    assert violation(importer, imported) is not None


@pytest.mark.parametrize(("importer", "imported"), [
    ("domain.organization.decider", "msgspec"),
    ("domain.organization.decider", "domain.envelope"),
    ("commands.organizations", "domain.organization.decider"),
    ("projections.organizations", "infra.clickhouse"),
    ("api.auth.guards", "api.platform.errors"),
    ("api.organizations", "api.auth.guards"),
    ("infra.cli", "api.app"),
    ("infra.container", "commands.organizations"),
    ("infra.local.services", "infra.settings"),
])
def test_the_rules_allow_an_import_down_the_layers(importer: str, imported: str) -> None:
    assert violation(importer, imported) is None


def test_a_from_import_of_a_module_names_that_module() -> None:
    tree = ast.parse("from infra import clickhouse\nfrom domain.envelope import Actor\n"
                     "import msgspec.json\n")
    assert set(imports_of("projections.rebuild", tree)) == {
        "infra.clickhouse", "domain.envelope", "msgspec"}
