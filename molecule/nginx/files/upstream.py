"""A stand-in for gunicorn: answers every request on the socket systemd passes it (fd 3) with
JSON saying what nginx sent: method, path, Host, X-Forwarded-* and X-Real-IP headers."""

import http.server
import json
import socket
import socketserver


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "forwarded_proto": self.headers.get("X-Forwarded-Proto"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "real_ip": self.headers.get("X-Real-IP"),
            "body_length": len(self.rfile.read(length)) if length else 0,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def address_string(self):
        return "unix"  # a unix socket's peer has no address


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


server = Server("", Handler, bind_and_activate=False)
server.socket.close()
server.socket = socket.socket(fileno=3)  # the listening socket systemd passes (fake-upstream.socket)
server.serve_forever()
