"""Detection: decoded lines to the document model (headings, notes, breaks, front matter).

Each heuristic is a small named rule; `packager inspect` reports which rule decided each block.
"""

from packager.detect.structure import detect_book

__all__ = ["detect_book"]
