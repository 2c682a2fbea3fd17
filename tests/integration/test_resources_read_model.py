"""The resources read model as issue 11's queries will use it: data's words in the search
vector, the GIN indexes, and the row-level-security wall between tenants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from litestar.testing import TestClient

from domain.envelope import SYSTEM, Envelope
from domain.resource import decider as res
from domain.resource.commands import Content, CreateResource, PatchResource, ResourceCommand
from infra.settings import Settings
from projections.base import Item
from projections.resources import DATA_STATISTICS, SPEC, ResourcesProjection
from projections.rows import READER_ROLE, TENANT_SETTING
from tests.integration.test_resources import create, get, with_type


def test_the_row_holds_data_for_jsonb_queries_and_its_strings_for_full_text_search(
        client: TestClient[Any], settings: Settings) -> None:
    org = with_type(client)
    made = create(client, org, {"data": {"name": "Honey Maya", "hive": {"x": "Meadow"}},
                                "metadata": {"tags": ["insect", "gold"]}}).json()
    assert get(client, org, f"/v1/resources/bees/{made['id']}", made["position"]).status_code == 200
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT search @@ plainto_tsquery('simple', 'meadow maya'),"
            " search @@ plainto_tsquery('simple', 'wasp'), tags @> ARRAY['gold'],"
            " data @> '{\"hive\": {\"x\": \"Meadow\"}}' FROM resources WHERE id = %s",
            (made["id"],)).fetchone()
        assert row == (True, False, True, True)
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'resources'").fetchall()}
        # A histogram of 1,000 documents for the planner's estimate of data @> filters.
        target = conn.execute("SELECT attstattarget FROM pg_attribute WHERE attname = 'data'"
                              " AND attrelid = 'resources'::regclass").fetchone()
    assert {"resources_data_idx", "resources_tags_idx", "resources_search_idx",
            "resources_list_idx", "resources_key_idx"} <= indexes
    assert target == (DATA_STATISTICS,)


def test_a_tenant_reading_the_table_sees_only_its_own_resources(
        client: TestClient[Any], settings: Settings) -> None:
    mine, theirs = with_type(client), with_type(client)
    made = [create(client, org, {"data": {"name": org}}).json() for org in (mine, theirs)]
    get(client, mine, f"/v1/resources/bees/{made[1]['id']}", made[1]["position"])
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("SELECT set_config('role', %s, true), set_config(%s, %s, true)",
                     (READER_ROLE, TENANT_SETTING, mine))
        seen = {str(r[0]) for r in conn.execute("SELECT organization_id FROM resources")}
    assert seen == {mine}


def _item(position: int, stream_id: uuid.UUID, org: uuid.UUID, version: int,
          command: ResourceCommand, state: res.Resource) -> tuple[Item, res.Resource]:
    [event] = res.decide(command, state)
    envelope = Envelope(event_id=uuid.uuid4(), stream_id=stream_id, stream_type="resource",
                        version=version, organization_id=org, occurred_at=datetime.now(UTC),
                        actor=SYSTEM, request_id="r", correlation_id="c", causation_id="c",
                        event=event)
    return Item(position, envelope), res.DECIDER.fold(state, [event])


def test_a_batch_of_creations_and_a_change_between_them_leaves_every_row_as_folded(
        settings: Settings) -> None:
    """The creations are inserted together, yet a patch of one created earlier in the same
    batch finds its row, and a creation delivered again changes nothing."""
    org, table = uuid.uuid4(), f"resources_batch_{uuid.uuid4().hex[:8]}"
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def created(stream_id: uuid.UUID, position: int, name: str) -> tuple[Item, res.Resource]:
        return _item(position, stream_id, org, 1, CreateResource(
            organization_id=org, resource_type="bees", type_version=1,
            content=Content(data={"name": name})), res.INITIAL)

    (a, a_state), (b, _), (c, _) = (created(first, 1, "Maya"), created(second, 2, "Willy"),
                                    created(third, 4, "Flip"))
    patch, _ = _item(3, first, org, 2, PatchResource(
        type_version=1, content=Content(data={"name": "Queen"})), a_state)
    projection = ResourcesProjection(table)
    with psycopg.connect(settings.database_url) as conn, conn.cursor() as cur:
        for statement in SPEC.ddl(table):
            cur.execute(statement)
        projection.apply(cur, [a, b, patch, c, b])
        rows = cur.execute(f"SELECT id, data ->> 'name', version, created_position FROM {table}"
                           " ORDER BY created_position").fetchall()
        conn.rollback()
    assert rows == [(first, "Queen", 2, 1), (second, "Willy", 1, 2), (third, "Flip", 1, 4)]
