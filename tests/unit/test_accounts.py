"""Accounts, sessions, tokens, invitations and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.auth import ApiToken, UserSession
from mkportal.models.base import utcnow
from mkportal.models.org import User
from mkportal.services import audit, auth, invitations, mail, orgs, tokens, users
from mkportal.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from mkportal.services.secrets import decrypt, encrypt
from tests.conftest import PASSWORD


def _actions() -> list[str]:
    with session_scope() as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.at))]


def test_login_success_and_generic_failures(two_orgs):
    signed = auth.login("Owner@Acme.test ", PASSWORD, ip="10.0.0.1")
    actor = auth.session_actor(signed.token, ip="10.0.0.1")
    assert actor.email == "owner@acme.test" and actor.role == "owner"
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == "member@acme.test")).one()
        user.is_active = False
        s.add(user)
    messages = set()
    for email, password in [
        ("nobody@acme.test", PASSWORD),
        ("owner@acme.test", "bad"),
        ("member@acme.test", PASSWORD),
    ]:
        with pytest.raises(Unauthenticated) as err:
            auth.login(email, password, ip="10.0.0.2")
        messages.add(err.value.message)
    assert messages == {auth.GENERIC_LOGIN_ERROR}
    assert {"login.succeeded", "login.failed"} <= set(_actions())


def test_rate_limit_per_email_and_per_address(two_orgs):
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            auth.login("owner@acme.test", "wrong", ip=f"10.1.0.{_}")
    with pytest.raises(RateLimited):
        auth.login("owner@acme.test", PASSWORD, ip="10.9.9.9")
    for i in range(5):
        with pytest.raises(Unauthenticated):
            auth.login(f"x{i}@acme.test", "wrong", ip="10.2.0.1")
    with pytest.raises(RateLimited):
        auth.login("member@acme.test", PASSWORD, ip="10.2.0.1")
    assert auth.login("member@acme.test", PASSWORD, ip="10.3.0.1").token


def test_sessions_expire_and_are_revocable(two_orgs):
    signed = auth.login("owner@acme.test", PASSWORD)
    auth.logout(signed.token)
    with pytest.raises(Unauthenticated):
        auth.session_actor(signed.token)
    signed = auth.login("owner@acme.test", PASSWORD)
    with session_scope() as s:
        row = s.exec(
            select(UserSession).where(
                UserSession.user_id == signed.user_id, UserSession.revoked_at.is_(None)
            )
        ).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    with pytest.raises(Unauthenticated):
        auth.session_actor(signed.token)
    with pytest.raises(Unauthenticated):
        auth.session_actor("mks_forged")


def test_change_password_keeps_only_the_current_session(two_orgs):
    a = auth.login("member@acme.test", PASSWORD)
    b = auth.login("member@acme.test", PASSWORD)
    actor = auth.session_actor(a.token)
    with pytest.raises(Invalid) as err:
        auth.change_password(actor, "wrong", "a-new-long-password", keep_token=a.token)
    assert "current_password" in err.value.errors
    with pytest.raises(Invalid):
        auth.change_password(actor, PASSWORD, "short", keep_token=a.token)
    auth.change_password(actor, PASSWORD, "a-new-long-password", keep_token=a.token)
    assert auth.session_actor(a.token).email == "member@acme.test"
    with pytest.raises(Unauthenticated):
        auth.session_actor(b.token)
    assert auth.login("member@acme.test", "a-new-long-password").token


def test_switch_org_only_to_own_orgs(two_orgs):
    signed = auth.login("owner@acme.test", PASSWORD)
    actor = auth.session_actor(signed.token)
    with pytest.raises(NotFound):
        auth.switch_org(signed.token, actor, two_orgs["globex_owner"].org_id)
    new = orgs.create_org(actor, "Acme Labs")
    switched = auth.switch_org(signed.token, actor, new.id)
    assert switched.org_id == new.id and switched.role == "owner"
    assert auth.session_actor(signed.token).org_id == new.id


def test_tokens_are_hashed_shown_once_and_expire(two_orgs):
    actor = two_orgs["acme_member"]
    plain, info = tokens.create_token(actor, "ci", expires_days=1)
    with session_scope() as s:
        row = s.get(ApiToken, info.id)
        assert plain not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    with pytest.raises(Unauthenticated):
        tokens.token_actor(plain)
    with pytest.raises(NotFound):
        tokens.revoke_token(two_orgs["globex_owner"], info.id)
    assert [t.name for t in tokens.list_tokens(actor)] == ["ci"]
    assert tokens.list_tokens(two_orgs["globex_owner"]) == []


def test_token_loses_access_when_membership_ends(two_orgs):
    member = two_orgs["acme_member"]
    plain, _ = tokens.create_token(member, "ci")
    assert tokens.token_actor(plain).org_id == member.org_id
    orgs.remove_member(two_orgs["acme_owner"], member.org_id, member.user_id)
    with pytest.raises(Unauthenticated):
        tokens.token_actor(plain)


def test_invitation_flow_new_user(two_orgs):
    owner = two_orgs["acme_owner"]
    info, link = invitations.invite(owner, "New.Person@example.com", "viewer")
    token = link.rsplit("/", 1)[1]
    assert invitations.preview(token).org_name == "Acme"
    with pytest.raises(Conflict):
        invitations.invite(owner, "new.person@example.com", "viewer")
    outbox = mail.list_outbox(two_orgs["operator"])
    assert outbox.total == 1 and link in outbox.items[0].body
    assert outbox.items[0].to == "new.person@example.com"
    with pytest.raises(Invalid):
        invitations.accept(token, "short")
    assert invitations.accept(token, "a-good-password", name="New") == "new.person@example.com"
    with pytest.raises(NotFound):
        invitations.accept(token, "a-good-password")
    actor = auth.session_actor(auth.login("new.person@example.com", "a-good-password").token)
    assert actor.org_id == owner.org_id and actor.role == "viewer"
    assert "member.joined" in _actions()


def test_invitation_existing_user_needs_their_password(two_orgs):
    globex = two_orgs["globex_owner"]
    _, link = invitations.invite(globex, "member@acme.test", "member")
    token = link.rsplit("/", 1)[1]
    with pytest.raises(Invalid):
        invitations.accept(token, "not-their-password")
    invitations.accept(token, PASSWORD)
    names = {o.name for o in orgs.list_my_orgs(two_orgs["acme_member"])}
    assert names == {"Acme", "Globex"}


def test_only_owners_invite_and_invitations_are_org_scoped(two_orgs):
    with pytest.raises(Forbidden):
        invitations.invite(two_orgs["acme_member"], "x@example.com")
    info, _ = invitations.invite(two_orgs["acme_owner"], "x@example.com")
    with pytest.raises(NotFound):
        invitations.revoke_invitation(two_orgs["globex_owner"], info.id)
    with pytest.raises(Invalid):
        invitations.invite(two_orgs["acme_owner"], "not-an-email")
    invitations.revoke_invitation(two_orgs["acme_owner"], info.id)
    assert invitations.list_invitations(two_orgs["acme_owner"]) == []


def test_expired_invitation_is_refused(two_orgs):
    from mkportal.models.org import Invitation

    _, link = invitations.invite(two_orgs["acme_owner"], "late@example.com")
    with session_scope() as s:
        inv = s.exec(select(Invitation)).one()
        inv.expires_at = utcnow() - timedelta(seconds=1)
        s.add(inv)
    with pytest.raises(NotFound):
        invitations.preview(link.rsplit("/", 1)[1])


def test_audit_log_is_operator_only_and_filterable(two_orgs):
    tokens.create_token(two_orgs["acme_owner"], "one")
    with pytest.raises(NotFound):
        audit.list_events(two_orgs["acme_owner"])
    page = audit.list_events(two_orgs["operator"], action="token.", per_page=1)
    assert page.total == 1 and page.items[0].actor_email == "owner@acme.test"
    assert page.items[0].ip == "127.0.0.1"
    by_org = audit.list_events(two_orgs["operator"], org_id=two_orgs["globex_owner"].org_id)
    assert all(e.org_id == two_orgs["globex_owner"].org_id for e in by_org.items)


def test_profile_and_notifications(two_orgs):
    actor = two_orgs["acme_viewer"]
    assert users.update_profile(actor, name="Vera").name == "Vera"
    with pytest.raises(Invalid):
        users.update_profile(actor, name="  ")
    prefs = users.set_notifications(actor, {"billing": False}).notifications
    assert prefs["billing"] is False and prefs["maintenance"] is True
    with pytest.raises(Invalid):
        users.set_notifications(actor, {"spam": True})


def test_secrets_roundtrip_and_secret_key_is_generated(db):
    assert (db / "secret_key").exists()
    cipher = encrypt("kubeconfig-data")
    assert cipher != "kubeconfig-data" and decrypt(cipher) == "kubeconfig-data"
