"""DS102 and DS103: endpoints and credentials written into the manifest's variables."""

from __future__ import annotations

from urllib.parse import urlsplit

from devstack.lint.context import FieldPath, LintContext
from devstack.lint.values import Endpoint, find_credential, find_endpoint
from devstack.model.backing import ContainerProvider, ExternalProvider, LocalstackProvider
from devstack.model.manifest import EnvMap, SecretValue

SECRETS_FIX = (
    "delete the value here and set {name} in an env file that git ignores, or in SSM / "
    "Secrets Manager read through `environments.ENV.secrets`"
)
AWS_KEY_FIX = (
    "remove the key: bindings give emulator credentials, and an `aws` provider reads a "
    "profile from ~/.aws"
)
PROVIDER_KEY_FIX = (
    "for a real AWS account, use an `aws` provider with a profile (keys stay in ~/.aws); "
    "an `external` provider's keys are for endpoints on this machine"
)
URL_PASSWORD_FIX = (
    "take the password out of the URL: bind a backing service (its binding builds the "
    "URL), or write `${{DB_PASSWORD}}` in its place and keep the password in a git-ignored "
    "env file or a secret store"
)


def check(ctx: LintContext) -> None:
    stack = ctx.loaded.stack
    for name, service in stack.services.items():
        _check_map(ctx, service.env, ("services", name, "env"), endpoints=True)
    for env_name in ctx.environments:
        if env_name in stack.environments:
            vars_ = stack.environments[env_name].vars
            _check_map(ctx, vars_, ("environments", env_name, "vars"), endpoints=True)
    for name, provider in stack.providers.items():
        if isinstance(provider, LocalstackProvider | ContainerProvider):
            _check_map(ctx, provider.env, ("providers", name, "env"), endpoints=False)
        # An `external` provider's keys are not interpolated, so they can only be written
        # here; dummy keys for an endpoint on this machine are harmless.
        if not isinstance(provider, ExternalProvider) or _is_loopback(provider.url):
            continue
        keys = (
            ("access_key_id", provider.access_key_id, False),
            ("secret_access_key", provider.secret_access_key, True),
        )
        for field, value, secret in keys:
            if value is not None and find_credential(field, value, declared_secret=secret):
                ctx.report(
                    "DS103",
                    ("providers", name, field),
                    f"{field} is written in the manifest",
                    PROVIDER_KEY_FIX,
                )


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _check_map(
    ctx: LintContext, env: EnvMap | dict[str, str], base: FieldPath, *, endpoints: bool
) -> None:
    for var, raw in env.items():
        text = raw.value if isinstance(raw, SecretValue) else raw
        secret = isinstance(raw, SecretValue) and raw.secret
        path = (*base, var)
        reason = find_credential(var, text, declared_secret=secret)
        if reason is not None:
            ctx.report(
                "DS103",
                path,
                f"{var} holds {reason} written in the manifest",
                _cred_fix(var, reason),
            )
            continue
        if endpoints:
            found = find_endpoint(text)
            if found is not None:
                ctx.report(
                    "DS102",
                    path,
                    f"{var} hard-codes the endpoint {found.text}",
                    _endpoint_fix(found),
                )


def _cred_fix(var: str, reason: str) -> str:
    if reason.startswith("an AWS"):
        return AWS_KEY_FIX
    if "URL" in reason:
        return URL_PASSWORD_FIX.format()
    return SECRETS_FIX.format(name=var)


def _endpoint_fix(found: Endpoint) -> str:
    if found.kind == "aws":
        return (
            "declare the resource as a backing service (kind s3, sqs, dynamodb, ...) and list "
            "it in the service's `uses:`: the binding injects AWS_ENDPOINT_URL_* and names, "
            "and a swap or an environment changes the provider"
        )
    if found.kind in ("postgres", "redis"):
        return (
            f"declare a `kind: {found.kind}` backing service and list it in `uses:`: "
            "the binding injects the connection settings for each provider"
        )
    return (
        "if it is another service of the stack, write `${services.NAME.url}`; otherwise "
        "declare a `kind: url` backing service and write `${backing.NAME.url}`, so each "
        "environment can point it elsewhere"
    )
