"""Backups to S3 (moto's server over HTTP) and the backups REST API."""

from __future__ import annotations

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.backup import BackupStorage
from mkportal.services import tokens
from mkportal.services.backup import backups
from mkportal.services.backup.archive import unpack
from mkportal.services.backup.storage import get_storage, set_storage, store_for
from mkportal.services.errors import Invalid
from tests.integration.test_backups import cluster  # noqa: F401  (fixture)
from tests.integration.test_sandbox_k8s import portal_url  # noqa: F401  (fixture)
from tests.unit.test_clusters import _run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_url, request) -> dict:
    name = f"mk-{request.node.name[:20].lower().replace('_', '-')}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="AKIATESTING1234",
        aws_secret_access_key="s3cr3t-value",
    )
    s3.create_bucket(Bucket=name)
    return {
        "client": s3,
        "settings": {
            "kind": "s3",
            "bucket": name,
            "prefix": "portal/backups",
            "endpoint_url": moto_url,
            "region": "us-east-1",
            "access_key_id": "AKIATESTING1234",
            "secret_access_key": "s3cr3t-value",
        },
    }


def _keys(bucket: dict) -> list[str]:
    listed = bucket["client"].list_objects_v2(Bucket=bucket["settings"]["bucket"])
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_s3_settings_are_probed_and_the_secret_is_stored_encrypted(two_orgs, bucket):
    owner = two_orgs["acme_owner"]
    view = set_storage(owner, bucket["settings"])
    assert view.kind == "s3" and view.access_key_id == "…1234" and view.has_credentials
    assert view.location.startswith(f"s3://{bucket['settings']['bucket']}/portal/backups")
    assert "s3cr3t" not in repr(get_storage(two_orgs["acme_viewer"]))
    with session_scope() as s:
        row = s.get(BackupStorage, owner.org_id)
    assert "s3cr3t" not in row.credentials_enc and "AKIATESTING" not in row.credentials_enc
    assert _keys(bucket) == []  # the probe object was removed
    kept = set_storage(owner, {**bucket["settings"], "access_key_id": "", "secret_access_key": ""})
    assert kept.has_credentials and kept.access_key_id == "…1234"
    with pytest.raises(Invalid, match="NoSuchBucket"):
        set_storage(owner, {**bucket["settings"], "bucket": "no-such-bucket"})
    assert get_storage(owner).bucket == bucket["settings"]["bucket"]


def test_a_backup_goes_to_s3_below_the_prefix_and_is_deleted_there(cluster, two_orgs, bucket):  # noqa: F811
    set_storage(two_orgs["acme_owner"], bucket["settings"])
    view = backups.back_up_now(two_orgs["acme_member"], cluster["id"])
    assert view.storage_kind == "s3"
    assert _run(view.operation_id) == "succeeded"
    key = f"portal/backups/{cluster['id']}/{view.id}.mkb"
    assert _keys(bucket) == [key]
    done = backups.get_backup(two_orgs["acme_member"], view.id)
    data = store_for(cluster["org"], "s3").get(done.storage_key)
    assert unpack(data, done.checksum).counts == done.counts
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    bucket["client"].put_object(Bucket=bucket["settings"]["bucket"], Key=key, Body=tampered)
    with pytest.raises(Invalid, match="checksum"):
        unpack(store_for(cluster["org"], "s3").get(done.storage_key), done.checksum)
    backups.delete_backup(two_orgs["acme_member"], view.id)
    assert _keys(bucket) == []


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


def test_the_backups_api(cluster, two_orgs):  # noqa: F811
    api = TestClient(create_api(), raise_server_exceptions=False)
    member, viewer = _auth(two_orgs["acme_member"]), _auth(two_orgs["acme_viewer"])
    owner, globex = _auth(two_orgs["acme_owner"]), _auth(two_orgs["globex_owner"])
    url = f"/api/v1/clusters/{cluster['id']}/backups"
    assert api.post(url, headers=viewer).status_code == 403
    assert api.post(url, headers=globex).status_code == 404
    r = api.post(url, headers={**member, "Idempotency-Key": "api-1"})
    assert r.status_code == 202, r.text
    backup, op = r.json()["backup"], r.json()["operation"]
    assert backup["status"] == "running" and op["kind"] == "backup.create"
    again = api.post(url, headers={**member, "Idempotency-Key": "api-1"})
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["backup"]["id"] == backup["id"]
    assert _run(op["id"]) == "succeeded"
    listed = api.get(url, headers=viewer, params={"per_page": 10}).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "succeeded"
    assert api.get(url, headers=globex).status_code == 404
    one = f"/api/v1/backups/{backup['id']}"
    assert api.get(one, headers=viewer).json()["counts"]["core/ConfigMap"] == 3
    assert api.get(one, headers=globex).status_code == 404
    assert api.patch(one, headers=viewer, json={"locked": True}).status_code == 403
    assert api.patch(one, headers=member, json={"locked": True}).json()["locked"] is True
    refused = api.delete(one, headers=member)
    assert refused.status_code == 409 and "locked" in refused.text
    assert api.patch(one, headers=member, json={"locked": False}).status_code == 200
    assert api.delete(one, headers=globex).status_code == 404
    assert api.delete(one, headers=member).status_code == 204
    assert api.get(one, headers=member).status_code == 404
    storage = "/api/v1/backup-storage"
    assert api.get(storage, headers=viewer).json()["kind"] == "local"
    assert api.put(storage, headers=member, json={"kind": "local"}).status_code == 403
    bad = api.put(storage, headers=owner, json={"kind": "s3", "bucket": "x"})
    assert bad.status_code == 422 and "bucket" in bad.text
    assert api.put(storage, headers=owner, json={"kind": "local"}).status_code == 200
