"""``slate-auth create-admin``: create (or reset) an admin through the running
auth service, so the change goes through its outbox like any other."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from slatekit.rpc_client import RpcPool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slate-auth")
    sub = parser.add_subparsers(dest="cmd", required=True)
    create = sub.add_parser("create-admin", help="create or reset an admin account")
    create.add_argument("--email", default=os.environ.get("ADMIN_EMAIL"))
    create.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    args = parser.parse_args(argv)
    if args.cmd == "create-admin":
        if not args.email:
            parser.error("--email (or ADMIN_EMAIL) is required")
        password = args.password or getpass.getpass("Password: ")
        pool = RpcPool()
        try:
            result = pool.call("auth", "set_password", {"email": args.email, "password": password},
                               {"role": "admin", "user_id": None}, timeout=30)
        finally:
            pool.close()
        print(("created" if result["created"] else "updated") + f" admin {args.email} ({result['id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
