"""Shared fixtures: the ../shared data beside the repository, and books built once per session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared(*parts: str) -> Path:
    """A path inside ../shared; a missing file fails the test (it never skips)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared beside the repository")
    return path


def run_packager(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "packager", *map(str, args)], capture_output=True,
                            text=True, cwd=cwd, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"packager {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def inspect_json(path: Path) -> dict:
    return json.loads(run_packager("inspect", path, "--json").stdout)


def seed_labels() -> dict:
    labels = json.loads(shared("seeds", "labels.json").read_text())
    return {k: v for k, v in labels.items() if not k.startswith("_")}


def corpus_labels() -> dict:
    labels = json.loads(shared("corpus", "labels.json").read_text())
    return {k: v for k, v in labels.items() if not k.startswith("_")}


# The acceptance set: every seed, every CC0 story, and one Gutenberg book.
def acceptance_sources() -> list[Path]:
    seeds = sorted(shared("seeds").glob("*.txt"))
    cc0 = sorted(p for p in shared("corpus", "cc0").iterdir() if p.is_dir())
    return seeds + cc0 + [shared("corpus", "gutenberg", "a-christmas-carol.txt")]


@pytest.fixture(scope="session")
def built_books(tmp_path_factory) -> Path:
    """The acceptance set built once (EPUB and PDF) into one folder."""
    out = tmp_path_factory.mktemp("books")
    run_packager("build", *acceptance_sources(), "--out-dir", out)
    return out


@pytest.fixture(scope="session")
def built_samples(tmp_path_factory) -> Path:
    """The bundled sample stories, built as the README's quick start does."""
    out = tmp_path_factory.mktemp("samples")
    run_packager("build", ROOT / "stories", "--out-dir", out)
    return out


def copy_stories(folder: Path) -> Path:
    """A folder of stories as an archivist keeps one: the seeds as story files and the CC0 stories as
    story folders, copied from ../shared into a temporary folder (never into the repository)."""
    import shutil
    folder.mkdir(parents=True, exist_ok=True)
    for seed in sorted(shared("seeds").glob("*.txt")):
        shutil.copy2(seed, folder / seed.name)
    for story in sorted(p for p in shared("corpus", "cc0").iterdir() if p.is_dir()):
        shutil.copytree(story, folder / story.name)
    return folder


def build_json(report: Path) -> dict:
    return json.loads(report.read_text(encoding="utf-8"))
