"""Rendering: the document model to EPUB and PDF; looks come from styles/ and templates/."""
