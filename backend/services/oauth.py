"""OAuth 2.1 for MCP: Toolpress as the authorization server for its own app and toolkit endpoints.

The SDK's handlers (`mcp.server.auth`) speak the protocol: metadata, dynamic client registration,
authorization code with PKCE (S256, checked by the SDK), refresh and revocation. This module is their
storage and policy. The resource indicator (RFC 8707) names one app endpoint (`…/mcp/e/{id}`) or toolkit
(`…/mcp/t/{id}`); the signed-in owner approves the client for exactly that one on a console page. Codes and
tokens are random, shown once, and kept as SHA-256 hashes; access tokens are short-lived and refreshable;
revoking any token of a grant revokes its whole family.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import anyio
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from sqlmodel import Session, col, select, update

from backend import crud
from backend.core import security
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.models import OAuthClient, OAuthGrant, OAuthGrantPublic, as_utc, utcnow
from backend.services.errors import NotFound

CODE_SECONDS = 300
CONSENT_SALT = "toolpress.oauth-consent"
SCOPE = "mcp"
_RESOURCE_PATH = re.compile(r"^/mcp/(e|t)/(\d{1,18})(?:/mcp)?/?$")
_PLATFORM_PATH = re.compile(r"^/mcp/platform(?:/mcp)?/?$")


@dataclass(frozen=True)
class ResourceRef:
    """The app endpoint, toolkit or platform server (managing the owner's apps) a resource indicator names."""

    kind: str  # "app", "toolkit" or "platform" (target_id 0: the grant's owner is what it opens)
    target_id: int

    def columns(self) -> dict[str, int | None]:
        """The grant's endpoint_id / toolkit_id."""
        return {
            "endpoint_id": self.target_id if self.kind == "app" else None,
            "toolkit_id": self.target_id if self.kind == "toolkit" else None,
        }


PLATFORM = ResourceRef("platform", 0)


def parse_resource(settings: Settings, resource: str | None) -> ResourceRef | None:
    """The endpoint, toolkit or platform server behind a resource URL on this server, else None."""
    if not resource:
        return None
    parts, public = urlsplit(resource), urlsplit(settings.base_url)
    if (parts.scheme, parts.netloc) != (public.scheme, public.netloc):
        return None
    if _PLATFORM_PATH.match(parts.path):
        return PLATFORM
    match = _RESOURCE_PATH.match(parts.path)
    if match is None:
        return None
    return ResourceRef("app" if match.group(1) == "e" else "toolkit", int(match.group(2)))


def resource_url(settings: Settings, ref: ResourceRef) -> str:
    """The canonical resource URL of an endpoint or toolkit (its bearer URL), or of the platform server."""
    if ref.kind == "platform":
        return f"{settings.base_url.rstrip('/')}/mcp/platform/mcp"
    return f"{settings.base_url.rstrip('/')}/mcp/{'e' if ref.kind == 'app' else 't'}/{ref.target_id}/mcp"


def _new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(security.SECRET_BYTES)


def _live(grant: OAuthGrant | None, kind: str) -> OAuthGrant | None:
    if grant is None or grant.kind != kind or grant.revoked_at is not None:
        return None
    expires = as_utc(grant.expires_at)
    return grant if expires is not None and expires > utcnow() else None


def _by_secret(session: Session, secret: str, kind: str) -> OAuthGrant | None:
    grant = session.exec(select(OAuthGrant).where(OAuthGrant.token_hash == security.lookup_hash(secret))).first()
    return _live(grant, kind)


def _issue(session: Session, base: OAuthGrant, kind: str, seconds: float, prefix: str, **data: Any) -> str:
    secret = _new_secret(prefix)
    session.add(
        OAuthGrant(
            kind=kind,
            token_hash=security.lookup_hash(secret),
            family=base.family,
            client_id=base.client_id,
            owner_id=base.owner_id,
            endpoint_id=base.endpoint_id,
            toolkit_id=base.toolkit_id,
            scopes=list(base.scopes),
            data=data or None,
            expires_at=utcnow() + timedelta(seconds=seconds),
        )
    )
    return secret


def create_code(
    *, session: Session, client_id: str, owner_id: int, ref: ResourceRef, params: dict[str, Any]
) -> str:
    """An authorization code for an approved request (the consent page's answer); shown once."""
    base = OAuthGrant(
        kind="code", token_hash="", family=uuid.uuid4().hex, client_id=client_id, owner_id=owner_id,
        scopes=params.get("scopes") or [SCOPE], expires_at=utcnow(), **ref.columns(),
    )
    code = _issue(session, base, "code", CODE_SECONDS, "tpc_", **params)
    session.commit()
    return code


def _revoke_where(session: Session, *conditions: Any) -> int:
    query = update(OAuthGrant).where(col(OAuthGrant.revoked_at).is_(None), *conditions)
    result = session.exec(query.values(revoked_at=utcnow()))  # type: ignore[call-overload]
    session.commit()
    return int(result.rowcount or 0)


def revoke_family(*, session: Session, family: str, owner_id: int | None = None) -> int:
    """Revoke every code and token of one grant; return how many were live."""
    mine = [col(OAuthGrant.owner_id) == owner_id] if owner_id is not None else []
    return _revoke_where(session, col(OAuthGrant.family) == family, *mine)


def revoke_owner_grants(*, session: Session, owner_id: int, platform_only: bool = False) -> int:
    """Revoke every live code and token an owner granted (only those for the platform server, if asked)."""
    platform = [col(OAuthGrant.endpoint_id).is_(None), col(OAuthGrant.toolkit_id).is_(None)] if platform_only else []
    return _revoke_where(session, col(OAuthGrant.owner_id) == owner_id, *platform)


def family_is_live(*, session: Session, family: str) -> bool:
    """Whether any token of a grant is still usable."""
    rows = session.exec(select(OAuthGrant).where(OAuthGrant.family == family, col(OAuthGrant.revoked_at).is_(None))).all()
    return any(_live(row, row.kind) is not None for row in rows)


def list_grants(*, session: Session, owner_id: int, ref: ResourceRef) -> list[tuple[OAuthGrant, str | None]]:
    """The live refresh grants of an endpoint or toolkit, with each client's name."""
    columns = ref.columns()
    query = select(OAuthGrant).where(OAuthGrant.owner_id == owner_id, OAuthGrant.kind == "refresh")
    query = query.where(OAuthGrant.endpoint_id == columns["endpoint_id"], OAuthGrant.toolkit_id == columns["toolkit_id"])
    rows = []
    for grant in session.exec(query.order_by(col(OAuthGrant.id))).all():
        if _live(grant, "refresh") is not None:
            client = session.exec(select(OAuthClient).where(OAuthClient.client_id == grant.client_id)).first()
            rows.append((grant, (client.info.get("client_name") if client else None)))
    return rows


@dataclass(frozen=True)
class OAuthBearer:
    """An accepted OAuth access token."""

    family: str
    client_name: str
    owner_id: int


def authenticate_access_token(*, session: Session, token: str, ref: ResourceRef) -> OAuthBearer | None:
    """The grant behind an access token if it is live and was issued for this endpoint or toolkit."""
    grant = _by_secret(session, token, "access")
    if grant is None or not security.same_secret(grant.token_hash, security.lookup_hash(token)):
        return None
    if (grant.endpoint_id, grant.toolkit_id) != (ref.columns()["endpoint_id"], ref.columns()["toolkit_id"]):
        return None
    client = session.exec(select(OAuthClient).where(OAuthClient.client_id == grant.client_id)).first()
    name = (client.info.get("client_name") if client else None) or grant.client_id
    return OAuthBearer(family=grant.family, client_name=str(name)[:80], owner_id=grant.owner_id)


_T = TypeVar("_T", AccessToken, RefreshToken)


def _sdk_token(kind: type[_T], token: str, grant: OAuthGrant) -> _T:
    """The SDK's view (AccessToken or RefreshToken) of a live grant row."""
    return kind(
        token=token,
        client_id=grant.client_id,
        scopes=grant.scopes,
        expires_at=int(as_utc(grant.expires_at).timestamp()),  # type: ignore[union-attr]
        resource=(grant.data or {}).get("resource"),
        subject=str(grant.owner_id),
    )


class ToolpressOAuthProvider:
    """The SDK's OAuthAuthorizationServerProvider over Toolpress's database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _run(self, fn: Any, *args: Any) -> Any:
        def job() -> Any:
            with session_scope(self.settings.sqlalchemy_url) as session:
                return fn(session, *args)

        return anyio.to_thread.run_sync(job)

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        def find(session: Session) -> OAuthClientInformationFull | None:
            row = session.exec(select(OAuthClient).where(OAuthClient.client_id == client_id[:64])).first()
            return OAuthClientInformationFull.model_validate(row.info) if row else None

        return await self._run(find)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        def save(session: Session) -> None:
            session.add(OAuthClient(client_id=client_info.client_id, info=client_info.model_dump(mode="json")))
            session.commit()

        await self._run(save)

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        ref = parse_resource(self.settings, params.resource)
        if ref is None:
            raise AuthorizeError("invalid_request", "the resource parameter must name a Toolpress MCP URL (…/mcp/e/{id}, …/mcp/t/{id} or …/mcp/platform/mcp)")
        request = {
            "client_id": client.client_id,
            "kind": ref.kind,
            "target_id": ref.target_id,
            "state": params.state,
            "scopes": params.scopes or [SCOPE],
            "code_challenge": params.code_challenge,
            "redirect_uri": str(params.redirect_uri),
            "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
            "resource": params.resource,
        }
        signed = security.sign(self.settings.signing_key(), request, CONSENT_SALT)
        return f"{self.settings.base_url.rstrip('/')}/oauth/consent?request={signed}"

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str) -> AuthorizationCode | None:
        def load(session: Session) -> AuthorizationCode | None:
            grant = _by_secret(session, authorization_code, "code")
            if grant is None or grant.client_id != client.client_id or not grant.data:
                return None
            return AuthorizationCode(
                code=authorization_code,
                scopes=grant.scopes,
                expires_at=as_utc(grant.expires_at).timestamp(),  # type: ignore[union-attr]
                client_id=grant.client_id,
                code_challenge=grant.data["code_challenge"],
                redirect_uri=grant.data["redirect_uri"],
                redirect_uri_provided_explicitly=grant.data["redirect_uri_provided_explicitly"],
                resource=grant.data.get("resource"),
                subject=str(grant.owner_id),
            )

        return await self._run(load)

    def _tokens(self, session: Session, base: OAuthGrant, resource: str | None) -> OAuthToken:
        access = _issue(session, base, "access", self.settings.oauth_access_token_seconds, "tpa_", resource=resource)
        refresh = _issue(session, base, "refresh", self.settings.oauth_refresh_token_days * 86400, "tpr_", resource=resource)
        session.commit()
        return OAuthToken(
            access_token=access,
            expires_in=int(self.settings.oauth_access_token_seconds),
            scope=" ".join(base.scopes),
            refresh_token=refresh,
        )

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode) -> OAuthToken:
        def exchange(session: Session) -> OAuthToken:
            grant = _by_secret(session, authorization_code.code, "code")
            if grant is None:  # used already (or revoked): a replayed code revokes what it gave out
                spent = session.exec(
                    select(OAuthGrant).where(OAuthGrant.token_hash == security.lookup_hash(authorization_code.code))
                ).first()
                if spent is not None:
                    revoke_family(session=session, family=spent.family)
                raise TokenError("invalid_grant", "the authorization code was already used or has expired")
            grant.revoked_at = utcnow()  # a code works once
            session.add(grant)
            return self._tokens(session, grant, authorization_code.resource)

        return await self._run(exchange)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        def load(session: Session) -> RefreshToken | None:
            grant = _by_secret(session, refresh_token, "refresh")
            if grant is None or grant.client_id != client.client_id:
                return None
            return _sdk_token(RefreshToken, refresh_token, grant)

        return await self._run(load)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        def exchange(session: Session) -> OAuthToken:
            grant = _by_secret(session, refresh_token.token, "refresh")
            if grant is None:
                raise TokenError("invalid_grant", "the refresh token was revoked or has expired")
            grant.revoked_at = utcnow()  # refresh tokens rotate
            session.add(grant)
            return self._tokens(session, grant, refresh_token.resource)

        return await self._run(exchange)

    async def load_access_token(self, token: str) -> AccessToken | None:
        def load(session: Session) -> AccessToken | None:
            grant = _by_secret(session, token, "access")
            return _sdk_token(AccessToken, token, grant) if grant is not None else None

        return await self._run(load)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        def revoke(session: Session) -> None:
            grant = session.exec(select(OAuthGrant).where(OAuthGrant.token_hash == security.lookup_hash(token.token))).first()
            if grant is not None:
                revoke_family(session=session, family=grant.family)

        await self._run(revoke)

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "identity assertions are not supported")


def consent_request(settings: Settings, signed: str) -> dict[str, Any] | None:
    """The authorization request behind a consent link (signed, valid for ten minutes), or None."""
    data = security.unsign(settings.signing_key(), signed, CONSENT_SALT, 600)
    return data if isinstance(data, dict) else None



PLATFORM_CONSENT = ("your Toolpress apps through the platform's MCP server: list, create, change, test, publish and "
                    "delete them, and turn their MCP servers on or off")


@dataclass(frozen=True)
class Consent:
    """What the consent page shows and what approving it creates."""

    request: dict[str, Any]
    ref: ResourceRef
    client_name: str
    target_name: str


def load_consent(*, session: Session, settings: Settings, signed: str, owner_id: int) -> Consent | None:
    """The pending request behind a consent link if it names one of this owner's apps or toolkits, else None."""
    request = consent_request(settings, signed)
    if request is None:
        return None
    ref = ResourceRef(str(request["kind"]), int(request["target_id"]))
    if ref.kind == "platform":  # every signed-in user may let a client manage their own apps
        target_name = PLATFORM_CONSENT
    elif ref.kind == "toolkit":
        toolkit = crud.get_toolkit(session=session, toolkit_id=ref.target_id, owner_id=owner_id)
        target_name = f"the toolkit {toolkit.name}" if toolkit else None
    else:
        endpoint = crud.get_endpoint(session=session, endpoint_id=ref.target_id)
        app = crud.get_app(session=session, app_id=endpoint.app_id, owner_id=owner_id) if endpoint else None
        target_name = f"the app {app.name}" if app else None
    client = session.exec(select(OAuthClient).where(OAuthClient.client_id == request["client_id"])).first()
    if target_name is None or client is None:
        return None
    name = str(client.info.get("client_name") or client.client_id)[:100]
    return Consent(request=request, ref=ref, client_name=name, target_name=target_name)


def approve(*, session: Session, consent: Consent, owner_id: int) -> str:
    """Approve a consent: the redirect URL carrying a fresh code and the client's state."""
    request = consent.request
    params = {k: request[k] for k in ("code_challenge", "redirect_uri", "redirect_uri_provided_explicitly", "resource", "scopes")}
    code = create_code(session=session, client_id=request["client_id"], owner_id=owner_id, ref=consent.ref, params=params)
    query = {"code": code, **({"state": request["state"]} if request.get("state") else {})}
    separator = "&" if "?" in request["redirect_uri"] else "?"
    return request["redirect_uri"] + separator + urlencode(query)


def deny(consent: Consent) -> str:
    """Deny a consent: the redirect URL telling the client so."""
    query = {"error": "access_denied", **({"state": consent.request["state"]} if consent.request.get("state") else {})}
    separator = "&" if "?" in consent.request["redirect_uri"] else "?"
    return consent.request["redirect_uri"] + separator + urlencode(query)


def grants_public(*, session: Session, owner_id: int, ref: ResourceRef) -> list[OAuthGrantPublic]:
    """The clients holding live access to an endpoint or toolkit, as its owner sees them."""
    return [
        OAuthGrantPublic(
            family=grant.family,
            client_id=grant.client_id,
            client_name=name,
            scopes=grant.scopes,
            created_at=as_utc(grant.created_at),  # type: ignore[arg-type]
            expires_at=as_utc(grant.expires_at),  # type: ignore[arg-type]
        )
        for grant, name in list_grants(session=session, owner_id=owner_id, ref=ref)
    ]


def revoke_grant(*, session: Session, owner_id: int, ref: ResourceRef, family: str) -> None:
    """Revoke a client's access to one of the owner's endpoints or toolkits; NotFound if there is none."""
    if not any(g.family == family for g, _ in list_grants(session=session, owner_id=owner_id, ref=ref)):
        raise NotFound("no such OAuth grant")
    revoke_family(session=session, family=family, owner_id=owner_id)
