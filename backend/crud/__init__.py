"""Keyword-only database functions; each returns rows or None and commits only where it writes."""

from backend.crud.apps import (
    create_app,
    create_version,
    delete_app,
    get_app,
    get_app_by_name,
    get_version,
    list_apps,
    list_versions,
    update_app_spec,
)
from backend.crud.endpoints import create_endpoint, get_endpoint, get_endpoint_by_app, get_endpoint_by_hash, save_endpoint
from backend.crud.runs import create_run, delete_runs_before, get_run, list_finished_runs, list_runs, save_run
from backend.crud.secrets import delete_secret, get_secret, list_secrets, upsert_secret
from backend.crud.tokens import create_token, get_token, get_token_by_hash, list_tokens, save_token
from backend.crud.toolkits import (
    create_toolkit,
    delete_toolkit,
    get_toolkit,
    get_toolkit_by_hash,
    get_toolkit_by_name,
    list_toolkit_apps,
    list_toolkits,
    replace_toolkit_apps,
    save_toolkit,
)
from backend.crud.users import create_user, get_user, get_user_by_email

__all__ = [
    "create_token",
    "create_toolkit",
    "delete_runs_before",
    "delete_toolkit",
    "get_token",
    "get_token_by_hash",
    "get_toolkit",
    "get_toolkit_by_hash",
    "get_toolkit_by_name",
    "list_finished_runs",
    "list_tokens",
    "list_toolkit_apps",
    "list_toolkits",
    "replace_toolkit_apps",
    "save_token",
    "save_toolkit",
    "create_app",
    "create_endpoint",
    "create_run",
    "create_user",
    "create_version",
    "delete_app",
    "delete_secret",
    "get_app",
    "get_app_by_name",
    "get_endpoint",
    "get_endpoint_by_app",
    "get_endpoint_by_hash",
    "get_run",
    "get_secret",
    "get_user",
    "get_user_by_email",
    "get_version",
    "list_apps",
    "list_runs",
    "list_secrets",
    "list_versions",
    "save_endpoint",
    "save_run",
    "update_app_spec",
    "upsert_secret",
]
