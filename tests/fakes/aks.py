"""A fake of the Azure Resource Manager API for AKS (Microsoft.ContainerService), the subset
the adapter calls: managed clusters, agent pools, admin credentials, certificate rotation.

Resources follow the published ARM shapes (`{id, name, location, properties: {...}}`);
`provisioningState` moves from Creating/Updating/Deleting to Succeeded (or away) after
`delay` seconds. Errors can be injected per operation (`fail[name] = (status, code)`), for
a number of calls when `fail_times[name]` is set.
"""

from __future__ import annotations

import base64
import time

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

BASE = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService"
    "/managedClusters/{name}"
)
BUSY = ("Creating", "Updating", "Scaling", "Upgrading")


class FakeAks:
    """In-memory AKS."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.clusters: dict[str, dict] = {}
        self.pools: dict[str, dict[str, dict]] = {}
        self.fail: dict[str, tuple[int, str]] = {}
        self.fail_times: dict[str, int] = {}
        self.cert_generation = 1
        self.app = self._build()

    def _settle(self, resource: dict) -> bool:
        """Advance a resource's provisioningState; False when it is gone."""
        props = resource["properties"]
        if time.monotonic() < resource.get("_ready_at", 0):
            return True
        if props["provisioningState"] == "Deleting":
            return False
        if props["provisioningState"] in BUSY:
            props["provisioningState"] = "Succeeded"
        return True

    def _public(self, resource: dict) -> dict:
        return {k: v for k, v in resource.items() if not k.startswith("_")}

    def _busy(self, resource: dict, state: str) -> None:
        resource["properties"]["provisioningState"] = state
        resource["_ready_at"] = time.monotonic() + self.delay

    def cluster(self, name: str) -> dict | None:
        """Return a cluster (settled), or None."""
        c = self.clusters.get(name)
        if c is not None and not self._settle(c):
            del self.clusters[name]
            self.pools.pop(name, None)
            return None
        if c is not None:
            pools = self.pools.setdefault(name, {})
            for pool_name in list(pools):
                if not self._settle(pools[pool_name]):
                    del pools[pool_name]
            c["properties"]["agentPoolProfiles"] = [
                {"name": n, **p["properties"]} for n, p in pools.items()
            ]
        return c

    def _build(self) -> FastAPI:  # noqa: C901 - one route table
        app = FastAPI()
        fake = self

        def error(status: int, code: str, message: str) -> JSONResponse:
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

        def injected(op: str) -> JSONResponse | None:
            if op in fake.fail:
                status, code = fake.fail[op]
                left = fake.fail_times.get(op)
                if left is not None:
                    if left <= 0:
                        return None
                    fake.fail_times[op] = left - 1
                return error(status, code, f"injected {code} on {op}")
            return None

        def missing(name: str) -> JSONResponse:
            return error(404, "ResourceNotFound", f"The Resource '{name}' was not found.")

        @app.put(BASE)
        async def put_cluster(sub: str, rg: str, name: str, request: Request):  # noqa: ANN202
            if err := injected("put_cluster"):
                return err
            body = await request.json()
            existing = fake.cluster(name)
            props = body.get("properties", {})
            resource = {
                "id": BASE.format(sub=sub, rg=rg, name=name),
                "name": name,
                "type": "Microsoft.ContainerService/managedClusters",
                "location": body.get("location", "westeurope"),
                "tags": body.get("tags", {}),
                "identity": body.get("identity"),
                "properties": {
                    **props,
                    "fqdn": f"{props.get('dnsPrefix', name)}-abc123.hcp.westeurope.azmk8s.io",
                    "currentKubernetesVersion": props.get("kubernetesVersion", "1.34"),
                },
            }
            if existing is None:
                for profile in props.get("agentPoolProfiles", []):
                    pool = {
                        "name": profile["name"],
                        "properties": {k: v for k, v in profile.items() if k != "name"},
                    }
                    fake._busy(pool, "Creating")
                    fake.pools.setdefault(name, {})[profile["name"]] = pool
            resource["properties"].pop("agentPoolProfiles", None)
            fake._busy(resource, "Creating" if existing is None else "Updating")
            fake.clusters[name] = resource
            fake.cluster(name)
            return JSONResponse(
                fake._public(resource), status_code=201 if existing is None else 200
            )

        @app.get(BASE)
        def get_cluster(sub: str, rg: str, name: str):  # noqa: ANN202
            if err := injected("get_cluster"):
                return err
            c = fake.cluster(name)
            return fake._public(c) if c else missing(name)

        @app.delete(BASE)
        def delete_cluster(sub: str, rg: str, name: str):  # noqa: ANN202
            if err := injected("delete_cluster"):
                return err
            c = fake.cluster(name)
            if c is None:
                return Response(status_code=204)
            fake._busy(c, "Deleting")
            return Response(status_code=202)

        @app.post(BASE + "/listClusterAdminCredential")
        def credentials(sub: str, rg: str, name: str):  # noqa: ANN202
            c = fake.cluster(name)
            if c is None:
                return missing(name)
            doc = {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": name,
                        "cluster": {
                            "server": f"https://{c['properties']['fqdn']}:443",
                            "certificate-authority-data": f"Q0EtZ2VuLXtmYWtlfS0{fake.cert_generation}",
                        },
                    }
                ],
                "users": [
                    {
                        "name": f"clusterAdmin_{rg}_{name}",
                        "user": {
                            "client-certificate-data": f"Q0VSVC0{fake.cert_generation}",
                            "client-key-data": "S0VZ",
                            "token": f"admin-token-{fake.cert_generation}",
                        },
                    }
                ],
            }
            value = base64.b64encode(yaml.safe_dump(doc).encode()).decode()
            return {"kubeconfigs": [{"name": "clusterAdmin", "value": value}]}

        @app.post(BASE + "/rotateClusterCertificates")
        def rotate(sub: str, rg: str, name: str):  # noqa: ANN202
            fake.cert_generation += 1
            return Response(status_code=202)

        @app.get(BASE + "/agentPools")
        def list_pools(sub: str, rg: str, name: str):  # noqa: ANN202
            if fake.cluster(name) is None:
                return missing(name)
            base = BASE.format(sub=sub, rg=rg, name=name)
            return {
                "value": [
                    {"id": f"{base}/agentPools/{n}", **fake._public(p)}
                    for n, p in fake.pools.get(name, {}).items()
                ]
            }

        @app.api_route(BASE + "/agentPools/{pool}", methods=["GET", "PUT", "DELETE"])
        async def pool(sub: str, rg: str, name: str, pool: str, request: Request):  # noqa: ANN202
            if err := injected(f"{request.method.lower()}_pool"):
                return err
            if fake.cluster(name) is None:
                return missing(name)
            pools = fake.pools.setdefault(name, {})
            current = pools.get(pool)
            if request.method == "GET":
                return fake._public(current) if current else missing(pool)
            if request.method == "DELETE":
                if current is None:
                    return Response(status_code=204)
                fake._busy(current, "Deleting")
                return Response(status_code=202)
            body = await request.json()
            resource = {"name": pool, "properties": dict(body.get("properties", {}))}
            fake._busy(resource, "Creating" if current is None else "Scaling")
            pools[pool] = resource
            return JSONResponse(fake._public(resource), status_code=201 if current is None else 200)

        return app
