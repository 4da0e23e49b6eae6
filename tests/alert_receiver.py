"""A real local HTTP server that receives webhook POSTs (for the alert and watch tests);
it answers GETs the same way, standing in for a failing vendor API."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every POST (headers, raw body); answers the next status in `script`,
    then `default` once the script is used up."""

    def __init__(self, script: list[int] | None = None, default: int = 200):
        self.script = list(script or [])
        self.default = default
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(({k: v for k, v in self.headers.items()}, body))
                status = outer.script.pop(0) if outer.script else outer.default
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST         # (a stand-in vendor API for watch's collect step)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-path"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
