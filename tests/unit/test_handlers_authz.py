"""Reflex event handlers called directly, as the browser could call them with any arguments.

Each handler must look the session up on the server: a signed-out client is redirected
and changes nothing; a user of another organisation gets "Not found" and sees nothing.
"""

from __future__ import annotations

import re

import pytest
import reflex as rx
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.auth import ApiToken
from mkportal.models.org import Membership
from mkportal.services import auth, invitations, operations, tokens
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import ClusterIn
from mkportal.state.admin import AdminState, AuditState, OutboxState
from mkportal.state.cluster_detail import ClusterState
from mkportal.state.cluster_new import NewClusterState
from mkportal.state.clusters import AdminClustersState, ClustersState
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
    (ClustersState, "load", ()),
    (AdminClustersState, "load", ()),
    (NewClusterState, "load", ()),
    (NewClusterState, "submit", ()),
    (ClusterState, "load", ()),
    (ClusterState, "save_pools", ()),
    (ClusterState, "save_features", ()),
    (ClusterState, "set_service_level", ("premium",)),
    (ClusterState, "download_kubeconfig", ()),
    (ClusterState, "rotate_credentials", ()),
    (ClusterState, "delete", ()),
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


def _acme_cluster(two_orgs) -> str:
    req = ClusterIn.model_validate(
        {
            "name": "secret",
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        }
    )
    cluster, _op, _ = actions.create_cluster(two_orgs["acme_member"], req)
    return cluster.id


def test_another_orgs_cluster_cannot_be_read_or_changed(two_orgs):
    cluster_id = _acme_cluster(two_orgs)
    state = make_state(ClusterState, session_for("owner@globex.test"))
    state.router.page.params["cluster_id"] = cluster_id
    ClusterState.load.fn(state)
    assert state.missing is True and state.cluster == {}
    state.live_key = cluster_id
    state.delete_confirm = "secret"
    state.pools = [{"name": "default", "machine_type": "s-2", "count": "9"}]
    for handler in ("save_pools", "save_features", "download_kubeconfig", "rotate_credentials"):
        assert "Not found" in _event_names(getattr(ClusterState, handler).fn(state))
    assert "Not found" in _event_names(ClusterState.set_service_level.fn(state, "premium"))
    assert "Not found" in _event_names(ClusterState.delete.fn(state))
    view = actions.get_cluster(two_orgs["acme_member"], cluster_id)
    assert (view.status, view.service_level, view.node_pools[0].count) == (
        "provisioning",
        "standard",
        1,
    )
    listing = make_state(ClustersState, session_for("owner@globex.test"))
    ClustersState.load.fn(listing)
    assert listing.clusters == []


def test_customers_cannot_use_the_admin_cluster_list(two_orgs):
    _acme_cluster(two_orgs)
    state = make_state(AdminClustersState, session_for("owner@globex.test"))
    assert "Not found" in _event_names(AdminClustersState.load.fn(state))
    assert state.clusters == []
    operator = make_state(AdminClustersState, session_for("ops@vshn.test"))
    AdminClustersState.load.fn(operator)
    assert [(c["name"], c["org_name"]) for c in operator.clusters] == [("secret", "Acme")]


def test_viewers_cannot_create_clusters_and_bad_input_is_reported(two_orgs):
    viewer = make_state(NewClusterState, session_for("viewer@acme.test"))
    NewClusterState.load.fn(viewer)
    viewer.name = "x1"
    assert "member role" in _event_names(NewClusterState.submit.fn(viewer))
    member = make_state(NewClusterState, session_for("member@acme.test"))
    NewClusterState.load.fn(member)
    member.name = "Bad Name"
    member.pools = [{**member.pools[0], "count": "lots"}]
    NewClusterState.submit.fn(member)
    assert "node_pools.0.count" in member.field_errors
    member.pools = [{**member.pools[0], "count": "2"}]
    NewClusterState.submit.fn(member)
    assert "name" in member.field_errors
    assert actions.list_clusters(two_orgs["operator"], all_orgs=True).total == 0
    member.name = "good"
    result = NewClusterState.submit.fn(member)
    again = NewClusterState.submit.fn(member)
    first = re.search(r"/clusters/[0-9a-f]{32}", _event_names(result)).group(0)
    assert first == re.search(r"/clusters/[0-9a-f]{32}", _event_names(again)).group(0)
    assert actions.list_clusters(two_orgs["operator"], all_orgs=True).total == 1


def test_only_operators_store_provider_credentials(two_orgs):
    from mkportal.services import provider_credentials

    owner = make_state(AdminState, session_for("owner@acme.test"))
    owner.provider_choice = "eks"
    result = AdminState.save_provider.fn(owner, {"access_key_id": "AKIA-EVIL"})
    assert "Not found" in _event_names(result)
    operator = make_state(AdminState, session_for("ops@vshn.test"))
    operator.provider_choice = "eks"
    AdminState.save_provider.fn(
        operator, {"access_key_id": "AKIA1", "secret_access_key": "s3cret", "subnet_ids": "a, b"}
    )
    stored = {
        p.provider: p.configured_keys for p in provider_credentials.status(two_orgs["operator"])
    }
    assert stored["eks"] == ["access_key_id", "secret_access_key", "subnet_ids"]
    assert "s3cret" not in str(operator.providers)
    AdminState.save_provider.fn(operator, {"region": "nowhere", "bogus": "x"})
    assert "bogus" in operator.field_errors
