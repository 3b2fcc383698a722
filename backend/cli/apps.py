"""`toolpress apps`: import, list, publish and export apps (as the local administrator)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlmodel import Session

from backend import crud
from backend.cli.database import with_session
from backend.core.settings import Settings
from backend.services import apps, users

__all__ = ["cmd_apps"]


def cmd_apps(args: argparse.Namespace, settings: Settings) -> int:
    """`toolpress apps import|list|publish|export`."""
    def run(session: Session) -> int:
        if args.apps_cmd == "import":
            spec = apps.parse_spec(text=Path(args.file).read_text(encoding="utf-8"))
            app = apps.create_app(session=session, owner=users.local_admin(session=session), spec=spec, rename_on_conflict=True)
            if app.name != spec.name:
                print(f"an app named {spec.name!r} exists; imported as {app.name!r}", file=sys.stderr)
            print(app.id)
        elif args.apps_cmd == "list":
            rows, _ = crud.list_apps(session=session, limit=10_000)
            for app in rows:
                view = apps.app_public(session=session, app=app)
                published = f"v{view.published_version}" if view.published_version else "draft"
                print(f"{app.id}\t{app.name}\t{published}\tmcp {'on' if view.mcp_enabled else 'off'}")
        elif args.apps_cmd == "publish":
            app = apps.resolve_app(session=session, ref=args.app)
            if apps.draft_is_published(session=session, app=app):
                version = apps.published_version(session=session, app=app)
                print(f"the draft is unchanged since version {version.number}: nothing to publish")  # type: ignore[union-attr]
                return 0
            print(f"published version {apps.publish_app(session=session, app=app).number}")
        elif args.apps_cmd == "export":
            sys.stdout.write(apps.export_yaml(apps.resolve_app(session=session, ref=args.app)))
        return 0

    return with_session(settings, run)
