"""front: calls greeter through $GREETER_URL and wraps its answer."""

import json
import os
import signal
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETER_URL = os.environ["GREETER_URL"]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            status, body = 200, b"ok"
        else:
            try:
                with urllib.request.urlopen(GREETER_URL, timeout=5) as reply:
                    greeting = json.load(reply)["message"]
                status = 200
                body = json.dumps({"front": "ok", "greeter_says": greeting}).encode()
            except OSError as exc:
                status, body = 502, json.dumps({"error": str(exc)}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"front: {format % args}", flush=True)


def main() -> None:
    port = int(os.environ["PORT"])
    host = os.environ.get("HOST", "127.0.0.1")  # 0.0.0.0 inside a container
    server = ThreadingHTTPServer((host, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"front listening on {host}:{port}, greeter at {GREETER_URL}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
