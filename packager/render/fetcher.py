"""A URL fetcher for WeasyPrint that serves only the book's own local files and data: URIs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint.urls import URLFetcher


class LocalOnlyFetcher(URLFetcher):
    """Serves `data:` URIs and files inside the allowed folders; refuses everything else (remote
    addresses, files elsewhere on disk) and records what it refused, so the build can warn."""

    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)
        self.roots = [root.resolve() for root in roots]
        self.refused: list[str] = []

    def _allowed(self, url: str) -> bool:
        if url.startswith("data:"):
            return True
        parsed = urlparse(url)
        if parsed.scheme != "file":
            return False
        path = Path(unquote(parsed.path)).resolve()
        return path.is_file() and any(path == root or root in path.parents for root in self.roots)

    def fetch(self, url, headers=None):
        if not self._allowed(url):
            self.refused.append(url)
            raise ValueError(f"packager does not fetch {url}")
        return super().fetch(url, headers)
