"""Access decisions worth an auditor's eye: a request an authenticated principal was denied.

Each denial is its own one-event stream (stream type ``access``), in the caller's
organization, with the principal as the envelope's actor and the request id in the envelope.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class AccessDenied(_Event, tag="access.Denied", frozen=True):
    method: str
    path: str
    status: int
    code: str
    reason: str
    resource_id: str = ""
    ip_address: str = ""
    user_agent: str = ""
    source: Literal["api", "web", "system"] = "api"


AccessEvent = AccessDenied
