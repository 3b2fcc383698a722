"""Your named secrets: list names, set a value, delete (values are never returned)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from fastapi.exceptions import RequestValidationError

from backend.api.deps import CurrentUser, SessionDep, SettingsDep
from backend.api.responses import errors
from backend.models import SECRET_NAME_PATTERN, SecretPublic, SecretSet, SecretsPublic
from backend.services import NotFound, secrets

router = APIRouter(prefix="/secrets", tags=["secrets"], responses=errors(401))

# Documented in the schema, checked by the service (whose message says what a valid name looks like).
SecretName = Annotated[str, Path(description="Upper case letters, digits and '_', starting with a letter",
                                 json_schema_extra={"pattern": SECRET_NAME_PATTERN})]


@router.get("", response_model=SecretsPublic)
def list_secrets(session: SessionDep, user: CurrentUser) -> SecretsPublic:
    """Names and dates of your secrets; values are never shown."""
    rows = secrets.list_secrets(session=session, owner_id=user.id)
    return SecretsPublic(data=rows, count=len(rows))


@router.put("/{name}", response_model=SecretPublic, responses=errors(400, 422))
def set_secret(name: SecretName, body: SecretSet, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> SecretPublic:
    """Add a secret or replace its value; apps read it as `{{ secrets.NAME }}`."""
    try:
        row = secrets.set_secret(session=session, settings=settings, owner_id=user.id, name=name, value=body.value)
    except secrets.InvalidSecretName as exc:
        raise RequestValidationError([{"loc": ("path", "name"), "msg": str(exc), "type": "value_error"}]) from None
    return secrets.secret_public(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 422))
def delete_secret(name: SecretName, session: SessionDep, user: CurrentUser) -> Response:
    """Delete one of your secrets."""
    try:
        secrets.delete_secret(session=session, owner_id=user.id, name=name)
    except NotFound:
        raise HTTPException(status_code=404, detail="secret not found") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
