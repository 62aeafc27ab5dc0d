#!/usr/bin/env python3
"""A throttling HTTP reverse proxy for tests: SLOWREG in front of a plain registry.

Forwards every request (method, path and query, headers including Range and Authorization,
body) to the upstream registry and sends back its status, headers and body, the body throttled
to --rate bytes per second per connection (written in small chunks with sleeps). The Host header
is passed through unchanged, so URLs the registry builds (upload Locations) point at the proxy.
Each connection is served by its own thread; keep-alive works when upstream sends a
Content-Length, otherwise the response is delimited by closing the connection.
Clients that disconnect mid-body (a SIGKILLed pull) are normal: the thread just ends.

Usage: slow-proxy.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT [--rate BYTES_PER_SEC]
"""
import argparse
import http.client
import http.server
import socket
import sys
import time

CHUNK = 16 * 1024
# Hop-by-hop headers are about one connection and are not forwarded (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection",
    "expect",  # the proxy already answered 100-continue itself and sends the whole body upstream
}


class Throttle:
    """Paces writes so that the running average stays at `rate` bytes per second."""

    def __init__(self, rate):
        self.rate = rate
        self.start = time.monotonic()
        self.sent = 0

    def wait_then_count(self, nbytes):
        self.sent += nbytes
        due = self.start + self.sent / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = ("127.0.0.1", 5000)
    rate = 4 * 1024 * 1024

    def log_message(self, fmt, *args):
        # Escape what is not printable: clients probing for TLS first send binary request lines.
        message = (fmt % args).encode("ascii", "backslashreplace").decode("ascii")
        sys.stderr.write("%s [%s] %s\n" % (self.address_string(), self.log_date_time_string(), message))

    def read_request_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def forward(self):
        body = self.read_request_body()
        # A list, not a dict: clients repeat headers (skopeo sends one Accept line per media type).
        headers = [(k, v) for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        if body is not None:
            headers.append(("Content-Length", str(len(body))))
        conn = http.client.HTTPConnection(*self.upstream, timeout=300)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders(body)
            response = conn.getresponse()
            self.relay(response)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except OSError as error:
            self.close_connection = True
            try:
                self.send_error(502, "upstream error: %s" % error)
            except OSError:
                pass
        finally:
            conn.close()

    def relay(self, response):
        self.send_response_only(response.status, response.reason)
        length = response.getheader("Content-Length")
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        has_body = self.command != "HEAD" and response.status not in (204, 304) and response.status >= 200
        if has_body and length is None:
            self.close_connection = True  # delimit the body by closing, HTTP/1.0 style
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not has_body:
            return
        throttle = Throttle(self.rate)
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                break
            throttle.wait_then_count(len(chunk))
            self.wfile.write(chunk)
        self.wfile.flush()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = forward


def host_port(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=host_port, required=True, help="HOST:PORT to listen on")
    parser.add_argument("--upstream", type=host_port, required=True, help="HOST:PORT of the registry")
    parser.add_argument("--rate", type=int, default=4 * 1024 * 1024, help="bytes per second per connection")
    args = parser.parse_args()
    ProxyHandler.upstream = args.upstream
    ProxyHandler.rate = args.rate
    server = http.server.ThreadingHTTPServer(args.listen, ProxyHandler)
    server.daemon_threads = True
    sys.stderr.write("slow-proxy: %s:%d -> %s:%d at %d B/s\n" % (args.listen + args.upstream + (args.rate,)))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
