"""A fake of the GKE REST API (container.googleapis.com/v1), the subset the adapter calls.

It follows the published resource shapes: Cluster, NodePool and Operation JSON with
camelCase fields; mutations answer with an Operation and take `delay` seconds to finish.
Errors can be injected per method name (`fail[name] = (http status, GRPC status)`), for
a number of calls when `fail_times[name]` is set.
"""

from __future__ import annotations

import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class FakeGke:
    """In-memory GKE: clusters with node pools and add-ons."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.clusters: dict[str, dict] = {}
        self.fail: dict[str, tuple[int, str]] = {}
        self.fail_times: dict[str, int] = {}
        self.calls: list[str] = []
        self.app = self._build()

    def _op(self, kind: str, target: str) -> dict:
        return {
            "name": f"operation-{uuid.uuid4().hex[:12]}",
            "operationType": kind,
            "status": "RUNNING",
            "targetLink": target,
            "selfLink": target,
        }

    def _settle(self, obj: dict, busy: str, ready: str) -> None:
        if obj.get("status") == busy and time.monotonic() >= obj.get("_ready_at", 0):
            obj["status"] = ready

    def _view(self, name: str) -> dict | None:
        cluster = self.clusters.get(name)
        if cluster is None:
            return None
        if cluster["status"] == "STOPPING" and time.monotonic() >= cluster["_ready_at"]:
            del self.clusters[name]
            return None
        self._settle(cluster, "PROVISIONING", "RUNNING")
        self._settle(cluster, "RECONCILING", "RUNNING")
        for pool in list(cluster["nodePools"]):
            if pool["status"] == "STOPPING" and time.monotonic() >= pool["_ready_at"]:
                cluster["nodePools"].remove(pool)
            self._settle(pool, "PROVISIONING", "RUNNING")
            self._settle(pool, "RECONCILING", "RUNNING")
        return {k: v for k, v in cluster.items() if not k.startswith("_")} | {
            "nodePools": [
                {k: v for k, v in p.items() if not k.startswith("_")} for p in cluster["nodePools"]
            ]
        }

    def _busy(self, obj: dict, status: str) -> None:
        obj["status"] = status
        obj["_ready_at"] = time.monotonic() + self.delay

    def _build(self) -> FastAPI:  # noqa: C901 - one route table
        app = FastAPI()
        fake = self

        def error(code: int, status: str, message: str) -> JSONResponse:
            return JSONResponse(
                {"error": {"code": code, "status": status, "message": message}}, status_code=code
            )

        def injected(method: str) -> JSONResponse | None:
            fake.calls.append(method)
            if method in fake.fail:
                code, status = fake.fail[method]
                left = fake.fail_times.get(method)
                if left is not None:
                    if left <= 0:
                        return None
                    fake.fail_times[method] = left - 1
                return error(code, status, f"injected {status} on {method}")
            return None

        @app.post("/v1/projects/{project}/locations/{location}/clusters")
        async def create_cluster(project: str, location: str, request: Request):  # noqa: ANN202
            if err := injected("create_cluster"):
                return err
            body = (await request.json())["cluster"]
            name = f"projects/{project}/locations/{location}/clusters/{body['name']}"
            if name in fake.clusters:
                return error(409, "ALREADY_EXISTS", f"Already exists: {name}.")
            pools = [
                {**p, "selfLink": f"{name}/nodePools/{p['name']}"}
                for p in body.get("nodePools", [])
            ]
            for p in pools:
                fake._busy(p, "PROVISIONING")
            cluster = {
                **body,
                "selfLink": name,
                "location": location,
                "currentMasterVersion": body.get("initialClusterVersion", "1.34") + ".1-gke.100",
                "endpoint": "203.0.113.40",
                "masterAuth": {"clusterCaCertificate": "LS0tLS1CRUdJTi1GQUtFLUNBLS0tLS0K"},
                "addonsConfig": body.get("addonsConfig", {}),
                "nodePools": pools,
            }
            fake._busy(cluster, "PROVISIONING")
            fake.clusters[name] = cluster
            return fake._op("CREATE_CLUSTER", name)

        @app.get("/v1/projects/{project}/locations/{location}/clusters/{cluster}")
        def get_cluster(project: str, location: str, cluster: str):  # noqa: ANN202
            if err := injected("get_cluster"):
                return err
            name = f"projects/{project}/locations/{location}/clusters/{cluster}"
            view = fake._view(name)
            return view if view else error(404, "NOT_FOUND", f"Not found: {name}.")

        @app.delete("/v1/projects/{project}/locations/{location}/clusters/{cluster}")
        def delete_cluster(project: str, location: str, cluster: str):  # noqa: ANN202
            if err := injected("delete_cluster"):
                return err
            name = f"projects/{project}/locations/{location}/clusters/{cluster}"
            if fake._view(name) is None:
                return error(404, "NOT_FOUND", f"Not found: {name}.")
            fake._busy(fake.clusters[name], "STOPPING")
            return fake._op("DELETE_CLUSTER", name)

        @app.post("/v1/projects/{project}/locations/{location}/clusters/{cluster}:setAddons")
        async def set_addons(project: str, location: str, cluster: str, request: Request):  # noqa: ANN202
            if err := injected("set_addons"):
                return err
            name = f"projects/{project}/locations/{location}/clusters/{cluster}"
            if fake._view(name) is None:
                return error(404, "NOT_FOUND", f"Not found: {name}.")
            fake.clusters[name]["addonsConfig"] = (await request.json())["addonsConfig"]
            return fake._op("SET_ADDONS", name)

        @app.post("/v1/projects/{project}/locations/{location}/clusters/{cluster}:startIpRotation")
        def rotate(project: str, location: str, cluster: str):  # noqa: ANN202
            if err := injected("start_ip_rotation"):
                return err
            name = f"projects/{project}/locations/{location}/clusters/{cluster}"
            fake.clusters[name]["masterAuth"] = {
                "clusterCaCertificate": "LS0tLS1ST1RBVEVELUNBLS0tLS0K"
            }
            return fake._op("IP_ROTATION", name)

        def pool_of(project: str, location: str, cluster: str, pool: str) -> dict | None:
            view = fake._view(f"projects/{project}/locations/{location}/clusters/{cluster}")
            if view is None:
                return None
            c = fake.clusters[f"projects/{project}/locations/{location}/clusters/{cluster}"]
            return next((p for p in c["nodePools"] if p["name"] == pool), None)

        @app.post("/v1/projects/{project}/locations/{location}/clusters/{cluster}/nodePools")
        async def create_pool(project: str, location: str, cluster: str, request: Request):  # noqa: ANN202
            if err := injected("create_node_pool"):
                return err
            body = (await request.json())["nodePool"]
            name = f"projects/{project}/locations/{location}/clusters/{cluster}"
            if fake._view(name) is None:
                return error(404, "NOT_FOUND", f"Not found: {name}.")
            if pool_of(project, location, cluster, body["name"]):
                return error(409, "ALREADY_EXISTS", f"Already exists: {body['name']}.")
            pool = {**body, "selfLink": f"{name}/nodePools/{body['name']}"}
            fake._busy(pool, "PROVISIONING")
            fake.clusters[name]["nodePools"].append(pool)
            return fake._op("CREATE_NODE_POOL", pool["selfLink"])

        @app.api_route(
            "/v1/projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{action}",
            methods=["POST", "PUT", "DELETE", "GET"],
        )
        async def pool_action(
            project: str, location: str, cluster: str, action: str, request: Request
        ):  # noqa: ANN202
            pool_name, _, verb = action.partition(":")
            verb = verb or request.method.lower()
            if err := injected(f"node_pool_{verb}"):
                return err
            pool = pool_of(project, location, cluster, pool_name)
            if pool is None:
                return error(404, "NOT_FOUND", f"Not found: node pool {pool_name}.")
            if verb == "get":
                return {k: v for k, v in pool.items() if not k.startswith("_")}
            body = await request.json() if verb != "delete" else {}
            if verb == "setSize":
                pool["initialNodeCount"] = int(body["nodeCount"])
            elif verb == "setAutoscaling":
                pool["autoscaling"] = body["autoscaling"]
            elif verb == "put" and body.get("machineType"):
                pool.setdefault("config", {})["machineType"] = body["machineType"]
            fake._busy(pool, "STOPPING" if verb == "delete" else "RECONCILING")
            return fake._op(verb.upper(), pool["selfLink"])

        return app
