"""The table's conventions in one place: audit fields and soft delete (keys: ``agentflow.aws.keys``).

Services build on these few functions; nothing else in the code base writes raw keys or calls
``delete_item`` (records are never hard-deleted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from agentflow.aws.keys import tenant_pk as tenant_pk  # re-exported: callers predate keys.py
from agentflow.ids import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DELETED = "DELETED"

# The stored shape a read returns (an ``agentflow.aws.items`` TypedDict): named by ``kind=``, the one
# place an item from boto3 becomes typed. Without ``kind`` a read returns a plain dict.
ItemT = TypeVar("ItemT", bound=Mapping[str, Any])
Cursor = dict[str, Any]  # a LastEvaluatedKey: the key attributes to continue a query from


def as_item(raw: Mapping[str, Any], *, kind: type[ItemT]) -> ItemT:
    """An item boto3 returned from a call of its own (``update_item``'s ``Attributes``, a query page),
    typed as ``kind``: the same boundary as ``kind=`` on the reads below."""
    return cast("ItemT", raw)


def attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """A typed item as the plain attribute map a low-level write takes (``transact_write_items``)."""
    return dict(item)


def is_conditional_failure(exc: ClientError) -> bool:
    """True when ``exc`` is DynamoDB's ConditionalCheckFailedException."""
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


@overload
def put_new(table: Table, item: Mapping[str, Any], *, actor: str) -> dict[str, Any]: ...
@overload
def put_new(table: Table, item: Mapping[str, Any], *, actor: str, kind: type[ItemT]) -> ItemT: ...
def put_new(table: Table, item: Mapping[str, Any], *, actor: str, kind: type[Any] = dict) -> Any:
    """Insert ``item`` with audit fields; raise ``ClientError`` (conditional) if the key exists.

    Returns the item as written, typed as ``kind``.
    """
    now = now_iso()
    full = {"created_at": now, "updated_at": now, "created_by": actor, "updated_by": actor, **item}
    table.put_item(Item=full, ConditionExpression=Attr("pk").not_exists())
    return full


@overload
def get_live(table: Table, pk: str, sk: str) -> dict[str, Any] | None: ...
@overload
def get_live(table: Table, pk: str, sk: str, *, kind: type[ItemT]) -> ItemT | None: ...
def get_live(table: Table, pk: str, sk: str, *, kind: type[Any] = dict) -> Any:
    """Return the item (typed as ``kind``), or ``None`` when it is absent or soft-deleted."""
    item = get_any(table, pk, sk, kind=dict)
    if item is None or item.get("status") == DELETED:
        return None
    return item


@overload
def get_any(table: Table, pk: str, sk: str) -> dict[str, Any] | None: ...
@overload
def get_any(table: Table, pk: str, sk: str, *, kind: type[ItemT]) -> ItemT | None: ...
def get_any(table: Table, pk: str, sk: str, *, kind: type[Any] = dict) -> Any:
    """Return the item (typed as ``kind``) even when soft-deleted, or ``None`` when it is absent."""
    return table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")


@overload
def update(
    table: Table, pk: str, sk: str, *, actor: str, values: Mapping[str, Any], condition: Any = ...
) -> dict[str, Any]: ...
@overload
def update(
    table: Table,
    pk: str,
    sk: str,
    *,
    actor: str,
    values: Mapping[str, Any],
    condition: Any = ...,
    kind: type[ItemT],
) -> ItemT: ...
def update(
    table: Table,
    pk: str,
    sk: str,
    *,
    actor: str,
    values: Mapping[str, Any],
    condition: Any = None,
    kind: type[Any] = dict,
) -> Any:
    """Set ``values`` (and ``updated_at``/``updated_by``) on a live item; return the new item (a ``kind``).

    Raises ``ClientError`` (conditional) if the item is absent, deleted, or fails ``condition``.
    """
    # A caller that stamps its own time (soft_delete's deleted_at) passes updated_at: one clock read.
    values = {"updated_at": now_iso(), **values, "updated_by": actor}
    # boto3 names the condition's placeholders #n0/:v0…; ours must not collide with them.
    names = {f"#upd{i}": k for i, k in enumerate(values)}
    vals = {f":upd{i}": v for i, v in enumerate(values.values())}
    expr = "SET " + ", ".join(f"#upd{i} = :upd{i}" for i in range(len(values)))
    cond = Attr("pk").exists() & Attr("status").ne(DELETED)
    if condition is not None:
        cond = cond & condition
    return table.update_item(
        Key={"pk": pk, "sk": sk},
        UpdateExpression=expr,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=vals,
        ConditionExpression=cond,
        ReturnValues="ALL_NEW",
    )["Attributes"]


@overload
def soft_delete(table: Table, pk: str, sk: str, *, actor: str) -> dict[str, Any]: ...
@overload
def soft_delete(table: Table, pk: str, sk: str, *, actor: str, kind: type[ItemT]) -> ItemT: ...
def soft_delete(table: Table, pk: str, sk: str, *, actor: str, kind: type[Any] = dict) -> Any:
    """Mark the item DELETED with ``deleted_at``/``deleted_by``; it stays in the table."""
    now = now_iso()
    return update(
        table,
        pk,
        sk,
        actor=actor,
        values={"status": DELETED, "deleted_at": now, "deleted_by": actor, "updated_at": now},
    )


@overload
def query_live(
    table: Table,
    pk: str,
    *,
    sk_prefix: str,
    index: str | None = ...,
    newest_first: bool = ...,
    limit: int = ...,
    cursor: Cursor | None = ...,
    filter_expression: Any = ...,
) -> tuple[list[dict[str, Any]], Cursor | None]: ...
@overload
def query_live(
    table: Table,
    pk: str,
    *,
    sk_prefix: str,
    index: str | None = ...,
    newest_first: bool = ...,
    limit: int = ...,
    cursor: Cursor | None = ...,
    filter_expression: Any = ...,
    kind: type[ItemT],
) -> tuple[list[ItemT], Cursor | None]: ...
def query_live(
    table: Table,
    pk: str,
    *,
    sk_prefix: str,
    index: str | None = None,
    newest_first: bool = True,
    limit: int = 50,
    cursor: Cursor | None = None,
    filter_expression: Any = None,
    kind: type[Any] = dict,
) -> tuple[list[Any], Cursor | None]:
    """Query one partition for live items (typed as ``kind``) whose sort key starts with ``sk_prefix``.

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
