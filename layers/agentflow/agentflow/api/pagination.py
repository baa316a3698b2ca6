"""Opaque list cursors: DynamoDB's LastEvaluatedKey, base64url JSON, checked on the way back in.

A cursor comes from the client, so it is validated like any input: it must be one of the
caller's own keys of the listed kind, or the request is a 422 (never a 500, never another
tenant's page).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from agentflow.aws import records
from agentflow.errors import ValidationError


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """The cursor for the next page, or ``None`` at the end."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: str | None, *, tenant_id: str, sk_prefix: str) -> dict[str, Any] | None:
    """The key to continue from; ``ValidationError`` on anything but the tenant's own key."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("cursor is not valid", field="cursor") from exc
    if (
        not isinstance(key, dict)
        or set(key) != {"pk", "sk"}
        or key["pk"] != records.tenant_pk(tenant_id)
        or not isinstance(key["sk"], str)
        or not key["sk"].startswith(sk_prefix)
    ):
        raise ValidationError("cursor is not valid", field="cursor")
    return key
