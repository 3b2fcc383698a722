"""`toolpress users`: console accounts."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlmodel import Session

from backend import crud
from backend.cli.database import with_session
from backend.core.settings import Settings
from backend.services import accounts, users

__all__ = ["cmd_users"]


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """`toolpress users create|set-password|disable|enable`."""
    password = ""
    if args.users_cmd in ("create", "set-password"):
        password = args.password or getpass.getpass("password: ")
        if len(password) < 8:
            print("error: the password needs at least 8 characters", file=sys.stderr)
            return 2

    def run(session: Session) -> int:
        user = crud.get_user_by_email(session=session, email=args.email)
        if args.users_cmd == "create":
            user = users.sign_up(session=session, email=args.email, password=password)
        elif user is None:
            print(f"error: no user {args.email!r}", file=sys.stderr)
            return 1
        elif args.users_cmd == "set-password":
            user = accounts.change_password(session=session, user=user, password=password)
        elif args.users_cmd == "disable":
            user = accounts.disable(session=session, settings=settings, user=user)
        else:
            user = accounts.enable(session=session, user=user)
        print(user.id)
        return 0

    return with_session(settings, run)
