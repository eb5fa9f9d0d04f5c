"""Packaging: environment.yml declares what pyproject.toml declares, version for version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"duckdb": "python-duckdb"}  # conda-forge's names where they differ from PyPI


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+(?:\[[a-z,]+\])?)\s*(.*)", requirement.strip())
    assert match, requirement
    return match.group(1).lower(), match.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return dict(_split(r) for r in requirements)


def environment_requirements() -> dict[str, str]:
    document = yaml.safe_load((ROOT / "environment.yml").read_text())
    found: dict[str, str] = {}
    for entry in document["dependencies"]:
        items = entry["pip"] if isinstance(entry, dict) else [entry]
        for item in items:
            if item.startswith("-e") or item.split(">")[0] in ("python", "pip"):
                continue
            name, spec = _split(item)
            found[name] = spec
    return found


def test_environment_yml_matches_pyproject():
    expected = {CONDA_NAMES.get(n, n): spec for n, spec in pyproject_requirements().items()}
    assert environment_requirements() == expected


def test_lambda_needs_no_lab_or_local_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_split(r)[0] for r in project["dependencies"]}
    assert not core & {"duckdb", "jupyterlab", "matplotlib", "papermill", "moto[server]"}


def test_sql_files_ship_with_the_package():
    from fraudlib.rules import RULES

    for rule in RULES:
        assert rule.sql_text().strip()
