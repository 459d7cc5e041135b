"""greeter: answers every GET with $MESSAGE (injected by devstack from the environment)."""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            body = b"ok"
        else:
            body = json.dumps({"message": os.environ.get("MESSAGE", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"greeter: {format % args}", flush=True)


def main() -> None:
    port = int(os.environ["PORT"])
    host = os.environ.get("HOST", "127.0.0.1")  # 0.0.0.0 inside a container
    server = ThreadingHTTPServer((host, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"greeter listening on {host}:{port} (LOG_LEVEL={os.environ.get('LOG_LEVEL')})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
