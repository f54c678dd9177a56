"""packager: turn stories kept as plain text or Markdown into EPUB 3 and typeset PDF books."""

__version__ = "0.1.0"
