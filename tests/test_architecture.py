"""What may import what (ARCHITECTURE.md): checked by parsing every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the modules of ``matcher`` that may import the Matcher
ORCHESTRATORS = {"matcher/__init__.py", "matcher/model.py", "matcher/cli.py"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import in ``path``, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.append((base, [a.name for a in node.names]))
    return out


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("matcher"), ids=lambda p: p.name)
def test_matcher_never_imports_service(path: Path) -> None:
    bad = [m for m, _ in _imports(path) if m == "service" or m.startswith("service.")]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _modules("matcher"), ids=lambda p: p.name)
def test_pure_modules_never_import_the_matcher(path: Path) -> None:
    if str(path.relative_to(ROOT)) in ORCHESTRATORS:
        return
    bad = [(m, n) for m, n in _imports(path)
           if m == "matcher.model" or (m == "matcher" and "Matcher" in n)]
    assert not bad, f"{path.name} imports the Matcher: {bad}"


@pytest.mark.parametrize("path", _modules("service"), ids=lambda p: str(p.relative_to(ROOT)))
def test_service_uses_only_public_engine_names(path: Path) -> None:
    bad = [(m, n) for m, names in _imports(path) if m.startswith("matcher")
           for n in names if n.startswith("_")]
    assert not bad, f"{path.relative_to(ROOT)} imports private engine names: {bad}"


def test_the_checker_sees_relative_imports() -> None:
    # the rule above would pass vacuously if relative imports were not resolved
    found = dict(_imports(ROOT / "matcher" / "model.py"))
    assert "matcher.ranking" in found and "matcher.updates" in found


def test_the_apis_role_vocabulary_is_the_kinds_registry() -> None:
    from typing import get_args

    from matcher.kinds import KINDS
    from service.schemas import Role

    assert get_args(Role) == tuple(KINDS)


def test_the_matcher_has_everything_the_engine_protocol_names(sample_path) -> None:  # type: ignore[no-untyped-def]
    # mypy cannot check this: the Matcher derives from scikit-learn's untyped BaseEstimator
    from matcher import Matcher
    from matcher.protocols import FittedEngine

    m = Matcher().fit(sample_path)
    names = [n for n in FittedEngine.__annotations__] + [
        n for n, v in vars(FittedEngine).items() if callable(v) and not n.startswith("_")]
    assert names and all(hasattr(m, n) for n in names), [n for n in names if not hasattr(m, n)]
