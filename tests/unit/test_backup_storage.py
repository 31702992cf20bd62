"""Backup storage: the local store, settings validation, roles and isolation."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.backup import BackupStorage
from mkportal.services.backup.storage import (
    LocalStore,
    ObjectMissing,
    StoreError,
    get_storage,
    local_root,
    set_storage,
    store_for,
)
from mkportal.services.errors import Forbidden, Invalid


def test_local_store_writes_atomically_reads_and_deletes(tmp_path):
    store = LocalStore(tmp_path / "org")
    store.put("c1/b1.mkb", b"one")
    store.put("c1/b1.mkb", b"two")
    assert store.get("c1/b1.mkb") == b"two" and store.exists("c1/b1.mkb")
    assert [p.name for p in (tmp_path / "org" / "c1").iterdir()] == ["b1.mkb"]
    store.delete("c1/b1.mkb")
    store.delete("c1/b1.mkb")
    assert not store.exists("c1/b1.mkb")
    with pytest.raises(ObjectMissing):
        store.get("c1/b1.mkb")


@pytest.mark.parametrize("key", ["../escape", "/abs/path", "a/../../b", "a//b", ".hidden", ""])
def test_keys_cannot_leave_the_store(tmp_path, key):
    with pytest.raises(StoreError):
        LocalStore(tmp_path).put(key, b"x")


def test_without_settings_each_org_has_its_own_local_directory(two_orgs):
    acme, globex = two_orgs["acme_owner"].org_id, two_orgs["globex_owner"].org_id
    a, g = store_for(acme), store_for(globex)
    assert a.kind == "local" and a.root == local_root(acme) and a.root != g.root
    a.put("c/b.mkb", b"acme")
    assert not g.exists("c/b.mkb")
    view = get_storage(two_orgs["acme_viewer"])
    assert view.kind == "local" and not view.has_credentials
    with pytest.raises(StoreError, match="no longer configured"):
        store_for(acme, "s3")


def test_only_owners_change_the_storage_and_it_is_audited(two_orgs):
    for name in ("acme_member", "acme_viewer"):
        with pytest.raises(Forbidden):
            set_storage(two_orgs[name], {"kind": "local"})
    view = set_storage(two_orgs["acme_owner"], {"kind": "local"})
    assert view.kind == "local" and view.updated_by == "owner@acme.test"
    with session_scope() as s:
        events = s.exec(
            select(AuditEvent).where(AuditEvent.action == "backup.storage_updated")
        ).all()
    assert [e.org_id for e in events] == [two_orgs["acme_owner"].org_id]
    assert get_storage(two_orgs["globex_owner"]).updated_by == ""


S3 = {
    "kind": "s3",
    "bucket": "backups",
    "access_key_id": "AKIAEXAMPLE",
    "secret_access_key": "secret",
}
BAD = {
    "kind": {"kind": "ftp"},
    "bucket": {**S3, "bucket": "Bad_Bucket"},
    "bucket-ip": {**S3, "bucket": "192.168.1.1"},
    "prefix": {**S3, "prefix": "a/../b"},
    "endpoint_url": {**S3, "endpoint_url": "ftp://x"},
    "endpoint_url-plain-http": {**S3, "endpoint_url": "http://s3.example.com"},
    "region": {**S3, "region": "EU Central"},
    "access_key_id": {**S3, "secret_access_key": ""},
    "unknown": {**S3, "color": "red"},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_settings_are_refused_per_field(two_orgs, case):
    with pytest.raises(Invalid) as err:
        set_storage(two_orgs["acme_owner"], BAD[case])
    field = {"unknown": "color"}.get(case, case.split("-")[0])
    assert field in err.value.errors


def test_an_unreachable_s3_endpoint_fails_the_probe_and_nothing_is_saved(two_orgs):
    data = {**S3, "endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(Invalid, match="cannot use this storage"):
        set_storage(two_orgs["acme_owner"], data)
    with session_scope() as s:
        assert s.get(BackupStorage, two_orgs["acme_owner"].org_id) is None
