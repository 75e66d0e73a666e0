"""Docs that match the code: the README's Python blocks run, its setup commands are CI's, and the
packaging files (LICENSE, CHANGELOG, API reference, shipped corpus) exist and agree with the code.

A README block preceded by ``<!-- readme-test: imports-only (why) -->`` is compiled and only its
import statements run (used for blocks that train a model or export it to ONNX).
"""

from __future__ import annotations

import ast
import gzip
import importlib
import re
import sys
from pathlib import Path

import pytest

from kontak_nlp._version import __version__

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
IMPORTS_ONLY = "<!-- readme-test: imports-only"


def code_blocks(text: str, language: str) -> list[tuple[str, bool]]:
    """``(code, imports_only)`` of every fenced block of ``language``, in order."""
    pattern = re.compile(rf"(<!-- readme-test:[^>]*-->\n)?```{language}\n(.*?)```", re.S)
    return [(m.group(2), bool(m.group(1) and IMPORTS_ONLY in m.group(1))) for m in pattern.finditer(text)]


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    following = text.find("\n## ", start + 3)
    return text[start : following if following != -1 else None]


def test_readme_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block runs, in order, in one namespace (the default model; a temporary working folder)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    blocks = code_blocks(README, "python")
    assert len(blocks) >= 4
    for index, (code, imports_only) in enumerate(blocks):
        tree = ast.parse(code, filename=f"README.md python block {index}")
        if imports_only:
            tree.body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        exec(compile(tree, f"README.md python block {index}", "exec"), namespace)  # noqa: S102
    article = namespace["article"]
    assert len(article) > 3 and {"label", "start", "end"} <= set(article.to_pandas().columns)
    assert list(namespace["df"].columns) == ["sentence", "label"]


def test_the_two_setup_commands_are_what_ci_runs() -> None:
    commands = [code.strip() for code, _ in code_blocks(section(README, "Setup: two commands"), "bash")]
    assert len(commands) == 2
    assert commands[0].endswith("&& kontak-nlp demo") and commands[1].endswith("&& python -m pytest -q")
    for command in commands:
        assert "--extra-index-url https://download.pytorch.org/whl/cpu" in command
        assert "constraints" not in command  # a user needs no CI file
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert commands[0] in ci_lines
    assert commands[1].removesuffix("&& python -m pytest -q").strip().removesuffix("&&").strip() in ci
    assert 'if [ "$status" -eq 5 ]' in ci  # "no tests collected" fails CI


def test_license_changelog_and_extras() -> None:
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = { text = "Apache-2.0" }' in pyproject
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{__version__}]" in changelog or "## [Unreleased]" in changelog
    for package in ("nbconvert", "nbclient", "mkdocs", "mkdocstrings"):
        assert package in pyproject, package


def test_api_reference_names_resolve() -> None:
    """Every ``::: dotted.name`` of docs/api.md imports (what mkdocstrings needs to render it)."""
    names = re.findall(r"^::: ([\w.]+)$", (REPO / "docs" / "api.md").read_text(encoding="utf-8"), re.M)
    assert len(names) >= 10
    for name in names:
        module, _, attribute = name.rpartition(".")
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            assert hasattr(importlib.import_module(module), attribute), name


def test_api_reference_builds(tmp_path: Path) -> None:
    pytest.importorskip("mkdocstrings", reason="the [docs] extra builds the API reference")
    import subprocess

    command = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(tmp_path / "site")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "classify" in (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")


def test_the_shipped_corpus_is_the_repository_corpus_and_is_used_without_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kontak_nlp import data

    packaged, repo = data.PACKAGED_CORPUS, REPO / "training" / "data" / "corpus.jsonl"
    assert packaged.stat().st_size < 5_000_000
    with gzip.open(packaged, "rb") as handle:
        assert handle.read() == repo.read_bytes(), "rebuild both with: python training/build_corpus.py"
    monkeypatch.delenv("KONTAK_CORPUS", raising=False)
    assert data.corpus_path() == packaged  # the package never reads the repository's training/ folder
    assert data.load_corpus("dev").num_rows > 1000
