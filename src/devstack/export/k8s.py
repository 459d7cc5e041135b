"""`devstack export k8s`: the export view as Kubernetes objects, for `kubectl apply -k`.

A Namespace; per service a ConfigMap of its plain variables, a Deployment and (when it
has ports) a ClusterIP Service named like it, so the URLs devstack resolves between
containers (`http://api:9000`) hold in the namespace; PersistentVolumeClaims for named
volumes; a Job per emulator with resources to create. Secrets: see export/k8s_env.py.

What has no Kubernetes equivalent (start order, host-published ports, bind mounts,
restart policies other than always, host processes) is listed in `notes`, which the CLI
prints on stderr and writes at the top of kustomization.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from devstack.config.secrets import variable_name
from devstack.export import k8s_env as envs
from devstack.export import k8s_workload as kube
from devstack.export.provision import PROGRAM, provision_environment
from devstack.export.view import ExportedService, ExportView, placeholder_image
from devstack.model.backing import SecretsManagerBacking, SecretSpec, SsmBacking, SsmParameter
from devstack.model.manifest import parse_port

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class K8sOptions:
    namespace: str
    include_secrets: bool = False


@dataclass
class K8sExport:
    namespace: str
    files: dict[str, list[dict[str, Any]]]  # path under the output folder -> its objects
    external: list[dict[str, Any]]  # ExternalSecrets: beside the kustomization, not in it
    images: list[str]  # placeholder images the user must replace
    to_create: dict[str, list[str]]  # Secret -> its keys, to create (no --include-secrets)
    notes: list[str] = field(default_factory=list)

    def objects(self) -> list[dict[str, Any]]:
        return [obj for objects in self.files.values() for obj in objects]


def valid_name(name: str) -> bool:
    return len(name) <= 63 and DNS_LABEL.match(name) is not None


def kube_name(name: str) -> str:
    """A devstack name as a Kubernetes object name (a DNS label: no `_`, a letter first,
    as a Service name must start with one)."""
    out = name.replace("_", "-").strip("-")
    return out if out[:1].isalpha() else f"s-{out}"


def k8s_export(view: ExportView, options: K8sOptions) -> K8sExport:
    ns = options.namespace
    meta = {"namespace": ns, "labels": kube.labels(view.stack)}
    out = K8sExport(namespace=ns, files={}, external=[], images=[], to_create={})
    out.files["namespace.yaml"] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": kube.labels(view.stack),
                "annotations": {
                    "devstack/manifest": view.manifest,
                    "devstack/environment": view.environment,
                },
            },
        }
    ]
    secrets: list[dict[str, Any]] = []
    claims: dict[str, dict[str, Any]] = {}
    notes = _Notes()
    for name, exported in view.services.items():
        k = kube_name(name)
        if k != name:
            notes.add(
                "renamed (Kubernetes names take no `_`, start with a letter)", f"{name} -> {k}"
            )
        env = envs.split_env(exported.env)
        objects: list[dict[str, Any]] = []
        spec = exported.spec
        image = exported.image or placeholder_image(view.stack, name)
        if not exported.image or name in view.placeholders:
            out.images.append(image)
        box = kube.container(k, image, spec.command, spec.ports, exported.desired.healthcheck)
        if env.plain:
            objects.append(envs.config_map(f"{k}-env", meta, env.plain))
            box["envFrom"] = [{"configMapRef": {"name": f"{k}-env"}}]
        entries = envs.env_entries(k, env)
        if entries:
            box["env"] = entries
        pod: dict[str, Any] = {
            "terminationGracePeriodSeconds": kube.seconds(exported.desired.stop_grace, 0),
            "containers": [box],
        }
        _mount(view, exported, k, box, pod, claims, notes, meta)
        objects.append(kube.deployment(meta, view.stack, k, exported.replicas, pod))
        if spec.ports:
            objects.append(kube.service(meta, view.stack, k, spec.ports))
        out.files[f"services/{k}.yaml"] = objects
        _secrets(view, options, k, env, meta, secrets, out)
        _service_notes(exported, env, notes, ns)
    if claims:
        out.files["volumes.yaml"] = list(claims.values())
    jobs = _provisioning(view, options, meta, secrets, out)
    if jobs:
        out.files["provision.yaml"] = jobs
    if secrets:
        out.files["secrets.yaml"] = secrets
    out.notes = [*view.notes, *notes.lines(), *_summary(view, out)]
    return out


def _mount(
    view: ExportView,
    exported: ExportedService,
    k: str,
    box: dict[str, Any],
    pod: dict[str, Any],
    claims: dict[str, dict[str, Any]],
    notes: _Notes,
    meta: dict[str, Any],
) -> None:
    """Named volumes become claims mounted in the pod; bind mounts have no equivalent (a
    cluster node has not the user's files), so they are noted."""
    mounts: list[dict[str, Any]] = []
    volumes: dict[str, dict[str, Any]] = {}
    for text in exported.spec.volumes:
        source, _, rest = text.partition(":")
        target, _, mode = rest.partition(":")
        if source.startswith(("/", "~", ".")):
            notes.add(
                "bind mounts not exported (put those files in the image or a ConfigMap)",
                f"{exported.name} {target}",
            )
            continue
        claim = kube_name(source.removeprefix(f"{view.stack}_"))
        claims.setdefault(claim, kube.claim(meta, view.stack, claim))
        volumes[claim] = {"name": claim, "persistentVolumeClaim": {"claimName": claim}}
        mount: dict[str, Any] = {"name": claim, "mountPath": target}
        if mode == "ro":
            mount["readOnly"] = True
        mounts.append(mount)
    if mounts:
        box["volumeMounts"] = mounts
        pod["volumes"] = list(volumes.values())
        if exported.replicas > 1:
            notes.add(
                "volumes are ReadWriteOnce claims; replicas on other nodes cannot mount them",
                k,
            )


def _secrets(
    view: ExportView,
    options: K8sOptions,
    k: str,
    env: envs.ServiceEnv,
    meta: dict[str, Any],
    secrets: list[dict[str, Any]],
    out: K8sExport,
) -> None:
    if env.secret:
        if options.include_secrets:
            secrets.append(envs.secret(envs.secret_name(k), meta, env.secret))
        else:
            out.to_create[envs.secret_name(k)] = list(env.secret)
    for store, names in sorted(env.stored.items()):
        out.external.append(envs.external_secret(k, store, names, meta, view.stack))


def _provisioning(
    view: ExportView,
    options: K8sOptions,
    meta: dict[str, Any],
    secrets: list[dict[str, Any]],
    out: K8sExport,
) -> list[dict[str, Any]]:
    """A Job per emulator with resources to create, in the emulator's own image (it has
    python3 and boto3), running the export provisioner (export/provision_program.py)."""
    jobs = []
    for provider, backings in view.provisioning.items():
        name = f"{kube_name(provider)}-provision"
        env, needed = provision_environment(kube_name(provider), view.regions[provider], backings)
        entries: list[dict[str, Any]] = []
        for key, value in env.items():
            if isinstance(value, dict):
                ref = {"secretKeyRef": {"name": envs.secret_name(name), "key": key}}
                entries.append({"name": key, "valueFrom": ref})
            else:
                entries.append({"name": key, "value": kube.escape(value)})
        if needed:
            if options.include_secrets:
                values = provision_secrets(backings)
                secrets.append(envs.secret(envs.secret_name(name), meta, values))
            else:
                out.to_create[envs.secret_name(name)] = sorted(needed)
        box = {
            "name": "provision",
            "image": view.services[provider].image,
            "command": ["python3", "-c", kube.escape(PROGRAM)],
            "env": entries,
        }
        jobs.append(kube.job(meta, view.stack, name, box))
    return jobs


def provision_secrets(backings: dict[str, Any]) -> dict[str, str]:
    """The values of the provisioner's secret variables (named as export/provision.py
    names them): SecureString parameters and Secrets Manager secrets."""
    values: dict[str, str] = {}
    for backing_name, backing in backings.items():
        items: list[tuple[str, str]] = []
        if isinstance(backing, SsmBacking):
            items = [
                (param, spec.value)
                for param, spec in backing.parameters.items()
                if isinstance(spec, SsmParameter) and spec.secure
            ]
        elif isinstance(backing, SecretsManagerBacking):
            items = [
                (secret, spec.value if isinstance(spec, SecretSpec) else spec)
                for secret, spec in backing.secrets.items()
                if isinstance(spec, SecretSpec | str)
            ]
        for item, value in items:
            values[f"{variable_name(backing_name)}_{variable_name(item)}"] = value
    return values


class _Notes:
    """Notes grouped by what they say: one line each, naming every service it holds for."""

    def __init__(self) -> None:
        self._by_text: dict[str, list[str]] = {}

    def add(self, text: str, subject: str) -> None:
        self._by_text.setdefault(text, []).append(subject)

    def lines(self) -> list[str]:
        return [f"{text}: {', '.join(subjects)}" for text, subjects in self._by_text.items()]


def _service_notes(exported: ExportedService, env: envs.ServiceEnv, notes: _Notes, ns: str) -> None:
    name = exported.name
    manifest = exported.manifest
    if exported.depends_on:
        notes.add(
            "depends_on has no Kubernetes equivalent (pods start together; readiness probes "
            "hold traffic back and containers restart until what they need answers)",
            name,
        )
    if exported.desired.restart != "always":
        notes.add(
            "restart becomes `always`, a Deployment's only policy",
            f"{name} ({exported.desired.restart})",
        )
    for variable in env.dropped:
        notes.add(
            "left out, host-only variables (a pod gets AWS credentials from its service account)",
            f"{name} {variable}",
        )
    if manifest is None:
        return
    for text in manifest.ports:
        mapping = parse_port(text)
        if mapping.host is not None or mapping.host_ip != "127.0.0.1":
            notes.add(
                "published host ports are not exported (Services are ClusterIP); reach "
                f"them with `kubectl -n {ns} port-forward svc/SERVICE HOST:CONTAINER`",
                f"{name} {text}",
            )
    if manifest.watch:
        notes.add("watch rules are devstack's dev loop, not in the manifests", name)
    keys = [key for key in manifest.container_keys() if key != "volumes"]
    if keys:
        notes.add("left out, compose keys (devstack honours them on Docker)",
                  f"{name} {', '.join(keys)}")  # fmt: skip


def _summary(view: ExportView, out: K8sExport) -> list[str]:
    lines = []
    if view.placeholders:
        names = ", ".join(sorted(view.placeholders))
        lines.append(
            f"host processes, exported as containers of a placeholder image: {names} (build "
            "an image with their code and set it under images: in kustomization.yaml; their "
            "workdir and host environment do not carry over)"
        )
    built = sorted(n for n, s in view.services.items() if not s.image)
    if built:
        lines.append(
            f"built by devstack, named <stack>/<service>:latest here: {', '.join(built)} "
            "(push them and set them under images: in kustomization.yaml)"
        )
    if out.external:
        stores = sorted({o["spec"]["secretStoreRef"]["name"] for o in out.external})
        lines.append(
            "variables read from SSM / Secrets Manager are ExternalSecrets in "
            "external-secrets.yaml (External Secrets Operator; not in kustomization.yaml), "
            f"reading SecretStores to create: {', '.join(stores)}"
        )
    return lines
