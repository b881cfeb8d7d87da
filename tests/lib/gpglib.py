"""Real gnupg for the tests: GNUPGHOMEs in short temporary directories
(gpg-agent's socket path has a length limit), OpenPGP keys without a
passphrase made in milliseconds, an S/MIME test CA and certificates made
with openssl and imported into gpgsm, and messages signed and encrypted
by gpg and gpgsm themselves, assembled into MIME here."""

import base64
import os
import shutil
import subprocess
import tempfile


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Keys:
    """A set of GNUPGHOMEs under one temporary directory."""

    def __init__(self):
        self.root = tempfile.mkdtemp(dir="/tmp", prefix="tg")
        self.homes = []

    def home(self, name, pinentry=None):
        h = os.path.join(self.root, name)
        os.makedirs(h, mode=0o700)
        with open(os.path.join(h, "gpg-agent.conf"), "w") as f:
            f.write("allow-loopback-pinentry\n")
            if pinentry:
                f.write("pinentry-program %s\n" % pinentry)
        with open(os.path.join(h, "gpgsm.conf"), "w") as f:
            f.write("disable-crl-checks\ndisable-dirmngr\n")
        with open(os.path.join(h, "gpg.conf"), "w") as f:
            f.write("no-auto-key-locate\nno-auto-key-retrieve\n")
        self.homes.append(h)
        return h

    def run(self, prog, home, *args, input=None, check=True):
        env = dict(os.environ, GNUPGHOME=home)
        r = subprocess.run([prog, "--batch"] + list(args), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("%s %s: %s" % (prog, " ".join(args),
                                                r.stderr.decode()))
        return r

    def gpg(self, home, *args, **kw):
        return self.run("gpg", home, *args, **kw).stdout

    def gpgsm(self, home, *args, **kw):
        return self.run("gpgsm", home, *args, **kw).stdout

    def gen(self, home, uid, expire="1y", faked=None, passphrase=""):
        """A signing primary key and an encryption subkey; the
        fingerprint. faked: gpg's --faked-system-time (a key made in the
        past, to be expired now)."""
        pre = ["--faked-system-time", faked] if faked else []
        pw = ["--pinentry-mode", "loopback", "--passphrase", passphrase]
        self.gpg(home, *pre, *pw, "--quick-gen-key", uid, "ed25519",
                 "sign,cert", expire)
        out = self.gpg(home, "--with-colons", "--list-keys", uid).decode()
        fpr = [line.split(":")[9] for line in out.splitlines()
               if line.startswith("fpr:")][0]
        self.gpg(home, *pre, *pw, "--quick-add-key", fpr, "cv25519",
                 "encr", expire)
        return fpr

    def copy(self, src, dst, fpr, secret=False):
        data = self.gpg(src, "--export-secret-keys" if secret
                        else "--export", fpr)
        self.gpg(dst, "--import", input=data)
        if secret:
            # One's own key is trusted ultimately, as gpg makes it.
            self.gpg(dst, "--import-ownertrust",
                     input=b"%s:6:\n" % fpr.encode())

    def certify(self, home, signer, fpr):
        """signer certifies fpr's user IDs in home: valid there."""
        self.gpg(home, "--yes", "--default-key", signer,
                 "--quick-sign-key", fpr)

    def cleanup(self):
        for h in self.homes:
            subprocess.run(["gpgconf", "--kill", "all"],
                           env=dict(os.environ, GNUPGHOME=h),
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- S/MIME --------------------------------------------------------

    def smime_ca(self):
        """A test CA (its files under the root)."""
        d = os.path.join(self.root, "ca")
        os.makedirs(d)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", os.path.join(d, "ca.key"),
             "-out", os.path.join(d, "ca.pem"), "-days", "30",
             "-subj", "/CN=tern test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            check=True, capture_output=True)
        self.ca = d
        return d

    def smime_cert(self, name, email):
        """A certificate of the CA for email; (p12 path, pem path)."""
        d = self.ca
        key, csr = os.path.join(d, name + ".key"), os.path.join(d, name
                                                                 + ".csr")
        pem, p12 = os.path.join(d, name + ".pem"), os.path.join(d, name
                                                                 + ".p12")
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=email:%s\n"
                    "keyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=emailProtection\n"
                    "basicConstraints=CA:FALSE\n" % email)
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", csr, "-subj",
                        "/CN=%s/emailAddress=%s" % (name, email)],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA",
                        os.path.join(d, "ca.pem"), "-CAkey",
                        os.path.join(d, "ca.key"), "-CAcreateserial",
                        "-out", pem, "-days", "10", "-extfile", ext],
                       check=True, capture_output=True)
        self.p12_export(key, pem, p12)
        return p12, pem

    @staticmethod
    def p12_export(key, pem, p12):
        # gpgsm reads the older PKCS#12 ciphers only; an empty password
        # leaves the key unprotected in gpg-agent.
        subprocess.run(["openssl", "pkcs12", "-export", "-inkey", key,
                        "-in", pem, "-out", p12, "-passout", "pass:",
                        "-keypbe", "PBE-SHA1-3DES", "-certpbe",
                        "PBE-SHA1-3DES", "-macalg", "sha1"],
                       check=True, capture_output=True)

    def smime_trust(self, home):
        """Import the CA into home's gpgsm and trust it."""
        self.gpgsm(home, "--import", os.path.join(self.ca, "ca.pem"))
        out = self.gpgsm(home, "--with-colons", "--list-keys",
                         "tern test CA").decode()
        fpr = [line.split(":")[9] for line in out.splitlines()
               if line.startswith("fpr:")][0]
        with open(os.path.join(home, "trustlist.txt"), "w") as f:
            f.write("%s S relax\n" % fpr)

    def smime_import(self, home, path, secret=False):
        if not secret:
            self.gpgsm(home, "--import", path)
            return
        # gpgsm fails to decrypt about one empty-password PKCS#12 file in
        # forty ("decryption failed", whatever the salt gives): the same
        # key and certificate exported again, with a new salt, go in.
        for attempt in range(5):
            r = self.run("gpgsm", home, "--pinentry-mode", "loopback",
                         "--passphrase-fd", "0", "--import", path,
                         input=b"\n", check=False)
            if r.returncode == 0 or b"decryption failed" not in r.stderr:
                break
            base = path[:-len(".p12")]
            self.p12_export(base + ".key", base + ".pem", path)
        if r.returncode != 0:
            raise AssertionError("gpgsm --import %s: %s" % (
                path, r.stderr.decode()))


# -- messages ----------------------------------------------------------

def header(frm, to, subject, msgid, extra=b"",
           date="Mon, 3 Mar 2025 12:00:00 +0000"):
    return (b"From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
            b"Message-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\n%s"
            % (frm.encode(), to.encode(), subject.encode(), date.encode(),
               msgid.encode(), extra))


def text_entity(text):
    return (b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            + crlf(text.encode()))


def pgp_signed(keys, home, signer, entity, hdr, boundary=b"sig"):
    """multipart/signed: entity (CRLF, ending in CRLF) signed by gpg."""
    sig = keys.gpg(home, "--armor", "--detach-sign", "--local-user",
                   signer, "--digest-algo", "SHA256", input=entity)
    return (hdr + b"Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
            b" protocol=\"application/pgp-signature\"; boundary=\"%s\"\r\n"
            b"\r\nThis is an OpenPGP/MIME signed message.\r\n"
            b"--%s\r\n%s\r\n--%s\r\n"
            b"Content-Type: application/pgp-signature; name=signature.asc\r\n"
            b"\r\n%s\r\n--%s--\r\n"
            % (boundary, boundary, entity, boundary, crlf(sig), boundary))


def pgp_encrypted_entity(keys, home, recipients, entity, sign=None):
    args = ["--armor", "--encrypt", "--trust-model", "always"]
    for r in recipients:
        args += ["--recipient", r]
    if sign:
        args += ["--sign", "--local-user", sign]
    ct = keys.gpg(home, *args, input=entity)
    return (b"Content-Type: multipart/encrypted;\r\n"
            b" protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n"
            b"\r\n--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
            b"Version: 1\r\n\r\n--enc\r\n"
            b"Content-Type: application/octet-stream; name=encrypted.asc\r\n"
            b"\r\n%s\r\n--enc--\r\n" % crlf(ct))


def smime_signed(keys, home, signer, entity, hdr):
    sig = keys.gpgsm(home, "--detach-sign", "--local-user", signer,
                     input=entity)
    b64 = crlf(base64.encodebytes(sig))
    return (hdr + b"Content-Type: multipart/signed; micalg=sha-256;\r\n"
            b" protocol=\"application/pkcs7-signature\"; boundary=\"ss\"\r\n"
            b"\r\n--ss\r\n%s\r\n--ss\r\n"
            b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--ss--\r\n"
            % (entity, b64))


def smime_enveloped(keys, home, recipient, entity, hdr):
    ct = keys.gpgsm(home, "--encrypt", "--recipient", recipient,
                    input=entity)
    return (hdr + b"Content-Type: application/pkcs7-mime; "
            b"smime-type=enveloped-data; name=smime.p7m\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + crlf(base64.encodebytes(ct)))


def signed_part(raw):
    """The exact bytes of the first part of a multipart/signed message
    (between the first two delimiters, without the CRLF before the
    second), and the signature part's body."""
    import email
    import email.policy
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    b = msg.get_param("boundary").encode()
    delim = b"\r\n--" + b
    start = raw.index(b"--" + b + b"\r\n") + len(b) + 4
    end = raw.index(delim, start)
    sig_start = raw.index(b"\r\n\r\n", end + len(delim)) + 4
    sig_end = raw.index(delim, sig_start)
    return raw[start:end], raw[sig_start:sig_end]
