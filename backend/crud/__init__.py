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
from backend.crud.endpoints import (
    create_endpoint,
    get_endpoint_by_app,
    get_endpoint_by_hash,
    get_live_endpoint_by_hash,
    save_endpoint,
)
from backend.crud.runs import (
    create_run,
    get_run,
    get_run_status,
    get_run_statuses,
    list_runs,
    save_run,
    update_run_progress,
)
from backend.crud.secrets import delete_secret, get_secret, list_secrets, upsert_secret
from backend.crud.users import create_user, get_user, get_user_by_email

__all__ = [
    "create_app",
    "create_endpoint",
    "create_run",
    "create_user",
    "create_version",
    "delete_app",
    "delete_secret",
    "get_app",
    "get_app_by_name",
    "get_endpoint_by_app",
    "get_endpoint_by_hash",
    "get_live_endpoint_by_hash",
    "get_run",
    "get_run_status",
    "get_run_statuses",
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
    "update_run_progress",
    "upsert_secret",
]
