"""Command line: `python -m sdkgen --spec SPEC --out DIR [--check]`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .generate import generate
from .introspect import IntrospectionError
from .models import ModelGenerationError
from .output import diff_trees, read_tree, write_tree
from .spec import SpecError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sdkgen", description="Generate the eSMS Zalo SDK from the spec.")
    parser.add_argument("--spec", type=Path, required=True, help="the OpenAPI document")
    parser.add_argument("--out", type=Path, required=True, help="the generated tree (generated/)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="generate into a temporary directory and compare with --out; exit 1 and print a diff if they differ",
    )
    args = parser.parse_args(argv)

    try:
        files = generate(args.spec)
    except (SpecError, ModelGenerationError, IntrospectionError) as error:
        print(f"sdkgen: {error}", file=sys.stderr)
        return 2

    if not args.check:
        changed = write_tree(files, args.out)
        print(f"sdkgen: {len(files)} files in {args.out}, {len(changed)} changed")
        return 0

    with tempfile.TemporaryDirectory(prefix="sdkgen-check-") as scratch:
        write_tree(files, Path(scratch))
        expected = read_tree(Path(scratch))
    diff = diff_trees(read_tree(args.out), expected, label=args.out.as_posix().rstrip("/"))
    if diff:
        sys.stdout.write(diff)
        print(f"sdkgen: {args.out} differs from what {args.spec} generates; run `make generate`", file=sys.stderr)
        return 1
    print(f"sdkgen: {args.out} is up to date ({len(expected)} files)")
    return 0
