"""certs.py - test PKI, made at run time with the openssl CLI.

Every TLS test and benchmark makes its certificates here, in a directory
it owns (its temp dir): no key is ever committed. Keys are EC P-256 (a
certificate costs ~10 ms of openssl, against ~100 ms for RSA 2048); every
file is PEM, keys unencrypted and mode 0600.

    import certs
    ca = certs.make_ca(d, "ca")                # a self-signed CA
    other = certs.make_ca(d, "otherca")        # one that trusts nothing of ca
    srv = certs.make_cert(d, ca, "server", san=["IP:127.0.0.1", "DNS:localhost"])
    a1 = certs.make_cert(d, ca, "agent-1", san=["DNS:agent-1", "IP:127.0.0.1"])
    old = certs.make_expired(d, ca, "old")     # valid 2020-01-01 .. 01-02
    bad = certs.make_mismatched(d, ca, "bad")  # bad.key is not bad.crt's key
    srv.crt, srv.key, ca.crt                   # absolute paths

    pki = certs.make_set(d)                    # the usual set, at once

Each make_* writes <name>.crt and <name>.key in d (nothing else stays)
and returns a Cert(name, crt, key). A leaf certificate has the subject
CN (default: its name), the subjectAltNames given ("DNS:x", "IP:a.b.c.d"),
extendedKeyUsage serverAuth and clientAuth (one certificate serves both
ends: Redis uses its tls-cert-file for its own outgoing links too), and
subject/authority key identifiers; a CA has critical basicConstraints
CA:TRUE and keyUsage keyCertSign, as strict verifiers (Python 3.13's
default context) want.

The expired certificate is signed by `openssl ca` with -startdate and
-enddate in the past: `openssl x509 -req` of OpenSSL 3.0 (Debian 12) has
no -not_after, and `-days -1` gives notAfter before notBefore, not a
certificate that expired.
"""

import collections
import os
import secrets
import shutil
import subprocess

Cert = collections.namedtuple("Cert", "name crt key")

DAYS = 2
CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


def openssl(d, *args):
    """Run openssl in d; raise with its stderr if it fails."""
    r = subprocess.run(["openssl"] + list(args), cwd=d, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], r.stderr.strip()))


def _paths(d, name):
    """name.crt, name.key, name.csr in d, absolute (openssl runs in d)."""
    d = os.path.abspath(d)
    return (os.path.join(d, name + ".crt"), os.path.join(d, name + ".key"),
            os.path.join(d, name + ".csr"))


def _write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _new_key_and_csr(d, name, cn):
    """name.key (0600) and name.csr for subject CN=cn."""
    crt, key, csr = _paths(d, name)
    openssl(d, "req", "-new", *CURVE, "-nodes", "-subj", "/CN=%s" % cn,
            "-keyout", key, "-out", csr)
    os.chmod(key, 0o600)
    return crt, key, csr


def _leaf_ext(d, name, san):
    path = os.path.join(d, name + ".ext")
    lines = ["basicConstraints=critical,CA:FALSE",
             "keyUsage=critical,digitalSignature",
             "extendedKeyUsage=serverAuth,clientAuth",
             "subjectKeyIdentifier=hash",
             "authorityKeyIdentifier=keyid"]
    if san:
        lines.append("subjectAltName=" + ",".join(san))
    _write(path, lines)
    return path


def _tidy(d, name):
    """Remove what signing needed and nobody reads: name.csr, name.ext."""
    for ext in (".csr", ".ext"):
        os.remove(os.path.join(d, name + ext))


def make_ca(d, name, cn=None, days=DAYS):
    """A self-signed CA: d/name.crt, d/name.key (d made if missing)."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    crt, key, _ = _paths(d, name)
    # -config /dev/null: only the extensions given here, none of
    # openssl.cnf's v3_ca (which would clash with -addext)
    openssl(d, "req", "-x509", "-config", os.devnull, *CURVE, "-nodes",
            "-days", str(days), "-subj", "/CN=%s" % (cn or name),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
            "-keyout", key, "-out", crt)
    os.chmod(key, 0o600)
    return Cert(name, crt, key)


def make_cert(d, ca, name, cn=None, san=(), days=DAYS):
    """A certificate signed by ca (a Cert of make_ca): d/name.crt,
    d/name.key; subject CN=cn (default name), subjectAltName san, a
    list like ["DNS:agent-1", "IP:127.0.0.1"] (none if empty)."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    crt, key, csr = _new_key_and_csr(d, name, cn or name)
    openssl(d, "x509", "-req", "-in", csr, "-CA", ca.crt, "-CAkey", ca.key,
            "-set_serial", "0x" + secrets.token_hex(8), "-days", str(days),
            "-extfile", _leaf_ext(d, name, san), "-out", crt)
    _tidy(d, name)
    return Cert(name, crt, key)


def make_expired(d, ca, name, cn=None, san=("IP:127.0.0.1",)):
    """A certificate signed by ca that expired: valid from 2020-01-01 to
    2020-01-02 (UTC). Otherwise like make_cert."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    crt, key, csr = _new_key_and_csr(d, name, cn or name)
    db = os.path.join(d, name + ".cadb")  # openssl ca's bookkeeping
    os.makedirs(db, exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    _write(os.path.join(db, "serial"), [secrets.token_hex(8)])
    conf = os.path.join(db, "ca.cnf")
    _write(conf, ["[ca]", "default_ca = d", "[d]",
                  "database = %s" % os.path.join(db, "index.txt"),
                  "new_certs_dir = %s" % db,
                  "serial = %s" % os.path.join(db, "serial"),
                  "default_md = sha256", "policy = p", "unique_subject = no",
                  "[p]", "commonName = supplied"])
    openssl(d, "ca", "-batch", "-notext", "-config", conf, "-cert", ca.crt,
            "-keyfile", ca.key, "-in", csr, "-out", crt,
            "-extfile", _leaf_ext(d, name, san),
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")
    shutil.rmtree(db)
    _tidy(d, name)
    return Cert(name, crt, key)


def make_mismatched(d, ca, name, cn=None, san=("IP:127.0.0.1",)):
    """A valid certificate signed by ca, and a key that is not its key:
    d/name.crt, d/name.key."""
    c = make_cert(d, ca, name, cn=cn, san=san)
    other = make_cert(d, ca, name + ".other", cn=cn, san=san)
    os.replace(other.key, c.key)
    os.remove(other.crt)
    return c


def make_set(d):
    """The usual set in d, as a dict of Cert: "ca", "otherca" (unrelated),
    "server" (signed by ca, CN server, SAN IP:127.0.0.1 and
    DNS:localhost), "client" (signed by ca, CN client, no SAN),
    "other-server" (the same names, signed by otherca), "expired" and
    "mismatched" (signed by ca, SAN IP:127.0.0.1)."""
    ca = make_ca(d, "ca")
    otherca = make_ca(d, "otherca")
    local = ["IP:127.0.0.1", "DNS:localhost"]
    return {
        "ca": ca,
        "otherca": otherca,
        "server": make_cert(d, ca, "server", san=local),
        "client": make_cert(d, ca, "client"),
        "other-server": make_cert(d, otherca, "other-server", cn="server",
                                  san=local),
        "expired": make_expired(d, ca, "expired"),
        "mismatched": make_mismatched(d, ca, "mismatched"),
    }
