"""The package as installed: its version, the libraries it declares, the shop files it carries."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
import re
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from mailgate import config
from mailgate.cli import app
from tests.conftest import REPO, write_config

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _dist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _requirement_name(requirement: str) -> str:
    return _dist_key(re.split(r"[\s\[<>=!~;@]", requirement, maxsplit=1)[0])


def imported_libraries(package: Path) -> dict[str, set[str]]:
    """Top-level names of what the package's modules import (absolute imports, anywhere in a module)
    → the modules importing them; the standard library and mailgate itself left out."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != "mailgate":
                    found.setdefault(top, set()).add(str(path.relative_to(package.parent)))
    return found


def test_every_library_mailgate_imports_is_a_declared_dependency() -> None:
    declared = {_requirement_name(dep) for dep in PYPROJECT["project"]["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    imported = imported_libraries(REPO / "mailgate")
    assert {"pydantic", "sqlalchemy", "typer"} <= imported.keys()  # the scan sees the imports
    undeclared = {
        name: (providers.get(name), sorted(modules))
        for name, modules in imported.items()
        if not declared & {_dist_key(d) for d in providers.get(name, [])}
    }
    assert not undeclared, f"imported but not in pyproject.toml [project] dependencies: {undeclared}"


def test_version_option_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"mailgate {PYPROJECT['project']['version']}\n"
    assert importlib.metadata.version("mailgate") == PYPROJECT["project"]["version"]


def test_without_paths_the_shop_files_are_the_ones_installed_with_the_package(tmp_path: Path) -> None:
    cfg = config.load(write_config(tmp_path))
    assert cfg.templates_dir == importlib.resources.files("mailgate.shipped.templates")
    assert cfg.rules_dir == importlib.resources.files("mailgate.shipped.rules")
    assert (cfg.templates_dir / "mail" / "register_link.txt.j2").is_file()
    assert (cfg.templates_dir / "web" / "style.css").is_file()
    assert (cfg.rules_dir / "signup.toml").is_file()
    # The editable install the tests run in reads the checkout's own top-level directories: one copy.
    assert (cfg.templates_dir, cfg.rules_dir) == (REPO / "templates", REPO / "rules")
    assert not [p for p in (REPO / "mailgate").rglob("*") if p.suffix in (".j2", ".toml", ".css")]
