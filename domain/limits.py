"""How large any input may be: the one list of bounds, used by the request bodies' Meta
constraints (api/platform/bodies.py) and by the deciders' own checks.

Every string and list a client can send has a bound here, so that no request can grow an event
past MAX_EVENT_BYTES (infra/settings.py) or a value past what PostgreSQL, Kafka and ClickHouse
store. Raising a bound is fine; lowering one refuses inputs that were accepted before (old
events keep loading: the event types themselves carry no constraints).
"""

from __future__ import annotations

from domain.errors import InvalidValue

# Re-exported so this stays the one list; it lives with RateLimit, which this module imports.
from domain.organization.plans import MAX_RATE as MAX_RATE
from domain.permissions import ApiPermission

# Names and free text
MAX_NAME = 255  # organization, API key, OAuth client, a person's first or last name
MAX_ROLE_NAME = 100
MAX_DESCRIPTION = 1000
MAX_REASON = 1000
MAX_SLUG = 100
MAX_EMAIL = 254
MAX_PASSWORD_INPUT = 1024  # the password policy (12-256) answers with its own code
MAX_ROLE_REF = 64  # a system role's name or a custom role's id
MAX_TOKEN = 200  # e-mail verification and invitation tokens
MAX_REFRESH_TOKEN = 256
MAX_AVATAR = 2048
MAX_METADATA_KEYS = 100
MAX_METADATA_BYTES = 16_384
MAX_USER_AGENT = 512  # as kept in every event's envelope and in the request log (cut beyond)
MAX_DEVICE_TEXT = 200  # a login's device description: os, browser, version, fingerprint

# Permissions (API keys, users, roles)
MAX_PERMISSIONS = 50
MAX_RESOURCE = 100
MAX_ACTIONS = 4  # create, read, update, delete
MAX_CONDITION_FIELDS = 50
MAX_FIELD_NAME = 100
MAX_CONDITION_FILTERS = 20
MAX_FILTER_VALUE = 200

# Resource types: a schema is stored in its events whole, so it stays well under MAX_EVENT_BYTES
MAX_TYPE_NAME = 63
MAX_SCHEMA_BYTES = 65_536
MAX_SCHEMA_DEPTH = 32  # nested objects and arrays
MAX_INDEXED = 16  # data paths a type asks to be indexed
MAX_INDEX_PATH = 200

# Resources: data is stored whole in every write's event, so it stays well under MAX_EVENT_BYTES
MAX_DATA_BYTES = 65_536  # data's canonical JSON
MAX_DATA_DEPTH = 32
MAX_DATA_KEYS = 1000  # keys of data's top-level object (the request body's bound)
MAX_DATA_STRING = 65_536  # a string anywhere in data (the size bound is the one that bites)
MAX_TAGS = 50
MAX_TAG = 100
MAX_LABELS = 50  # labels, and annotations
MAX_LABEL_KEY = 100
MAX_LABEL_VALUE = 200
MAX_ANNOTATION_VALUE = 2000
MAX_RELATIONSHIPS = 50
MAX_ANCESTORS = 100  # resources a parent-cycle check walks up through
MAX_CASCADE = 1000  # resources one `DELETE ?cascade=true` deletes with the one asked for
MAX_EXTERNAL_KEY = 200

# Transactions and bulk operations (a bulk body is also bounded by MAX_BODY_BYTES)
MAX_TRANSACTION_ITEMS = 100  # writes applied in one append
MAX_BULK_ITEMS = 10_000
# Items a worker applies in one append, with their chunk's results: an append's commit cost more
# than its 200 items' rows did, so 500 (a chunk of 500 failures with the longest messages, in any
# script, is still under the default MAX_EVENT_BYTES: tests/unit/test_bulk_operation_decider.py).
BULK_CHUNK_ITEMS = 500
# A failed bulk item's message in its chunk's results.
MAX_ITEM_MESSAGE = 100

# Alert rules
MAX_ALERT_NAME = 100
MAX_ALERT_ROUTE = 200  # a route template, as the request log writes it
MIN_ALERT_WINDOW = 60
MAX_ALERT_WINDOW = 86_400
MAX_ALERT_THRESHOLD = 1e12  # ms, requests/s or events: far beyond any real one

# Organization settings
MAX_LIST_ITEMS = 100  # ipWhitelist and allowedOrigins entries
MAX_CIDR = 64
MAX_ORIGIN = 300  # scheme, a 253-character host and a port
MAX_TIMEZONE = 64
MAX_SESSION_MINUTES = 60 * 24 * 30
MAX_RETENTION_DAYS = 3650

# Query parameters
MAX_PAGE_SIZE = 100  # a list's `limit`
DEFAULT_PAGE_SIZE = 20
MAX_CURSOR = 200  # an opaque cursor: far more than any encoded position needs
MAX_QUERY_TEXT = 200  # an audit or event filter: an actor's id, a resource, an action, a type
MAX_TIMESTAMP_TEXT = 64  # an `as_of` RFC 3339 time or a version number
MAX_STREAM_TYPES = 20  # event type patterns in a live stream's `types`
MAX_STREAM_TYPES_TEXT = 2100  # `types`: that many patterns of 100 characters, with commas
MAX_STREAM_TICKET = 64  # a stream ticket: "st_" and 43 URL-safe characters
MAX_WS_MESSAGE = 1024  # a WebSocket client's message on an open stream (a resume)
MAX_LAST_EVENT_ID = 20  # Last-Event-ID: a store position, within a bigint

# Resource queries (issue 11 item 5): the filters, order, select and search of a list or export
MAX_RESOURCE_PAGE = 1000  # a resource list's `limit`
DEFAULT_RESOURCE_PAGE = 50
MAX_QUERY_FILTERS = 20  # filter parameters ANDed in one query
MAX_QUERY_VALUE = 500  # one filter's `<op>.<value>` text
MAX_IN_VALUES = 100  # the values of one `in.(a,b,c)`
MAX_ORDER_FIELDS = 5
MAX_SELECT_FIELDS = 20
MAX_SEARCH_TEXT = 200  # `q`
# A search without `order` ranks this many matches, the newest: ranking is then a bounded
# sort whatever the number of matches (an `order` walks every match).
MAX_RANKED_MATCHES = 1000
MAX_QUERY_CURSOR = 4000  # a keyset cursor carries the boundary row's ordered values
MAX_EXPAND_DEPTH = 3  # `expand=relationships.parent.parent.parent`

# OAuth
MAX_PKCE_METHOD = 10
MAX_URI = 2000
MAX_URIS = 10
MAX_SCOPE = 100
MAX_SCOPES = 50
MAX_SCOPE_TEXT = 2000  # the space-separated scope of an authorization request
MAX_STATE = 500  # the client's opaque authorization state
MAX_GRACE_SECONDS = 7 * 86400

# Webhook endpoints
MAX_WEBHOOK_URL = 2000
MAX_EVENT_FILTERS = 50  # an endpoint's event type filters
MAX_EVENT_FILTER = 100  # one filter: `*`, `resource.*`, `user.Invited`
MAX_DISABLE_DETAIL = 500  # why the sender disabled an endpoint (its last error, cut)
MAX_REPLAY_EVENTS = 100_000  # events one replay request may queue


def check_description(raw: str, code: str) -> str:
    """A description within MAX_DESCRIPTION, for the deciders (``code``: the aggregate's
    catalog reason)."""
    if len(raw) > MAX_DESCRIPTION:
        raise InvalidValue(f"description is longer than {MAX_DESCRIPTION} characters",
                           field="description", code=code, params={"max": MAX_DESCRIPTION})
    return raw


def check_permissions(permissions: tuple[ApiPermission, ...], code: str) -> None:
    """The bounds of a permission list, for the deciders (``code`` names the aggregate's
    catalog reason for too many)."""
    if len(permissions) > MAX_PERMISSIONS:
        raise InvalidValue(f"at most {MAX_PERMISSIONS} permissions", field="permissions",
                           code=code, params={"max": MAX_PERMISSIONS})
    for i, p in enumerate(permissions):
        fields = p.conditions.fields if p.conditions and p.conditions.fields else ()
        filters = p.conditions.filters if p.conditions and p.conditions.filters else {}
        texts = [p.resource, *fields, *filters, *(v for v in filters.values()
                                                  if isinstance(v, str))]
        if (len(p.resource) > MAX_RESOURCE or len(p.actions) > MAX_ACTIONS
                or len(fields) > MAX_CONDITION_FIELDS or len(filters) > MAX_CONDITION_FILTERS
                or any(len(t) > MAX_FILTER_VALUE for t in texts)
                or any(len(t) > MAX_FIELD_NAME for t in (*fields, *filters))):
            raise InvalidValue(f"permissions[{i}] is larger than the limits allow",
                               field=f"permissions[{i}]", code="permission_too_large",
                               params={"max": MAX_RESOURCE})

# Analytics (GET /v1/metrics, GET /v1/usage)
MAX_METRIC_BUCKETS = 1440  # a day of minutes, two months of hours, four years of days
MAX_USAGE_MONTHS = 36  # the statements one page lists

# The /dashboard sign-in form (api/dashboard/)
MAX_OPERATOR_TOKEN = 512  # what the form's token field takes (the operator token is far shorter)
MAX_TOTP_CODE = 8
MAX_DASHBOARD_COOKIE = 256  # a signed cookie is ~120 characters; a longer one is not ours
DASHBOARD_TOP_ENDPOINTS = 10  # the endpoints (and erring endpoints) a snapshot lists
