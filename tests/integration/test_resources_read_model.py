"""The resources read model as issue 11's queries will use it: data's words in the search
vector, the GIN indexes, and the row-level-security wall between tenants."""

from __future__ import annotations

from typing import Any

import psycopg
from litestar.testing import TestClient

from infra.settings import Settings
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
    assert {"resources_data_idx", "resources_tags_idx", "resources_search_idx",
            "resources_list_idx", "resources_key_idx"} <= indexes


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
