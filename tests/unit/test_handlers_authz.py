"""Reflex event handlers called directly, as the browser could call them with any arguments.

Each handler must look the session up on the server: a signed-out client is redirected
and changes nothing; a user of another organisation gets "Not found" and sees nothing.
"""

from __future__ import annotations

import pytest
import reflex as rx
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.auth import ApiToken
from mkportal.models.org import Membership
from mkportal.services import auth, invitations, operations, tokens
from mkportal.state.admin import AdminState, AuditState, OutboxState
from mkportal.state.members import MembersState
from mkportal.state.operations import OperationsState, OperationState
from mkportal.state.settings import SettingsState
from tests.conftest import PASSWORD


def make_state(cls: type[rx.State], session_token: str = "") -> rx.State:
    """Instantiate the state tree and return the `cls` substate, signed in with the token."""
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    state.session_token = session_token
    return state


def session_for(email: str) -> str:
    return auth.login(email, PASSWORD).token


def _event_names(result) -> str:
    events = result if isinstance(result, list) else [result]
    return " ".join(repr(e) for e in events if e is not None)


SIGNED_OUT_CALLS = [
    (OperationsState, "load", ()),
    (OperationsState, "run_diagnostic", ({"steps": 1, "sleep": 0},)),
    (OperationState, "cancel", ()),
    (OperationState, "retry", ()),
    (SettingsState, "load", ()),
    (SettingsState, "create_token", ({"token_name": "x"},)),
    (SettingsState, "revoke_token", ("any",)),
    (SettingsState, "change_password", ({"current_password": "a", "new_password": "b" * 12},)),
    (SettingsState, "save_profile", ({"name": "Mallory"},)),
    (MembersState, "load", ()),
    (MembersState, "invite", ({"invite_email": "x@y.test", "invite_role": "owner"},)),
    (MembersState, "change_role", ("uid", "owner")),
    (MembersState, "remove", ("uid",)),
    (AdminState, "load", ()),
    (AuditState, "load", ()),
    (OutboxState, "load", ()),
    (OutboxState, "open_mail", ("x.eml",)),
]


@pytest.mark.parametrize(("cls", "handler", "args"), SIGNED_OUT_CALLS)
@pytest.mark.parametrize("token", ["", "mks_garbage", "mkp_not-a-session"])
def test_signed_out_clients_are_redirected_and_change_nothing(two_orgs, cls, handler, args, token):
    state = make_state(cls, token)
    result = getattr(cls, handler).fn(state, *args)
    assert "/login" in _event_names(result)
    with session_scope() as s:
        assert s.exec(select(ApiToken)).all() == []
    assert operations.list_operations(two_orgs["operator"], all_orgs=True).total == 0


def test_revoked_session_is_signed_out(two_orgs):
    token = session_for("owner@acme.test")
    auth.logout(token)
    state = make_state(SettingsState, token)
    assert "/login" in _event_names(SettingsState.load.fn(state))
    assert state.tokens == []


def test_another_orgs_operation_is_not_found(two_orgs):
    op, _ = operations.request(two_orgs["acme_member"], "noop", params={"steps": 1})
    state = make_state(OperationState, session_for("owner@globex.test"))
    state.router.page.params["op_id"] = op.id
    OperationState.load.fn(state)
    assert state.missing is True
    assert state.op == {}
    state.live_key = op.id
    result = OperationState.cancel.fn(state)
    assert "Not found" in _event_names(result)
    assert operations.get(two_orgs["operator"], op.id).status == "pending"


def test_another_orgs_operations_are_not_listed(two_orgs):
    operations.request(two_orgs["acme_member"], "noop", params={"steps": 1})
    state = make_state(OperationsState, session_for("owner@globex.test"))
    OperationsState.load.fn(state)
    assert state.items == []
    acme = make_state(OperationsState, session_for("member@acme.test"))
    OperationsState.load.fn(acme)
    assert len(acme.items) == 1


def test_another_users_token_cannot_be_revoked(two_orgs):
    _, info = tokens.create_token(two_orgs["acme_owner"], "ci")
    state = make_state(SettingsState, session_for("owner@globex.test"))
    result = SettingsState.revoke_token.fn(state, info.id)
    assert "Not found" in _event_names(result)
    assert tokens.list_tokens(two_orgs["acme_owner"])[0].revoked_at is None


def test_members_of_another_org_cannot_be_changed_or_removed(two_orgs):
    victim = two_orgs["acme_member"].user_id
    state = make_state(MembersState, session_for("owner@globex.test"))
    MembersState.change_role.fn(state, victim, "owner")
    MembersState.remove.fn(state, victim)
    with session_scope() as s:
        m = s.exec(select(Membership).where(Membership.user_id == victim)).one()
        assert m.role == "member"


def test_viewer_and_member_cannot_invite_or_change_roles(two_orgs):
    for email in ("viewer@acme.test", "member@acme.test"):
        state = make_state(MembersState, session_for(email))
        result = MembersState.invite.fn(
            state, {"invite_email": "new@x.test", "invite_role": "owner"}
        )
        assert "owner role" in _event_names(result)
        MembersState.change_role.fn(state, two_orgs["acme_viewer"].user_id, "owner")
    assert invitations.list_invitations(two_orgs["acme_owner"]) == []
    with session_scope() as s:
        m = s.exec(
            select(Membership).where(Membership.user_id == two_orgs["acme_viewer"].user_id)
        ).one()
        assert m.role == "viewer"


def test_viewer_cannot_run_operations(two_orgs):
    state = make_state(OperationsState, session_for("viewer@acme.test"))
    result = OperationsState.run_diagnostic.fn(state, {"steps": 1})
    assert "member role" in _event_names(result)
    assert operations.list_operations(two_orgs["operator"], all_orgs=True).total == 0


@pytest.mark.parametrize("cls", [AdminState, AuditState, OutboxState])
def test_admin_handlers_are_operator_only(two_orgs, cls):
    state = make_state(cls, session_for("owner@acme.test"))
    result = cls.load.fn(state)
    assert "Not found" in _event_names(result)
    operator = make_state(cls, session_for("ops@vshn.test"))
    assert cls.load.fn(operator) is None


def test_owner_runs_the_members_and_token_flows(two_orgs):
    state = make_state(MembersState, session_for("owner@acme.test"))
    MembersState.load.fn(state)
    assert {m["email"] for m in state.members} == {
        "owner@acme.test",
        "member@acme.test",
        "viewer@acme.test",
    }
    MembersState.invite.fn(state, {"invite_email": "new@acme.test", "invite_role": "viewer"})
    assert state.invite_link.startswith("http")
    assert [i["email"] for i in state.invitations] == ["new@acme.test"]

    settings = make_state(SettingsState, session_for("member@acme.test"))
    SettingsState.create_token.fn(settings, {"token_name": "ci", "expires_days": "30"})
    assert settings.new_token.startswith("mkp_")
    assert tokens.token_actor(settings.new_token).email == "member@acme.test"
    SettingsState.create_token.fn(settings, {"token_name": "bad", "expires_days": "x"})
    assert "expires_days" in settings.field_errors
