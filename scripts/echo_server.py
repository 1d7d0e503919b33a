#!/usr/bin/env python3
"""A stand-in public-IP echo service for the demo.

Serves one fixed, public-looking address as plain text on 127.0.0.1 on a free port, prints the
port on the first line of stdout, and serves until killed. Usage: echo_server.py [ADDRESS]
"""

import http.server
import sys

ADDRESS = sys.argv[1] if len(sys.argv) > 1 else "81.2.69.160"


class EchoHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (ADDRESS + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # The demo's output is terraform's; request logs would only interleave with it.
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
