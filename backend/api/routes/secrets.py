"""Your named secrets: list names, set a value, delete (values are never returned)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from backend.api.deps import CurrentUser, SessionDep, SettingsDep
from backend.models import SecretPublic, SecretSet, SecretsPublic
from backend.services import NotFound, secrets

router = APIRouter(prefix="/secrets", tags=["secrets"])


@router.get("", response_model=SecretsPublic)
def list_secrets(session: SessionDep, user: CurrentUser) -> SecretsPublic:
    """Names and dates of your secrets; values are never shown."""
    rows = secrets.list_secrets(session=session, owner_id=user.id)
    return SecretsPublic(data=rows, count=len(rows))


@router.put("/{name}", response_model=SecretPublic)
def set_secret(name: str, body: SecretSet, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> SecretPublic:
    """Add a secret or replace its value; apps read it as `{{ secrets.NAME }}`."""
    try:
        row = secrets.set_secret(session=session, settings=settings, owner_id=user.id, name=name, value=body.value)
    except secrets.InvalidSecretName as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return secrets.secret_public(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_secret(name: str, session: SessionDep, user: CurrentUser) -> Response:
    """Delete one of your secrets."""
    try:
        secrets.delete_secret(session=session, owner_id=user.id, name=name)
    except NotFound:
        raise HTTPException(status_code=404, detail="secret not found") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
