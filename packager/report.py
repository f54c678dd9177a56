"""The model printed: the JSON object of `packager inspect --json` (the contract in product.md)."""

from __future__ import annotations

from typing import Any

from packager.model import Block, Book, Chapter


def block_to_json(block: Block) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": block.kind, "lines": list(block.lines)}
    if block.file:
        data["file"] = block.file
    if block.note_kind:
        data["note_kind"] = block.note_kind
    if block.lines_kept:
        data["lines_kept"] = True  # a paragraph printed line by line (verse, a signature)
    if block.rule:
        data["rule"] = block.rule
    if block.confidence is not None:
        data["confidence"] = block.confidence
    if block.reason:
        data["reason"] = block.reason
    return data


def chapter_to_json(chapter: Chapter) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": chapter.title,
        "number": chapter.number,
        "lines": list(chapter.lines),
        "part": chapter.part,
        "label": chapter.label,
        "rule": chapter.rule,
        "blocks": [block_to_json(b) for b in chapter.blocks],
    }
    if chapter.file:
        data["file"] = chapter.file
    return data


def book_to_json(book: Book) -> dict[str, Any]:
    meta = book.metadata
    return {
        "title": meta.title,
        "author": ", ".join(meta.authors) if meta.authors else None,
        "authors": meta.authors,
        "language": meta.language,
        "series": meta.series,
        "series_index": meta.series_index,
        "front_matter": [block_to_json(b) for b in book.front_matter],
        "chapters": [chapter_to_json(c) for c in book.chapters],
        "back_matter": [block_to_json(b) for b in book.back_matter],
    }
