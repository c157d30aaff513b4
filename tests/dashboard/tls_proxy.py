#!/usr/bin/python3
"""Development tool: serve the fake dashboard over HTTPS the way a TLS cluster serves the real one.

Makes (with openssl) a throwaway CA and a server certificate whose only name is DNS:orrery.cluster
(no IP SAN), like the cluster's, then terminates TLS on 127.0.0.1:<port> and passes the plain
bytes to a backend such as src/dashboard/web/test/fake_server.js. Only for trying
browser_test.py's --ca-file path without a cluster; see tests/dashboard/README.md.

  node src/dashboard/web/test/fake_server.js 8266 &
  /usr/bin/python3 tests/dashboard/tls_proxy.py --certs /tmp/dash-tls --port 8443 --backend 127.0.0.1:8266 &
  /usr/bin/python3 tests/dashboard/browser_test.py --url https://127.0.0.1:8443/ --token orrery \
      --ca-file /tmp/dash-tls/ca.crt

--name changes the certificate's DNS name (to check that a wrong name is refused); --ca-only
makes the CA and exits (a second CA, to check that a stranger's CA is refused).
"""

import argparse
import os
import socket
import ssl
import subprocess
import sys
import threading


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(folder, name, ca_only):
    os.makedirs(folder, exist_ok=True)
    ca_key, ca_crt = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.crt")
    if not os.path.exists(ca_crt):
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", ca_key, "-out", ca_crt, "-days", "30", "-subj", "/CN=orrery test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    if ca_only:
        return None
    key, csr, crt = (os.path.join(folder, "server." + ext) for ext in ("key", "csr", "crt"))
    ext = os.path.join(folder, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n" % name)
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "30", "-extfile", ext)
    return crt, key


def pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(port, backend, crt, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    host, backend_port = backend.rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", port))
    print("https://127.0.0.1:%d/ -> http://%s (certificate %s)" % (port, backend, crt), flush=True)
    while True:
        raw, _ = listener.accept()

        def handle(raw=raw):
            try:
                tls = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):  # a client that refused the certificate
                raw.close()
                return
            try:
                plain = socket.create_connection((host, int(backend_port)))
            except OSError:
                tls.close()
                return
            threading.Thread(target=pipe, args=(plain, tls), daemon=True).start()
            pipe(tls, plain)
        threading.Thread(target=handle, daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--certs", required=True, help="folder for ca.crt, server.crt, server.key (kept if there)")
    parser.add_argument("--name", default="orrery.cluster", help="the server certificate's DNS name")
    parser.add_argument("--ca-only", action="store_true", help="make the CA and exit")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--backend", default="127.0.0.1:8266", help="host:port of the plain HTTP server")
    args = parser.parse_args()
    made = make_certs(args.certs, args.name, args.ca_only)
    if made:
        serve(args.port, args.backend, *made)


if __name__ == "__main__":
    sys.exit(main())
