"""Each projection's CPU for a 10,000-item bulk operation's events, applied in the projector's
batches in process (no Kafka: the envelopes are read back from the store): where the
projector's time goes.

    python -m bench.projection_cpu [--items 10000] [--batch 500] [--profile NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import time

import psycopg

from bench.common import private_environment
from commands.bulk import BulkCommands
from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from domain.envelope import decode, encode
from domain.organization.commands import CreateOrganization
from domain.resource.commands import Content
from domain.resource.writes import ResourceWrite
from domain.resource_type.commands import RegisterResourceType
from infra.eventstore import EventStore, datastore_from_url
from infra.jsonschemas import JsonSchemas
from projections.base import Item
from projections.registry import PROJECTIONS
from tests.builders import context

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}, "name": {"type": "string"}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", default="", help="a projection to profile (cProfile)")
    args = parser.parse_args()
    with private_environment() as settings:
        store = EventStore(datastore_from_url(settings.database_url))
        schemas = JsonSchemas()
        org = OrganizationCommands(store, retries=3).create(context(), CreateOrganization(
            name="Bench", slug="bench")).stream_id
        ResourceTypeCommands(store, schemas).register(context(), RegisterResourceType(
            organization_id=org, name="things", schema=SCHEMA))
        ops = BulkCommands(store, schemas)
        started = time.process_time()
        op = ops.submit(context(), org, [ResourceWrite(
            op="create", resource_type="things", content=Content(data={"n": i, "name": f"t {i}"}))
            for i in range(args.items)])
        ops.process(op.stream_id)
        worker = time.process_time() - started
        # clickhouse_connect imports pandas on its first insert (1.7 s here): not a projection's.
        with contextlib.suppress(ImportError):
            import pandas  # noqa: F401
        recorded = store.read(0, 1_000_000)
        data = [r.data for r in recorded]
        started = time.process_time()
        items = [Item(r.position, decode(d)) for r, d in zip(recorded, data, strict=True)]
        decoding = time.process_time() - started
        print(f"== {len(items):,} events of a {args.items:,}-item bulk create, batches of"
              f" {args.batch} (CPU seconds of this process; the server's not counted)")
        print(f"  bulk worker (submit + process): {worker:6.2f} s")
        print(f"  decode, once:                   {decoding:6.2f} s (each runner decodes"
              f" every event it consumes; encode once {_encode_s(items):.2f} s)")
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            for name, spec in PROJECTIONS.items():
                projection = spec.build(settings)
                wanted = [i for i in items if i.envelope.stream_type in projection.aggregates]
                if not wanted:
                    continue
                profiler = cProfile.Profile() if name == args.profile else None
                started = time.process_time()
                if profiler is not None:
                    profiler.enable()
                for k in range(0, len(wanted), args.batch):
                    with conn.transaction(), conn.cursor() as cur:
                        projection.apply(cur, wanted[k:k + args.batch])
                spent = time.process_time() - started
                if profiler is not None:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                print(f"  {name:22} {spent:6.2f} s  ({len(wanted):,} events,"
                      f" {spent / len(wanted) * 1e6:5.0f} us each)")
        store.close()


def _encode_s(items: list[Item]) -> float:
    started = time.process_time()
    for i in items:
        encode(i.envelope)
    return time.process_time() - started


if __name__ == "__main__":
    main()
