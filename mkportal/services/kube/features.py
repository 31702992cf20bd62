"""Features applied as manifests with the kubernetes client, and their readiness.

Every catalog feature without a provider add-on is installed as a namespace
`mk-<feature>` with a ServiceAccount and its workload (a Deployment or a DaemonSet),
labelled `app.kubernetes.io/managed-by=mkportal`. Applying is idempotent: an existing
object is replaced. Removal deletes the namespace.
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.rest import ApiException

from mkportal.services.catalog import FEATURES_BY_SLUG

MANAGED = {"app.kubernetes.io/managed-by": "mkportal"}
DAEMONSETS = {"log-agent", "network-policy", "metrics-agent"}
IMAGES = {
    "ingress-controller": "registry.k8s.io/ingress-nginx/controller:v1.12.1",
    "cert-manager": "quay.io/jetstack/cert-manager-controller:v1.17.2",
    "metrics-agent": "quay.io/prometheus/prometheus:v3.3.0",
    "log-agent": "cr.fluentbit.io/fluent/fluent-bit:4.0.1",
    "backup-agent": "velero/velero:v1.16.0",
    "cluster-autoscaler": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.0",
    "rwx-storage": "registry.k8s.io/sig-storage/nfsplugin:v4.11.0",
    "network-policy": "docker.io/calico/node:v3.30.0",
}
LOG_AGENT_CONFIG = "fluent-bit-config"
LOG_AGENT_SECRET = "log-agent-token"
LOG_TOKEN_ENV = "MKPORTAL_LOG_TOKEN"
METRICS_AGENT_CONFIG = "metrics-agent-config"
METRICS_AGENT_SECRET = "metrics-agent-token"
METRICS_AGENT_START = (
    'sed "s/__NODE_NAME__/$NODE_NAME/g" /etc/prometheus/prometheus.yml > /prometheus/agent.yml'
    " && exec /bin/prometheus --agent --config.file=/prometheus/agent.yml"
    " --storage.agent.path=/prometheus/wal"
)


def namespace(slug: str) -> str:
    """Return the namespace a feature is installed in."""
    return f"mk-{slug}"


def _labels(slug: str) -> dict:
    return {**MANAGED, "app.kubernetes.io/name": slug}


def _log_agent_spec() -> client.V1PodSpec:
    """Return the fluent-bit pod: node logs, its config map and token (both optional)."""
    token = client.V1EnvVarSource(
        secret_key_ref=client.V1SecretKeySelector(name=LOG_AGENT_SECRET, key="token", optional=True)
    )
    return client.V1PodSpec(
        service_account_name="log-agent",
        tolerations=[client.V1Toleration(operator="Exists")],
        containers=[
            client.V1Container(
                name="log-agent",
                image=IMAGES["log-agent"],
                env=[client.V1EnvVar(name=LOG_TOKEN_ENV, value_from=token)],
                volume_mounts=[
                    client.V1VolumeMount(name="varlog", mount_path="/var/log", read_only=True),
                    client.V1VolumeMount(name="config", mount_path="/fluent-bit/etc/"),
                ],
            )
        ],
        volumes=[
            client.V1Volume(
                name="varlog", host_path=client.V1HostPathVolumeSource(path="/var/log")
            ),
            client.V1Volume(
                name="config",
                config_map=client.V1ConfigMapVolumeSource(name=LOG_AGENT_CONFIG, optional=True),
            ),
        ],
    )


def _metrics_agent_spec() -> client.V1PodSpec:
    """Return the Prometheus agent pod: agent mode with its config map (optional).

    Each agent of the DaemonSet scrapes the pods of its own node: the config's
    `__NODE_NAME__` placeholder is replaced with the node's name before the start.
    """
    node = client.V1EnvVarSource(field_ref=client.V1ObjectFieldSelector(field_path="spec.nodeName"))
    return client.V1PodSpec(
        service_account_name="metrics-agent",
        containers=[
            client.V1Container(
                name="metrics-agent",
                image=IMAGES["metrics-agent"],
                command=["/bin/sh", "-c"],
                args=[METRICS_AGENT_START],
                env=[client.V1EnvVar(name="NODE_NAME", value_from=node)],
                volume_mounts=[
                    client.V1VolumeMount(name="config", mount_path="/etc/prometheus/"),
                    client.V1VolumeMount(name="wal", mount_path="/prometheus"),
                    client.V1VolumeMount(name="token", mount_path="/etc/mkportal", read_only=True),
                ],
            )
        ],
        volumes=[
            client.V1Volume(
                name="config",
                config_map=client.V1ConfigMapVolumeSource(name=METRICS_AGENT_CONFIG, optional=True),
            ),
            client.V1Volume(name="wal", empty_dir=client.V1EmptyDirVolumeSource()),
            client.V1Volume(
                name="token",
                secret=client.V1SecretVolumeSource(secret_name=METRICS_AGENT_SECRET, optional=True),
            ),
        ],
    )


def _pod_spec(slug: str) -> client.V1PodTemplateSpec:
    if slug == "log-agent":
        spec = _log_agent_spec()
    elif slug == "metrics-agent":
        spec = _metrics_agent_spec()
    else:
        spec = client.V1PodSpec(
            service_account_name=slug,
            containers=[client.V1Container(name=slug, image=IMAGES[slug])],
        )
    return client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=_labels(slug)), spec=spec)


def apply(api: client.ApiClient, slug: str) -> None:
    """Install or update feature `slug` in the cluster."""
    if slug not in FEATURES_BY_SLUG:
        raise ValueError(f"unknown feature {slug}")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns = namespace(slug)
    meta = client.V1ObjectMeta(name=ns, labels=_labels(slug))
    try:
        core.create_namespace(client.V1Namespace(metadata=meta))
    except ApiException as exc:
        if exc.status != 409:
            raise
    sa = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=slug, labels=_labels(slug)))
    try:
        core.create_namespaced_service_account(ns, sa)
    except ApiException as exc:
        if exc.status != 409:
            raise
    selector = client.V1LabelSelector(match_labels=_labels(slug))
    obj_meta = client.V1ObjectMeta(name=slug, namespace=ns, labels=_labels(slug))
    if slug in DAEMONSETS:
        body = client.V1DaemonSet(
            metadata=obj_meta,
            spec=client.V1DaemonSetSpec(selector=selector, template=_pod_spec(slug)),
        )
        create, replace = apps.create_namespaced_daemon_set, apps.replace_namespaced_daemon_set
    else:
        body = client.V1Deployment(
            metadata=obj_meta,
            spec=client.V1DeploymentSpec(replicas=1, selector=selector, template=_pod_spec(slug)),
        )
        create, replace = apps.create_namespaced_deployment, apps.replace_namespaced_deployment
    try:
        create(ns, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        replace(slug, ns, body)


def status(api: client.ApiClient, slug: str) -> str:
    """Return 'ready', 'installing' or 'missing' for an applied feature."""
    apps = client.AppsV1Api(api)
    ns = namespace(slug)
    try:
        if slug in DAEMONSETS:
            ds = apps.read_namespaced_daemon_set(slug, ns)
            want = (ds.status.desired_number_scheduled or 0) if ds.status else 0
            ready = (ds.status.number_ready or 0) if ds.status else 0
            return "ready" if want and ready >= want else "installing"
        dep = apps.read_namespaced_deployment(slug, ns)
        ready = (dep.status.ready_replicas or 0) if dep.status else 0
        return "ready" if ready >= (dep.spec.replicas or 1) else "installing"
    except ApiException as exc:
        if exc.status == 404:
            return "missing"
        raise


def remove(api: client.ApiClient, slug: str) -> None:
    """Uninstall feature `slug` (deletes its namespace; a no-op when gone)."""
    try:
        client.CoreV1Api(api).delete_namespace(namespace(slug))
    except ApiException as exc:
        if exc.status != 404:
            raise
