#!/usr/bin/python3
"""A token service for tests: TOKENREG's `auth: token` realm (the Docker Hub / GHCR flow).

    token-server.py keygen DIR
        write DIR/key.pem (RSA 2048, private) and DIR/cert.pem (its self-signed certificate,
        for the registry's `rootcertbundle`)

    token-server.py serve --listen 127.0.0.1:PORT --key DIR/key.pem --issuer ISSUER
                          --service SERVICE [--account USER PASSWORD GLOB ACTIONS]...
                          [--token-log FILE] [--ttl SECONDS]
        answer GET /token?service=SERVICE&scope=repository:NAME:ACTIONS[&scope=...] with
        {"token": JWT, "access_token": JWT, "expires_in": TTL, "issued_at": ...}

Access policy, as a real token service would have it:
  * no Authorization header: anonymous; the token is valid but grants nothing (access: []),
    so the registry answers 401 insufficient_scope and the client must report that the
    repository needs a login;
  * `Authorization: Basic` with an account's user and password: the token grants the
    requested actions that the account has on repositories whose name matches its GLOB
    (fnmatch: `fixtures/*`), and nothing on other repositories;
  * any other Authorization (wrong password, unknown user, another scheme): HTTP 401.

Tokens are JWTs signed RS256 whose header names the key by `kid` in libtrust's format, the one
distribution 2.8 looks up among the public keys of its `rootcertbundle` certificates. Each issued
token is appended to --token-log (one per line) so that tests can check that a client never
prints one. Secrets (passwords, tokens) never go to the request log on stderr.

Needs the `cryptography` package: Debian's python3-cryptography, so run it with /usr/bin/python3.
"""

import argparse
import base64
import datetime
import fnmatch
import hashlib
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID
except ImportError:
    sys.exit(f"token-server.py: {sys.executable} has no `cryptography` module; "
             "install python3-cryptography and run this with /usr/bin/python3")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_key_id(public_key):
    """libtrust's KeyID: sha256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without
    padding (48 characters), in 12 groups of 4 joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i:i + 4] for i in range(0, len(encoded), 4))


def keygen(directory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devenv test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(f"{directory}/key.pem", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(f"{directory}/cert.pem", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


class Issuer:
    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        self.kid = libtrust_key_id(self.key.public_key())
        self.issuer = args.issuer
        self.service = args.service
        self.ttl = args.ttl
        # user -> (password, glob, actions)
        self.accounts = {user: (password, glob, set(actions.split(",")))
                         for user, password, glob, actions in args.account}
        self.token_log = args.token_log
        self.lock = threading.Lock()

    def account(self, authorization):
        """The account name for a valid Basic header, "" for none, None for invalid ones."""
        if not authorization:
            return ""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        entry = self.accounts.get(user)
        if entry is None or entry[0] != password:
            return None
        return user

    def grant(self, user, scopes):
        """The `access` claim: the requested actions this user has, per repository scope."""
        access = []
        entry = self.accounts.get(user) if user else None
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name or entry is None:
                continue
            _, glob, allowed = entry
            if not fnmatch.fnmatchcase(name, glob):
                continue
            granted = [a for a in actions.split(",") if a in allowed or "*" in allowed]
            if granted:
                access.append({"type": "repository", "name": name, "actions": granted})
        return access

    def token(self, user, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + self.ttl,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        token = signing_input + "." + b64url(signature)
        if self.token_log:
            with self.lock, open(self.token_log, "a") as f:
                f.write(token + "\n")
        return token


class Handler(BaseHTTPRequestHandler):
    server_version = "devenv-test-token-server"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        issuer = self.server.issuer
        url = urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
        query = parse_qs(url.query)
        service = query.get("service", [""])[0]
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        if service != issuer.service:
            self.note(f"service {service!r} is not {issuer.service!r}: 400")
            return self.reply(400, {"errors": [{"code": "UNSUPPORTED",
                                                "message": f"unknown service {service!r}"}]})
        user = issuer.account(self.headers.get("Authorization"))
        if user is None:
            self.note(f"scope={scopes} invalid credentials: 401")
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                "message": "invalid username or password"}]},
                              {"WWW-Authenticate": 'Basic realm="devenv-test-token-server"'})
        access = issuer.grant(user, scopes)
        self.note(f"user={user or '(anonymous)'} scope={scopes} granted={access}")
        token = issuer.token(user, access)
        self.reply(200, {"token": token, "access_token": token, "expires_in": issuer.ttl,
                         "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})

    def reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def note(self, message):
        sys.stderr.write(f"token-server: {message}\n")

    def log_message(self, format, *args):  # the request line: path and query, no secrets
        sys.stderr.write(f"token-server: {self.address_string()} {format % args}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    keygen_parser = commands.add_parser("keygen", help="write DIR/key.pem and DIR/cert.pem")
    keygen_parser.add_argument("directory")
    serve = commands.add_parser("serve", help="run the token service")
    serve.add_argument("--listen", required=True, help="HOST:PORT")
    serve.add_argument("--key", required=True, help="PEM private key written by keygen")
    serve.add_argument("--issuer", required=True, help="the registry's auth.token.issuer")
    serve.add_argument("--service", required=True, help="the registry's auth.token.service")
    serve.add_argument("--account", nargs=4, action="append", default=[],
                       metavar=("USER", "PASSWORD", "GLOB", "ACTIONS"),
                       help="an account with ACTIONS (comma-separated, e.g. pull,push) on repositories matching GLOB")
    serve.add_argument("--token-log", help="append every issued token to this file")
    serve.add_argument("--ttl", type=int, default=300, help="token lifetime in seconds")
    args = parser.parse_args()

    if args.command == "keygen":
        keygen(args.directory)
        return
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    server.issuer = Issuer(args)
    sys.stderr.write(f"token-server: listening on {args.listen}, key id {server.issuer.kid}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
