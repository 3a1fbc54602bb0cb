"""A real PEP 691 JSON Simple API index on loopback, serving sdists the test builds.

`PackageIndex.add_sdist(name, version, files)` packs `files` (path -> text) under `name-version/`
into a .tar.gz and lists it with its sha256 and an upload time; `index.url` is the Simple API root.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from inversion.engine.gold.pypi import normalize


class PackageIndex:
    def __init__(self) -> None:
        self.projects: dict[str, list[dict]] = {}
        self.blobs: dict[str, bytes] = {}
        self.requests: list[str] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = urlparse(self.path).path
                index.requests.append(path)
                parts = [p for p in path.split("/") if p]
                if len(parts) == 2 and parts[0] == "simple" and parts[1] in index.projects:
                    body = json.dumps({"meta": {"api-version": "1.1"}, "name": parts[1],
                                       "files": index.projects[parts[1]]}).encode()
                    return self._send(200, body, "application/vnd.pypi.simple.v1+json")
                if len(parts) == 2 and parts[0] == "files" and parts[1] in index.blobs:
                    return self._send(200, index.blobs[parts[1]], "application/octet-stream")
                self._send(404, b"not found", "text/plain")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/simple"

    def add_sdist(self, name: str, version: str, files: dict[str, str], *, uploaded: str = "2022-03-01T10:00:00Z",
                  corrupt: bool = False) -> str:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for rel, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(f"{name}-{version}/{rel}")
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        blob = buf.getvalue()
        filename = f"{name}-{version}.tar.gz"
        sha = hashlib.sha256(blob).hexdigest()
        self.blobs[filename] = blob + (b"tampered" if corrupt else b"")
        self.projects.setdefault(normalize(name), []).append({
            "filename": filename, "url": f"/files/{filename}", "hashes": {"sha256": sha},
            "upload-time": uploaded, "yanked": False})
        return sha

    def __enter__(self) -> PackageIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
