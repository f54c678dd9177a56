"""Dot leaders (packager/render/leaders.py): a contents line's dots are drawn as one text, at the
places WeasyPrint sets them when it draws every dot as a text of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pikepdf

from conftest import ROOT

CONTENTS = """
<style>
  @page { size: 120mm 100mm; margin: 10mm }
  li { list-style: none }
  .title::after { content: leader(". ") }
  .page { display: inline-block; width: 2em; text-align: right }
</style>
<ol>
  <li><span class="title">The Harbour</span><span class="page">1</span></li>
  <li><span class="title">A Much Longer Title, for the Storm and What Came After It</span><span class="page">15</span></li>
  <li><span class="title">Epilogue</span><span class="page">123</span></li>
</ol>
"""

RENDER = """
import sys, weasyprint
sys.path.insert(0, {root!r})
if sys.argv[1] == "joined":
    from packager.render import leaders
    leaders.install()
weasyprint.HTML(string=sys.argv[2]).write_pdf(sys.argv[3])
"""

WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


def _render(tmp_path: Path, how: str) -> Path:
    out = tmp_path / f"{how}.pdf"
    subprocess.run([sys.executable, "-c", RENDER.format(root=str(ROOT)), how, CONTENTS, str(out)], check=True)
    return out


def _words(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in WORD.findall(out)]


def _lines(words) -> dict[float, list[tuple[float, float, float, float, str]]]:
    lines: dict[float, list] = {}
    for word in words:
        lines.setdefault(word[3], []).append(word)
    return lines


def _same_places(these, those) -> bool:
    """The same words on the same lines; the dots nearest the page number where they were (within
    a twentieth of a point), the others within a tenth."""
    if [w[4] for w in these] != [w[4] for w in those]:
        return False
    for (_, mine), (_, theirs) in zip(sorted(_lines(these).items()), sorted(_lines(those).items())):
        for n, (a, b) in enumerate(zip(reversed(mine), reversed(theirs))):
            if any(abs(x - y) >= (0.05 if n < 3 else 0.1) for x, y in zip(a[:4], b[:4])):
                return False
    return True


def _texts_drawn(pdf: Path) -> int:
    with pikepdf.open(pdf) as document:
        return sum(1 for _, operator in pikepdf.parse_content_stream(document.pages[0])
                   if str(operator) in ("Tj", "TJ"))


def test_a_leader_is_one_text_a_line_with_every_dot_where_weasyprint_puts_it(tmp_path):
    apart, joined = _render(tmp_path, "apart"), _render(tmp_path, "joined")
    dots = [word for word in _words(apart) if word[4] == "."]
    assert len(dots) > 40  # three lines of dots
    assert _same_places(_words(joined), _words(apart))  # "Harbour" and its dots stay two words
    assert _texts_drawn(apart) > len(dots)
    assert _texts_drawn(joined) <= 3 * (2 + 4)  # a title and its number, and a leader in runs of 8 dots
