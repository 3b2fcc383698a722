"""SQLModel tables and their API schema families."""

from backend.models.account import AccountToken, AccountTokenCreate, AccountTokenPublic, AccountTokensPublic
from backend.models.access import (
    AccessToken,
    AccessTokenCreate,
    AccessTokenPublic,
    AccessTokensPublic,
    LimitsPublic,
    LimitsUpdate,
)
from backend.models.app import App, AppCreate, AppPublic, AppsPublic, AppUpdate, AppVersion, AppVersionPublic
from backend.models.base import DetachedRows, as_utc, built, utcnow
from backend.models.endpoint import EndpointPublic, McpEndpoint
from backend.models.oauth import OAuthClient, OAuthGrant, OAuthGrantPublic
from backend.models.run import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    InvalidTransition,
    Run,
    RunAnswer,
    RunPublic,
    RunsPublic,
    RunStatus,
    apply_transition,
    new_run_id,
    queued_run,
    sources_of,
    transition_stamps,
)
from backend.models.run_file import RunFile
from backend.models.secret import SECRET_NAME_PATTERN, Secret, SecretPublic, SecretSet, SecretsPublic
from backend.models.subscription import ResourceSubscription
from backend.models.toolkit import (
    Toolkit,
    ToolkitApp,
    ToolkitCreate,
    ToolkitPublic,
    ToolkitsPublic,
    ToolkitToolPublic,
    ToolkitUpdate,
)
from backend.models.user import TokenPublic, User, UserCreate, UserLogin, UserPublic
from backend.models.worker import Worker, WorkerPublic

__all__ = [
    "RunFile",
    "ResourceSubscription",
    "AccountToken",
    "AccountTokenCreate",
    "AccountTokenPublic",
    "AccountTokensPublic",
    "AccessToken",
    "AccessTokenCreate",
    "AccessTokenPublic",
    "AccessTokensPublic",
    "LimitsPublic",
    "OAuthClient",
    "OAuthGrant",
    "OAuthGrantPublic",
    "LimitsUpdate",
    "Toolkit",
    "ToolkitApp",
    "ToolkitCreate",
    "ToolkitPublic",
    "ToolkitToolPublic",
    "ToolkitUpdate",
    "ToolkitsPublic",
    "ALLOWED_TRANSITIONS",
    "SECRET_NAME_PATTERN",
    "TERMINAL_STATUSES",
    "App",
    "AppCreate",
    "AppPublic",
    "AppUpdate",
    "AppVersion",
    "AppVersionPublic",
    "AppsPublic",
    "EndpointPublic",
    "InvalidTransition",
    "McpEndpoint",
    "Run",
    "RunAnswer",
    "RunPublic",
    "RunStatus",
    "RunsPublic",
    "Secret",
    "SecretPublic",
    "SecretSet",
    "SecretsPublic",
    "TokenPublic",
    "User",
    "UserCreate",
    "UserLogin",
    "UserPublic",
    "Worker",
    "WorkerPublic",
    "apply_transition",
    "as_utc",
    "built",
    "DetachedRows",
    "new_run_id",
    "queued_run",
    "sources_of",
    "transition_stamps",
    "utcnow",
]
