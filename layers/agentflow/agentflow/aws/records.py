"""The table's conventions in one place: audit fields and soft delete (keys: ``agentflow.aws.keys``).

Services build on these few functions; nothing else in the code base writes raw keys or calls
``delete_item`` (records are never hard-deleted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from agentflow.aws.keys import tenant_pk as tenant_pk  # re-exported: callers predate keys.py
from agentflow.ids import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DELETED = "DELETED"


def is_conditional_failure(exc: ClientError) -> bool:
    """True when ``exc`` is DynamoDB's ConditionalCheckFailedException."""
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def put_new(table: Table, item: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Insert ``item`` with audit fields; raise ``ClientError`` (conditional) if the key exists."""
    now = now_iso()
    full = {"created_at": now, "updated_at": now, "created_by": actor, "updated_by": actor, **item}
    table.put_item(Item=full, ConditionExpression=Attr("pk").not_exists())
    return full


def get_live(table: Table, pk: str, sk: str) -> dict[str, Any] | None:
    """Return the item, or ``None`` when it is absent or soft-deleted."""
    item: dict[str, Any] | None = table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    if item is None or item.get("status") == DELETED:
        return None
    return item


def update(
    table: Table,
    pk: str,
    sk: str,
    *,
    actor: str,
    values: dict[str, Any],
    condition: Any = None,
) -> dict[str, Any]:
    """Set ``values`` (and ``updated_at``/``updated_by``) on a live item; return the new item.

    Raises ``ClientError`` (conditional) if the item is absent, deleted, or fails ``condition``.
    """
    values = {**values, "updated_at": now_iso(), "updated_by": actor}
    # boto3 names the condition's placeholders #n0/:v0…; ours must not collide with them.
    names = {f"#upd{i}": k for i, k in enumerate(values)}
    vals = {f":upd{i}": v for i, v in enumerate(values.values())}
    expr = "SET " + ", ".join(f"#upd{i} = :upd{i}" for i in range(len(values)))
    cond = Attr("pk").exists() & Attr("status").ne(DELETED)
    if condition is not None:
        cond = cond & condition
    result: dict[str, Any] = table.update_item(
        Key={"pk": pk, "sk": sk},
        UpdateExpression=expr,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=vals,
        ConditionExpression=cond,
        ReturnValues="ALL_NEW",
    )["Attributes"]
    return result


def soft_delete(table: Table, pk: str, sk: str, *, actor: str) -> dict[str, Any]:
    """Mark the item DELETED with ``deleted_at``/``deleted_by``; it stays in the table."""
    now = now_iso()
    return update(
        table, pk, sk, actor=actor, values={"status": DELETED, "deleted_at": now, "deleted_by": actor}
    )


def query_live(
    table: Table,
    pk: str,
    *,
    sk_prefix: str,
    index: str | None = None,
    newest_first: bool = True,
    limit: int = 50,
    cursor: dict[str, Any] | None = None,
    filter_expression: Any = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Query one partition for live items whose sort key starts with ``sk_prefix``.

    Returns up to ``limit`` items and the key to continue from (``None`` at the end). Deleted
    items are filtered out; the loop goes on reading until ``limit`` live items are found.
    """
    pk_name, sk_name = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
    filt = Attr("status").ne(DELETED)
    if filter_expression is not None:
        filt = filt & filter_expression
    items: list[dict[str, Any]] = []
    start = cursor
    while True:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key(pk_name).eq(pk) & Key(sk_name).begins_with(sk_prefix),
            "FilterExpression": filt,
            "ScanIndexForward": not newest_first,
            "Limit": limit - len(items),
        }
        if index:
            kwargs["IndexName"] = index
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = table.query(**kwargs)
        items.extend(page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start or len(items) >= limit:
            return items, start
