"""A local stand-in for the Hugging Face Hub's write API, so that the real `huggingface_hub` client uploads to it.

It answers repo creation, `validate-yaml`, `preupload` ("regular" for every file, so contents travel inline) and the
NDJSON `commit`, and keeps what each repo holds. Everything else gets 404. Loopback only.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHub:
    def __init__(self):
        self.repos: dict[str, dict[str, bytes]] = {}  # repo id -> path -> content, after all commits
        self.commits: list[tuple[str, list[str]]] = []  # (repo id, paths) per commit
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, payload) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                hub.requests.append(f"GET {self.path}")
                self._reply(404, {"error": "not served by the local test hub"})

            do_HEAD = do_GET  # noqa: N815

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                hub.requests.append(f"POST {path}")
                if path == "/api/repos/create":
                    data = json.loads(body)
                    repo = f"{data.get('organization') or 'user'}/{data['name']}" if "/" not in data["name"] \
                        else data["name"]
                    hub.repos.setdefault(repo, {})
                    return self._reply(200, {"url": f"http://{self.headers['Host']}/{repo}", "name": repo})
                if path == "/api/validate-yaml":
                    return self._reply(200, {"errors": [], "warnings": []})
                if path.startswith("/api/models/") and "/preupload/" in path:
                    files = json.loads(body)["files"]
                    return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                        "shouldIgnore": False} for f in files]})
                if path.startswith("/api/models/") and "/commit/" in path:
                    repo = path.removeprefix("/api/models/").split("/commit/")[0]
                    paths = []
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            value = item["value"]
                            hub.repos.setdefault(repo, {})[value["path"]] = base64.b64decode(value["content"])
                            paths.append(value["path"])
                    hub.commits.append((repo, paths))
                    return self._reply(200, {"commitUrl": f"http://{self.headers['Host']}/{repo}/commit/1",
                                             "commitOid": "1" * 40, "pullRequestUrl": None})
                return self._reply(404, {"error": f"unknown endpoint {path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
