"""Token-login bench helper: bench/token_login.py jwks|tokens …

  jwks PORT KEYFILE       serve KEYFILE's public key as a JWKS at http://127.0.0.1:PORT/jwks
  tokens KIND SITE N OUT  write N request bodies, one unique token each, to OUT:
                          KIND sso KID SECRET, or id ISSUER CLIENT KEYFILE
Tokens are made with the `cryptography` package Schemathesis installs (no PyJWT here).
"""
import base64, hashlib, hmac, json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seg(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def rsa_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    try:
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), None)
    except FileNotFoundError:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return key


def jwks(port, keyfile):
    pub = rsa_key(keyfile).public_key().public_numbers()
    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
    body = json.dumps({"keys": [{"kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig",
                                 "n": b64(n), "e": b64(pub.e.to_bytes(3, "big"))}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def tokens(kind, site, count, out, *rest):
    now = int(time.time())
    with open(out, "w") as f:
        if kind == "sso":
            kid, secret = rest
            head = seg({"alg": "HS256", "typ": "JWT", "kid": kid})
            for i in range(int(count)):
                user = i % 1000  # returning users: the steady state of a site
                body = seg({"user": {"id": f"sso-{user}", "name": f"User {user}",
                                     "email": f"u{user}@example.com"},
                            "iat": now, "exp": now + 540, "jti": f"bench-{now}-{i}"})
                signing = f"{head}.{body}".encode()
                sig = b64(hmac.new(secret.encode(), signing, hashlib.sha256).digest())
                f.write(json.dumps({"site_id": int(site), "token": f"{head}.{body}.{sig}"}) + "\n")
        else:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
            issuer, client, keyfile = rest
            key = rsa_key(keyfile)
            head = seg({"alg": "RS256", "typ": "JWT", "kid": "bench"})
            for i in range(int(count)):
                user = i % 1000
                body = seg({"iss": issuer, "aud": client, "sub": f"oidc-{user}",
                            "name": f"User {user}", "email": f"u{user}@example.com",
                            "iat": now, "exp": now + 540, "jti": f"bench-{now}-{i}"})
                signing = f"{head}.{body}".encode()
                sig = b64(key.sign(signing, padding.PKCS1v15(), hashes.SHA256()))
                f.write(json.dumps({"site_id": int(site), "id_token": f"{head}.{body}.{sig}"}) + "\n")


if __name__ == "__main__":
    {"jwks": jwks, "tokens": tokens}[sys.argv[1]](*sys.argv[2:])
