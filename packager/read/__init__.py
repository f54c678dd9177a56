"""Reading: bytes on disk to decoded lines, story discovery, sidecar metadata."""
