"""The test set-up itself: the tests' own cache folder, and a missing Java named in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import JAVA_PACKAGE

TESTS = Path(__file__).resolve().parent


def test_builds_run_by_the_tests_cache_their_pdf_chunks_in_the_sessions_temporary_folder(tmp_path_factory):
    from packager.render.pdf import default_cache_dir
    session = tmp_path_factory.getbasetemp().resolve()
    in_a_subprocess = subprocess.run(
        [sys.executable, "-c", "from packager.render.pdf import default_cache_dir; print(default_cache_dir())"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert session in default_cache_dir().resolve().parents
    assert session in Path(in_a_subprocess).resolve().parents


@pytest.mark.slow
def test_without_java_an_epubcheck_test_fails_in_one_line_naming_the_package(pytester, monkeypatch, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    pytester.makepyfile(test_book="""
        from test_epub import epubcheck_messages

        def test_the_book_passes_epubcheck():
            assert epubcheck_messages("book.epub") == []
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "FileNotFoundError" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*_ test_the_book_passes_epubcheck _*",  # the failure is this one line
                                 f"EPUBCheck needs Java, *: apt-get install {JAVA_PACKAGE}",
                                 "=*"], consecutive=True)  # then the next section
