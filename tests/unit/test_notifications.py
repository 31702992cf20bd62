"""The in-app inbox: exactly once per dedupe key, own notices only, unread counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from mkportal.services import notifications
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, Unauthenticated


def _send(
    actor: Actor, key: str = "k1", title: str = "Alarm fired", org_id: str | None = None
) -> int:
    return notifications.notify(
        [actor.user_id],
        org_id=actor.org_id if org_id is None else org_id,
        kind="alarm.firing",
        title=title,
        body="value 7 > 5",
        link="/alarms",
        dedupe_key=key,
    )


def test_notify_once_per_key_and_user(two_orgs):
    owner, member = two_orgs["acme_owner"], two_orgs["acme_member"]
    assert _send(owner) == 1
    assert _send(owner) == 0
    assert notifications.notify(
        [owner.user_id, member.user_id, member.user_id, ""],
        org_id=owner.org_id, kind="alarm.firing", title="t", dedupe_key="k1",
    ) == 1  # fmt: skip
    assert notifications.unread_count(owner) == 1
    assert notifications.unread_count(member) == 1


def test_concurrent_deliveries_store_one(two_orgs):
    owner = two_orgs["acme_owner"]
    with ThreadPoolExecutor(4) as pool:
        stored = list(pool.map(lambda _i: _send(owner, "race"), range(8)))
    assert sum(stored) == 1
    assert notifications.list_notifications(owner).total == 1


def test_list_mark_read_and_page(two_orgs):
    owner = two_orgs["acme_owner"]
    for i in range(5):
        _send(owner, f"k{i}", title=f"n{i}")
    page = notifications.list_notifications(owner, page=1, per_page=2)
    assert page.total == 5 and page.pages == 3 and len(page.items) == 2
    first = page.items[0].id
    assert notifications.mark_read(owner, [first]) == 1
    assert notifications.unread_count(owner) == 4
    unread = notifications.list_notifications(owner, unread_only=True)
    assert first not in [n.id for n in unread.items]
    assert notifications.mark_read(owner, []) == 0
    assert notifications.mark_read(owner) == 4
    assert notifications.unread_count(owner) == 0


def test_other_users_and_orgs_notices_are_invisible(two_orgs):
    owner, member, globex = (
        two_orgs["acme_owner"],
        two_orgs["acme_member"],
        two_orgs["globex_owner"],
    )
    _send(owner, "mine")
    _send(globex, "theirs")
    mine = notifications.list_notifications(owner).items
    assert [n.title for n in mine] == ["Alarm fired"]
    assert notifications.list_notifications(member).total == 0
    # marking someone else's notice read does nothing
    theirs = notifications.list_notifications(globex).items[0].id
    assert notifications.mark_read(owner, [theirs]) == 0
    assert notifications.unread_count(globex) == 1
    # a notice about another org (the user was moved) is not shown in this org
    _send(owner, "old-org", org_id=globex.org_id)
    assert notifications.unread_count(owner) == 1


def test_guards(two_orgs):
    with pytest.raises(Invalid):
        _send(two_orgs["acme_owner"], key="")
    with pytest.raises(Unauthenticated):
        notifications.unread_count(Actor.system())
