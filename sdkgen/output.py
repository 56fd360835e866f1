"""Put a generated tree on disk, and compare two trees byte for byte."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

# Left in generated/ by installing or building it, never by the generator: not ours to
# compare or delete.
IGNORED_DIRECTORIES = frozenset(
    {"__pycache__", "build", "dist", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
)
IGNORED_SUFFIXES = (".egg-info", ".pyc", ".tgz")


def _ignored(relative: Path) -> bool:
    return any(part in IGNORED_DIRECTORIES or part.endswith(IGNORED_SUFFIXES) for part in relative.parts)


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root that the generator owns, by POSIX relative path."""
    if not root.is_dir():
        return {}
    tree = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not _ignored(relative):
            tree[relative.as_posix()] = path.read_bytes()
    return tree


def write_tree(files: Mapping[str, bytes], root: Path) -> list[str]:
    """Make root hold exactly `files`; return the paths that changed.

    Unchanged files are not rewritten, so their modification times stay put and make does not
    reinstall the SDK because generated/pyproject.toml was merely rewritten.
    """
    root.mkdir(parents=True, exist_ok=True)
    existing = read_tree(root)
    changed = []
    for relative in sorted(set(existing) - set(files)):
        (root / relative).unlink()
        changed.append(relative)
    for relative, content in sorted(files.items()):
        if existing.get(relative) != content:
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            changed.append(relative)
    _remove_empty_directories(root)
    return changed


def _remove_empty_directories(root: Path) -> None:
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        relative = directory.relative_to(root)
        if not _ignored(relative) and not any(directory.iterdir()):
            directory.rmdir()


def diff_trees(actual: Mapping[str, bytes], expected: Mapping[str, bytes], label: str) -> str:
    """A unified diff from `actual` (what is on disk under `label`) to `expected`; "" if equal."""
    chunks: list[str] = []
    for relative in sorted(set(actual) | set(expected)):
        old, new = actual.get(relative), expected.get(relative)
        if old == new:
            continue
        old_name = f"{label}/{relative}" if old is not None else "/dev/null"
        new_name = f"{label}/{relative} (generated from the spec)" if new is not None else "/dev/null"
        lines = difflib.unified_diff(
            _lines(old),
            _lines(new),
            fromfile=old_name,
            tofile=new_name,
        )
        text = "".join(lines)
        if not text:  # same text, different bytes (line endings, encoding)
            text = f"--- {old_name}\n+++ {new_name}\n@@ bytes differ (line endings or encoding) @@\n"
        chunks.append(text if text.endswith("\n") else text + "\n")
    return "".join(chunks)


def _lines(content: bytes | None) -> list[str]:
    if content is None:
        return []
    lines = content.decode("utf-8", errors="replace").splitlines(keepends=True)
    # A last line without a newline would glue itself to the next diff line.
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
