"""Signed and encrypted mail through GPGME, against real gnupg in
temporary GNUPGHOMEs with keys made for the test.

Reading: messages signed and encrypted by gpg and gpgsm themselves,
assembled into MIME here and delivered through Dovecot, shown by tern cat
with their status lines (good, BAD, unknown key, expired key, decrypted,
signed and encrypted, inline, S/MIME); the decrypted text is nowhere in
the store afterwards.

Writing: what tern sends through aiosmtpd is checked by gpg and gpgsm,
not by tern: the signed part verifies over the bytes the server got, the
encrypted body decrypts with each recipient's key and the Sent copy with
the sender's; a recipient without a key stops the message; Bcc
recipients are hidden.
"""

import email
import email.policy
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpglib  # noqa: E402
import ternlib  # noqa: E402
from gpglib import crlf, header, text_entity  # noqa: E402
from smtpd import Smtpd  # noqa: E402

SECRET = "Quokka-7781 is the secret word"

EDITOR = r'''
import os, sys
path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    text = f.read()
head, _, body = text.partition("\n\n")
lines = head.split("\n")
for spec in os.environ.get("EDIT_SET", "").split("\x1e"):
    if not spec:
        continue
    name, value = spec.split(":", 1)
    lines = [l for l in lines if not l.startswith(name + ":")]
    lines.append(name + ":" + value)
body = os.environ.get("EDIT_BODY", "") + body
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n\n" + body)
'''


class Fixture:
    """The keys of every test: alice uses tern; bob and dave write to
    her (dave's key is unknown to her); eve's key has expired; carol
    and alice have S/MIME certificates of a test CA."""

    def __init__(self):
        k = self.keys = gpglib.Keys()
        self.world = k.home("w")  # every signer's secret key
        self.alice = k.home("a")  # tern's GNUPGHOME
        self.bobhome = k.home("b")  # bob's alone
        self.alice_fpr = k.gen(self.world, "Alice <alice@example.org>")
        self.bob_fpr = k.gen(self.world, "Bob <bob@example.org>")
        self.dave_fpr = k.gen(self.world, "Dave <dave@example.org>")
        self.eve_fpr = k.gen(self.world, "Eve <eve@example.org>",
                             expire="1d", faked="20200101T000000")
        self.frank_fpr = k.gen(self.world, "Frank <frank@example.org>")
        k.copy(self.world, self.alice, self.alice_fpr, secret=True)
        k.copy(self.world, self.bobhome, self.bob_fpr, secret=True)
        for f in (self.bob_fpr, self.eve_fpr, self.frank_fpr):
            k.copy(self.world, self.alice, f)
        # frank's key is revoked (alice got the revocation).
        with open(os.path.join(self.world, "openpgp-revocs.d",
                               self.frank_fpr + ".rev"), "rb") as f:
            rev = f.read().replace(b":-----BEGIN", b"-----BEGIN")
        k.gpg(self.alice, "--import", input=rev)
        # alice has met bob: his key is valid for her.
        k.certify(self.alice, self.alice_fpr, self.bob_fpr)
        k.copy(self.alice, self.bobhome, self.alice_fpr)
        # S/MIME
        k.smime_ca()
        carol_p12, _ = k.smime_cert("carol", "carol@example.org")
        alice_p12, alice_pem = k.smime_cert("alice", "alice@example.org")
        for h in (self.world, self.alice):
            k.smime_trust(h)
        k.smime_import(self.world, carol_p12, secret=True)
        k.smime_import(self.world, alice_pem)
        k.smime_import(self.alice, alice_p12, secret=True)

    def cleanup(self):
        self.keys.cleanup()


class ReadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.dovecot = ternlib.Dovecot().start()
        cls.tern = ternlib.Tern()
        cls.tern.write_rc(cls.tern.account(cls.dovecot))
        cls.env = {"GNUPGHOME": cls.fx.alice}
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.tern.cleanup()
        cls.dovecot.cleanup()
        cls.fx.cleanup()

    def deliver(self, raw):
        """Deliver raw, sync the index, and return its UID."""
        type(self).n += 1
        self.dovecot.deliver(raw)
        self.tern.out("sync", "acct", env=self.env)
        out = self.tern.out("ls", "acct/INBOX", env=self.env)
        return out.strip().splitlines()[-1].split("\t")[0]

    def cat(self, uid, env=None):
        r = self.tern.run("cat", "acct/INBOX", uid,
                          env=dict(self.env, **(env or {})))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode()

    def bob_signed(self, text, signer=None, frm="Bob <bob@example.org>",
                   subject="signed"):
        fx = self.fx
        return gpglib.pgp_signed(
            fx.keys, fx.world, signer or fx.bob_fpr, text_entity(text),
            header(frm, "alice@example.org", subject, "s%d" % self.n))

    def test_good_signature(self):
        uid = self.deliver(self.bob_signed("Hello Alice,\nall is well.\n"))
        out = self.cat(uid)
        self.assertRegex(out, r"(?i)\[-- good signature from Bob "
                         r"<bob@example\.org> \(fingerprint %s\)"
                         % self.fx.bob_fpr)
        self.assertIn("key trusted", out)
        self.assertIn("address matches From", out)
        self.assertIn("all is well.", out)
        self.assertIn("[-- End of signed part --]", out)
        # Signed by bob, but From says dave: said plainly.
        uid = self.deliver(self.bob_signed("Not from dave.\n",
                                           frm="dave@example.org"))
        out = self.cat(uid)
        self.assertIn("does NOT match From dave@example.org", out)

    def test_tampered(self):
        raw = self.bob_signed("Pay 100 euros to Bob.\n")
        raw = raw.replace(b"Pay 100", b"Pay 900", 1)
        out = self.cat(self.deliver(raw))
        self.assertRegex(out, r"\[-- BAD signature")
        self.assertNotRegex(out, r"(?i)good signature")
        self.assertIn("Pay 900", out)

    def test_unknown_key(self):
        uid = self.deliver(self.bob_signed("From dave.\n",
                                           signer=self.fx.dave_fpr,
                                           frm="dave@example.org"))
        out = self.cat(uid)
        self.assertRegex(out, r"(?i)unknown key")
        self.assertIn(self.fx.dave_fpr, out)
        self.assertNotRegex(out, r"(?i)good signature")

    def test_expired_key(self):
        fx = self.fx
        sig = fx.keys.gpg(fx.world, "--faked-system-time",
                          "20200101T010000", "--armor", "--detach-sign",
                          "--local-user", fx.eve_fpr,
                          input=text_entity("Old news.\n"))
        raw = (header("Eve <eve@example.org>", "alice@example.org", "old",
                      "eve") +
               b"Content-Type: multipart/signed; micalg=pgp-sha256; "
               b"protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n"
               b"--b\r\n" + text_entity("Old news.\n") + b"\r\n--b\r\n"
               b"Content-Type: application/pgp-signature\r\n\r\n"
               + crlf(sig) + b"\r\n--b--\r\n")
        out = self.cat(self.deliver(raw))
        self.assertRegex(out, r"(?i)key has EXPIRED")
        self.assertIn("Old news.", out)

    def test_revoked_key(self):
        uid = self.deliver(self.bob_signed("Before the revocation.\n",
                                           signer=self.fx.frank_fpr,
                                           frm="frank@example.org"))
        out = self.cat(uid)
        self.assertRegex(out, r"key is REVOKED")
        self.assertIn("Before the revocation.", out)

    def encrypted(self, inner, sign=None, recipients=None, subject="enc"):
        fx = self.fx
        return header("Bob <bob@example.org>", "alice@example.org", subject,
                      "e%d" % self.n) + gpglib.pgp_encrypted_entity(
            fx.keys, fx.world, recipients or [fx.alice_fpr], inner,
            sign=sign)

    def test_encrypted(self):
        inner = (b"Content-Type: multipart/mixed; boundary=in\r\n\r\n"
                 b"--in\r\nContent-Type: text/plain\r\n\r\n"
                 + SECRET.encode() + b"\r\n--in\r\n"
                 b"Content-Type: application/pdf\r\n"
                 b"Content-Disposition: attachment; filename=plan.pdf\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\n"
                 b"JVBERi0xLjQK\r\n--in--\r\n")
        uid = self.deliver(self.encrypted(inner, subject="secretplans"))
        out = self.cat(uid)
        self.assertRegex(out, r"\[-- Decrypted \(OpenPGP\) --\]")
        self.assertIn(SECRET, out)
        self.assertIn("[-- Attachment e1.2: plan.pdf (application/pdf",
                      out)
        self.assertIn("[-- End of encrypted part --]", out)
        self.assertNotRegex(out, r"(?i)signature")
        # Its attachment is saved (decrypted again, from memory).
        d = tempfile.mkdtemp(dir=self.tern.dir)
        r = subprocess.run([ternlib.TERN, "cat", "--save", "e1.2",
                            "acct/INBOX", uid], cwd=d,
                           env=self.tern.env(self.env),
                           capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(d, "plan.pdf"), "rb") as f:
            self.assertEqual(f.read(), b"%PDF-1.4\n")
        os.unlink(os.path.join(d, "plan.pdf"))
        r = subprocess.run([ternlib.TERN, "cat", "--save", "e1.7",
                            "acct/INBOX", uid], cwd=d,
                           env=self.tern.env(self.env),
                           capture_output=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        # The decrypted text is nowhere in the store: only the
        # encrypted bytes were kept, and search does not see inside.
        self.assert_not_stored(SECRET)
        out = self.tern.out("search", "acct/INBOX", "Quokka",
                            env=self.env)
        self.assertEqual(out, "")
        out = self.tern.out("search", "acct/INBOX", "~b Quokka",
                            env=self.env)
        self.assertEqual(out, "")
        # (The search itself works: the header is not encrypted.)
        out = self.tern.out("search", "acct/INBOX", "~s secretplans",
                            env=self.env)
        self.assertEqual(len(out.splitlines()), 1, out)

    def assert_not_stored(self, secret):
        needle = secret.encode()
        found = []
        for d, _, files in os.walk(self.tern.dir):
            for n in files:
                with open(os.path.join(d, n), "rb") as f:
                    if needle in f.read():
                        found.append(os.path.join(d, n))
        self.assertEqual(found, [])
        db = sqlite3.connect(os.path.join(self.tern.data, "tern",
                                          "tern.db"))
        n = db.execute("SELECT count(*) FROM message WHERE "
                       "instr(subject, ?) > 0", (secret,)).fetchone()[0]
        db.close()
        self.assertEqual(n, 0)

    def test_signed_and_encrypted(self):
        fx = self.fx
        # RFC 3156 6.1: a multipart/signed inside the encryption...
        signed = gpglib.pgp_signed(fx.keys, fx.world, fx.bob_fpr,
                                   text_entity("Signed then sealed.\n"),
                                   b"")
        out = self.cat(self.deliver(self.encrypted(signed)))
        self.assertIn("[-- Decrypted (OpenPGP) --]", out)
        self.assertRegex(out, r"(?i)good signature from Bob")
        self.assertIn("Signed then sealed.", out)
        # ... and 6.2: one OpenPGP message both signed and encrypted.
        out = self.cat(self.deliver(self.encrypted(
            text_entity("Sealed in one go.\n"), sign=fx.bob_fpr)))
        self.assertIn("[-- Decrypted (OpenPGP) --]", out)
        self.assertRegex(out, r"(?i)good signature from Bob "
                         r"<bob@example\.org>")
        self.assertIn("Sealed in one go.", out)

    def test_cannot_decrypt(self):
        fx = self.fx
        raw = (header("Bob <bob@example.org>", "alice@example.org",
                      "not for you", "nfy") +
               b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
               b"--m\r\nContent-Type: text/plain\r\n\r\n"
               b"The clear part is still shown.\r\n--m\r\n"
               + gpglib.pgp_encrypted_entity(fx.keys, fx.world,
                                             [fx.dave_fpr],
                                             text_entity("For dave.\n"))
               + b"\r\n--m--\r\n")
        out = self.cat(self.deliver(raw))
        self.assertIn("The clear part is still shown.", out)
        self.assertRegex(out, r"\[-- Cannot decrypt: no secret key")
        self.assertNotIn("For dave.", out)

    def test_inline(self):
        fx = self.fx
        clear = fx.keys.gpg(fx.world, "--clearsign", "--local-user",
                            fx.bob_fpr, input=b"Inline and signed.\n")
        enc = fx.keys.gpg(fx.world, "--armor", "--encrypt",
                          "--trust-model", "always", "--recipient",
                          fx.alice_fpr, input=b"Inline and sealed.\n")
        raw = (header("Bob <bob@example.org>", "alice@example.org",
                      "inline", "inl") +
               b"Content-Type: text/plain\r\n\r\nBefore.\r\n" + crlf(clear)
               + b"Between.\r\n" + crlf(enc) + b"After.\r\n")
        out = self.cat(self.deliver(raw))
        self.assertRegex(out, r"(?i)good signature from Bob")
        self.assertIn("Inline and signed.", out)
        self.assertIn("[-- Decrypted (OpenPGP) --]", out)
        self.assertIn("Inline and sealed.", out)
        self.assertNotIn("BEGIN PGP", out)
        for w in ("Before.", "Between.", "After."):
            self.assertIn(w, out)
        # A changed inline text fails.
        raw = raw.replace(b"Inline and signed.", b"Inline and signet.")
        out = self.cat(self.deliver(raw))
        self.assertRegex(out, r"\[-- BAD signature")

    def test_smime(self):
        fx = self.fx
        raw = gpglib.smime_signed(
            fx.keys, fx.world, "carol@example.org",
            text_entity("Signed by S/MIME.\n"),
            header("Carol <carol@example.org>", "alice@example.org",
                   "smime signed", "sms"))
        out = self.cat(self.deliver(raw))
        self.assertRegex(out, r"(?i)good signature from .*carol")
        self.assertIn("address matches From", out)
        self.assertIn("Signed by S/MIME.", out)
        bad = raw.replace(b"Signed by S/MIME.", b"Signed by S/MINE.")
        out = self.cat(self.deliver(bad))
        self.assertRegex(out, r"\[-- BAD signature")
        raw = gpglib.smime_enveloped(
            fx.keys, fx.world, "alice@example.org",
            text_entity("Enveloped for Alice.\n"),
            header("Carol <carol@example.org>", "alice@example.org",
                   "smime enveloped", "sme"))
        out = self.cat(self.deliver(raw))
        self.assertIn("[-- Decrypted (S/MIME) --]", out)
        self.assertIn("Enveloped for Alice.", out)

    def test_offline(self):
        """Verification needs only the stored message."""
        uid = self.deliver(self.bob_signed("Read it on a train.\n"))
        self.assertRegex(self.cat(uid), r"(?i)good signature")
        rc = self.tern.rc + ".offline"
        with open(self.tern.rc) as f:
            text = f.read()
        with open(rc, "w") as f:
            f.write(re.sub(r"port \d+", "port 1", text))
        os.chmod(rc, 0o600)
        r = self.tern.run("-F", rc, "cat", "acct/INBOX", uid, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"(?i)good signature from Bob")

    def test_big_signed_fetched_whole(self):
        """A big IMAP message is opened as a view (its text only), but
        a signed one is fetched whole: the signature needs every byte."""
        import base64
        big = crlf(base64.encodebytes(os.urandom(200 * 1024)))
        entity = (b"Content-Type: multipart/mixed; boundary=mx\r\n\r\n"
                  b"--mx\r\nContent-Type: text/plain\r\n\r\n"
                  b"See the big file.\r\n--mx\r\n"
                  b"Content-Type: application/octet-stream\r\n"
                  b"Content-Disposition: attachment; filename=big.bin\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\n"
                  + big + b"--mx--\r\n")
        fx = self.fx
        raw = gpglib.pgp_signed(fx.keys, fx.world, fx.bob_fpr, entity,
                                header("Bob <bob@example.org>",
                                       "alice@example.org", "big", "big"))
        out = self.cat(self.deliver(raw))
        self.assertRegex(out, r"(?i)good signature from Bob")
        self.assertIn("See the big file.", out)
        self.assertNotIn("not downloaded", out)

    def test_no_gnupg(self):
        """Without a usable GnuPG the message is still shown."""
        uid = self.deliver(self.bob_signed("Still readable.\n"))
        out = self.cat(uid, env={"GNUPGHOME": "/nonexistent/gnupg"})
        self.assertIn("Still readable.", out)
        self.assertRegex(out, r"\[-- Signature (not verified|by unknown)")


class SendTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.dovecot = ternlib.Dovecot().start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-crypto-")
        cls.editor = os.path.join(cls.tmp, "edit.py")
        with open(cls.editor, "w") as f:
            f.write(EDITOR)

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()
        cls.fx.cleanup()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.tern = ternlib.Tern()
        self.smtp = Smtpd(user="alice", password="secret", tls="starttls",
                          cert=self.dovecot.cafile,
                          key=os.path.join(self.dovecot.dir, "key.pem"))
        self.smtp.start()
        self.env = {"GNUPGHOME": self.fx.alice}

    def tearDown(self):
        self.smtp.cleanup()
        self.tern.cleanup()

    def configure(self, extra=""):
        self.tern.write_rc(self.tern.account(
            self.dovecot, extra=(
                f"    smtp smtp://127.0.0.1:{self.smtp.port}\n"
                f"    from \"Alice <alice@example.org>\"\n" + extra)))

    def send(self, raw, *args):
        return self.tern.run("send", *args, input=raw, env=self.env)

    def gpg(self, home, *args, input=None):
        return self.fx.keys.run("gpg", home, *args, input=input,
                                check=False)

    def message(self, to="bob@example.org", extra=b"",
                body=b"Hello Bob, caf\xc3\xa9 \r\nFrom the start.  \r\n"):
        return (b"From: Alice <alice@example.org>\r\nTo: %s\r\n"
                b"Subject: crypto\r\n%s"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n%s"
                % (to.encode(), extra, body))

    def test_signed_verifies_with_gpg(self):
        self.configure()
        r = self.send(self.message(), "--sign")
        self.assertEqual(r.returncode, 0, r.stderr)
        (env, raw), = self.smtp.messages()
        self.assertRegex(raw, rb"micalg=pgp-sha\d+")
        self.assertIn(b"protocol=\"application/pgp-signature\"", raw)
        part, sig = gpglib.signed_part(raw)
        # RFC 3156 section 5: 7bit only, no trailing white space, "From "
        # escaped.
        self.assertTrue(all(c < 0x80 for c in part))
        self.assertNotRegex(part, rb"[ \t]\r\n")
        self.assertNotRegex(part, rb"(^|\n)From ")
        with tempfile.NamedTemporaryFile(dir=self.tmp) as d, \
                tempfile.NamedTemporaryFile(dir=self.tmp) as s:
            d.write(part)
            d.flush()
            s.write(sig)
            s.flush()
            v = self.gpg(self.fx.bobhome, "--verify", s.name, d.name)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn(b"Good signature from \"Alice", v.stderr)
        m = email.message_from_bytes(part, policy=email.policy.default)
        self.assertEqual(m.get_content().replace("\r\n", "\n"),
                         "Hello Bob, café \nFrom the start.  \n")

    def decrypt(self, home, raw):
        m = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.assertEqual(m.get_content_type(), "multipart/encrypted")
        ct = m.get_payload()[1].get_payload(decode=True)
        return self.gpg(home, "--decrypt", input=ct)

    def test_encrypted_to_each(self):
        self.configure()
        r = self.send(self.message(to="Bob <bob@example.org>"),
                      "--encrypt")
        self.assertEqual(r.returncode, 0, r.stderr)
        (env, raw), = self.smtp.messages()
        self.assertNotIn(b"Hello Bob", raw)
        self.assertNotIn(b"Sign:", raw)
        self.assertNotIn(b"Encrypt:", raw)
        d = self.decrypt(self.fx.bobhome, raw)
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertIn(b"Hello Bob", d.stdout)
        self.assertIn(b"Content-Type: text/plain", d.stdout)
        # The Sent copy is readable by the sender.
        self.tern.out("sync", "acct", env=self.env)
        c = self.dovecot.imap()
        _, n = c.select("Sent")
        _, data = c.fetch(n[0], "(RFC822)")
        sent = data[0][1]
        c.logout()
        self.assertNotIn(b"Hello Bob", sent)
        d = self.decrypt(self.fx.alice, sent)
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertIn(b"Hello Bob", d.stdout)
        # And nothing in the store holds the clear text.
        for dd, _, files in os.walk(self.tern.dir):
            for n in files:
                with open(os.path.join(dd, n), "rb") as f:
                    self.assertNotIn(b"Hello Bob", f.read(), n)

    def test_sign_and_encrypt(self):
        self.configure("    pgp_sign yes\n    pgp_encrypt yes\n")
        r = self.send(self.message())
        self.assertEqual(r.returncode, 0, r.stderr)
        (env, raw), = self.smtp.messages()
        d = self.decrypt(self.fx.bobhome, raw)
        self.assertEqual(d.returncode, 0, d.stderr)
        inner = d.stdout
        self.assertIn(b"multipart/signed", inner)
        part, sig = gpglib.signed_part(inner)
        with tempfile.NamedTemporaryFile(dir=self.tmp) as df, \
                tempfile.NamedTemporaryFile(dir=self.tmp) as sf:
            df.write(part)
            df.flush()
            sf.write(sig)
            sf.flush()
            v = self.gpg(self.fx.bobhome, "--verify", sf.name, df.name)
        self.assertEqual(v.returncode, 0, v.stderr)
        # --no-sign --no-encrypt override the account.
        r = self.send(self.message(), "--no-sign", "--no-encrypt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Hello Bob", self.smtp.messages()[1][1])

    def test_missing_key_keeps_draft(self):
        self.configure()
        cmd = "%s %s" % (sys.executable, self.editor)
        env = dict(self.env, EDITOR=cmd, VISUAL=cmd,
                   EDIT_SET="Encrypt: yes\x1eCc: carol@example.org, "
                   "zed@example.org", EDIT_BODY="Only for keys.\n",
                   TMPDIR=self.tmp)
        r = self.tern.run("compose", "bob@example.org", env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr.decode()
        self.assertIn("carol@example.org", err)
        self.assertIn("zed@example.org", err)
        self.assertNotIn("bob@example.org", err.split("key for")[1])
        m = re.search(r"the draft is kept in (\S+)", err)
        self.assertIsNotNone(m, err)
        with open(m.group(1)) as f:
            self.assertIn("Only for keys.", f.read())
        self.assertEqual(self.smtp.messages(), [])
        self.assertEqual(self.tern.out("send", "--list", env=self.env), "")
        # tern send likewise: exit 1, nothing sent.
        r = self.send(self.message(to="carol@example.org"), "--encrypt")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"carol@example.org", r.stderr)
        self.assertEqual(self.smtp.messages(), [])

    def test_auto(self):
        self.configure("    pgp_encrypt auto\n")
        r = self.send(self.message(to="carol@example.org"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Hello Bob", self.smtp.messages()[0][1])
        r = self.send(self.message())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"Hello Bob", self.smtp.messages()[1][1])

    def test_bcc_hidden(self):
        self.configure()
        raw = self.message(to="alice@example.org",
                           extra=b"Bcc: bob@example.org\r\n")
        r = self.send(raw, "--encrypt")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = self.smtp.messages()
        self.assertEqual(len(msgs), 1)
        env, raw = msgs[0]
        self.assertNotIn(b"Bcc", raw)
        m = email.message_from_bytes(raw, policy=email.policy.compat32)
        ct = m.get_payload()[1].get_payload(decode=True)
        p = self.gpg(self.fx.bobhome, "--list-packets",
                     "--pinentry-mode", "loopback", "--passphrase", "",
                     input=ct)
        ids = re.findall(rb"keyid ([0-9A-F]{16})", p.stdout)
        self.assertTrue(ids, p.stdout)
        self.assertEqual(set(ids), {b"0000000000000000"})
        self.assertNotIn(self.fx.bob_fpr[-16:].encode(), p.stdout)
        d = self.decrypt(self.fx.bobhome, raw)
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertIn(b"Hello Bob", d.stdout)

    def test_smime_send(self):
        self.configure("    smime yes\n    pgp_sign yes\n")
        r = self.send(self.message(to="alice@example.org"))
        self.assertEqual(r.returncode, 0, r.stderr)
        (env, raw), = self.smtp.messages()
        self.assertIn(b"application/pkcs7-signature", raw)
        part, sig = gpglib.signed_part(raw)
        import base64
        with tempfile.NamedTemporaryFile(dir=self.tmp) as df, \
                tempfile.NamedTemporaryFile(dir=self.tmp) as sf:
            df.write(part)
            df.flush()
            sf.write(base64.b64decode(sig))
            sf.flush()
            v = self.fx.keys.run("gpgsm", self.fx.world, "--verify",
                                 sf.name, df.name, check=False)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn(b"Good signature", v.stderr)

    def test_smime_encrypt(self):
        self.configure("    smime yes\n    pgp_sign yes\n"
                       "    pgp_encrypt yes\n")
        r = self.send(self.message(to="alice@example.org"))
        self.assertEqual(r.returncode, 0, r.stderr)
        (env, raw), = self.smtp.messages()
        self.assertNotIn(b"Hello Bob", raw)
        m = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.assertEqual(m.get_content_type(), "application/pkcs7-mime")
        self.assertEqual(m.get_param("smime-type"), "enveloped-data")
        d = self.fx.keys.run("gpgsm", self.fx.alice, "--decrypt",
                             input=m.get_payload(decode=True), check=False)
        self.assertEqual(d.returncode, 0, d.stderr)
        # Signed, then encrypted: the inner entity is multipart/signed.
        self.assertIn(b"application/pkcs7-signature", d.stdout)
        self.assertIn(b"Hello Bob", d.stdout)
        # S/MIME names every recipient in the body: a Bcc would be
        # exposed, so it is refused.
        r = self.send(self.message(to="alice@example.org",
                                   extra=b"Bcc: alice@example.org\r\n"),
                      "--encrypt")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"cannot hide a Bcc", r.stderr)
        self.assertEqual(len(self.smtp.messages()), 1)
        # A recipient whose certificate is not here stops it.
        r = self.send(self.message(to="carol@example.org"), "--encrypt")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"no usable S/MIME key for carol@example.org",
                      r.stderr)


PINENTRY = r'''#!%s
# A pinentry for the test: it speaks enough Assuan to give a passphrase,
# and writes to the terminal it is told of (as a real pinentry-curses
# would take it), so the test sees that the client stepped aside.
import sys, time
marker = sys.argv[1] if len(sys.argv) > 1 else None
out = sys.stdout
tty = None
def say(s):
    out.write(s + "\n")
    out.flush()
say("OK Pleased to meet you")
for line in sys.stdin:
    cmd = line.strip()
    if cmd.startswith("OPTION ttyname="):
        tty = cmd.split("=", 1)[1]
    if cmd.startswith("GETPIN"):
        with open(MARK, "a") as f:
            f.write("asked on %%s\n" %% tty)
        if tty:
            with open(tty, "w") as t:
                t.write("\r\nPINENTRY HAS THE TERMINAL\r\n")
            time.sleep(1.5)
        say("D %s")
        say("OK")
    elif cmd.startswith("BYE"):
        say("OK closing connection")
        break
    else:
        say("OK")
'''


class UiTest(unittest.TestCase):
    """The client in tmux: status lines in the pager, pinentry taking the
    terminal and the screen coming back, and the send screen's toggle."""

    def setUp(self):
        from test_ui import Screen
        self.Screen = Screen
        self.keys = k = gpglib.Keys()
        self.addCleanup(k.cleanup)
        self.mark = os.path.join(k.root, "asked")
        pin = os.path.join(k.root, "pinentry")
        with open(pin, "w") as f:
            f.write(PINENTRY.replace("MARK", repr(self.mark))
                    % (sys.executable, "pw"))
        os.chmod(pin, 0o755)
        self.world = k.home("w")
        self.home = k.home("u", pinentry=pin)
        self.alice = k.gen(self.home, "Alice <alice@example.org>",
                           passphrase="pw")
        self.bob = k.gen(self.world, "Bob <bob@example.org>")
        k.copy(self.home, self.world, self.alice)
        k.copy(self.world, self.home, self.bob)
        k.gpg(self.home, "--pinentry-mode", "loopback", "--passphrase",
              "pw", "--yes", "--default-key", self.alice,
              "--quick-sign-key", self.bob)
        # The signing above cached the passphrase: forget it, so the
        # client has to ask.
        subprocess.run(["gpgconf", "--kill", "gpg-agent"],
                       env=dict(os.environ, GNUPGHOME=self.home))
        self.dovecot = ternlib.Dovecot().start()
        self.addCleanup(self.dovecot.cleanup)
        self.smtp = Smtpd(user="alice", password="secret", tls="starttls",
                          cert=self.dovecot.cafile,
                          key=os.path.join(self.dovecot.dir, "key.pem"))
        self.smtp.start()
        self.addCleanup(self.smtp.cleanup)
        self.t = ternlib.Tern()
        self.addCleanup(self.t.cleanup)
        self.t.write_rc(self.t.account(self.dovecot, extra=(
            f"    smtp smtp://127.0.0.1:{self.smtp.port}\n"
            f"    from \"Alice <alice@example.org>\"\n")))

    def test_pager_and_send_screen(self):
        k = self.keys
        inner = (b"Content-Type: multipart/mixed; boundary=in\r\n\r\n"
                 b"--in\r\n" + text_entity(SECRET + "\n") +
                 b"\r\n--in\r\nContent-Type: text/csv\r\n"
                 b"Content-Disposition: attachment; filename=sums.csv\r\n"
                 b"\r\na,b\r\n--in--\r\n")
        self.dovecot.deliver(header(
            "Bob <bob@example.org>", "alice@example.org", "Sealed", "u1")
            + gpglib.pgp_encrypted_entity(
                k, self.world, [self.alice], inner, sign=self.bob))
        self.dovecot.deliver(gpglib.pgp_signed(
            k, self.world, self.bob, text_entity("Signed for the screen.\n"),
            header("Bob <bob@example.org>", "alice@example.org",
                   "Signed", "u2", date="Tue, 4 Mar 2025 12:00:00 +0000")))
        draft = os.path.join(self.t.dir, "draft.txt")
        with open(draft, "w") as f:
            f.write("From: Alice <alice@example.org>\n"
                    "To: bob@example.org\nSubject: Toggled\n\n"
                    "Sent from the screen.\n")
        editor = os.path.join(self.t.dir, "editor")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\ncat '%s' > \"$1\"\n" % draft)
        os.chmod(editor, 0o755)
        s = self.Screen(self.t, env={"GNUPGHOME": self.home,
                                     "EDITOR": editor, "VISUAL": editor})
        self.addCleanup(s.kill)
        s.wait("Signed", timeout=20)
        s.keys("Enter")
        t = s.wait("Good signature from Bob")
        self.assertIn("key trusted", t)
        self.assertIn("Signed for the screen.", t)
        s.keys("q")
        s.wait("Sealed")
        s.keys("k")
        s.keys("Enter")
        # pinentry has the terminal: the client has stepped aside...
        t = s.wait("PINENTRY HAS THE TERMINAL", timeout=20)
        self.assertNotIn("Sealed", t)
        # ... and comes back, redrawn, with the decrypted text.
        t = s.wait("Decrypted (OpenPGP)", timeout=20)
        self.assertNotIn("PINENTRY HAS THE TERMINAL", t)
        self.assertIn(SECRET, t)
        self.assertIn("Good signature from Bob", t)
        with open(self.mark) as f:
            self.assertIn("asked on /dev/pts/", f.read())
        self.assertIn("Attachment e1.2: sums.csv", t)
        # Its attachment is saved, never opened into a temporary file.
        s.keys("o")
        s.wait("e1.1 ...):")
        s.literal("e1.2")
        s.keys("Enter")
        s.wait("is not opened")
        s.keys("S")
        s.wait("e1.1 ...):")
        s.literal("e1.2")
        s.keys("Enter")
        s.wait("Save into directory:")
        s.keys("C-u")
        s.literal(self.keys.root)
        s.keys("Enter")
        s.wait("Saved to")
        with open(os.path.join(self.keys.root, "sums.csv"), "rb") as f:
            self.assertEqual(f.read(), b"a,b")
        s.keys("q")
        # Neither the store nor the client's log holds the text read.
        s.wait("Sealed")
        for d, _, files in os.walk(self.t.dir):
            for n in files:
                with open(os.path.join(d, n), "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read(), n)
        self.assertIn("ui.log", os.listdir(self.t.dir))
        # The send screen: p goes none, sign, encrypt, both.
        s.keys("m")
        t = s.wait("y:Send")
        self.assertIn("Security: none", t)
        s.keys("p")
        s.wait("Security: sign (OpenPGP)")
        s.keys("p")
        s.wait("Security: encrypt (OpenPGP)")
        s.keys("p")
        s.wait("Security: sign, encrypt (OpenPGP)")
        s.keys("y")
        end = __import__("time").time() + 20
        while not self.smtp.messages() and __import__("time").time() < end:
            __import__("time").sleep(0.1)
        msgs = self.smtp.messages()
        self.assertEqual(len(msgs), 1, s.text())
        raw = msgs[0][1]
        self.assertIn(b"multipart/encrypted", raw)
        self.assertNotIn(b"Sent from the screen.", raw)
        self.assertNotIn(b"Sign:", raw)
        s.keys("q")

    def sealed(self):
        """Deliver a message encrypted to alice's protected key; sync."""
        self.dovecot.deliver(header(
            "Bob <bob@example.org>", "alice@example.org", "Sealed", "c1")
            + gpglib.pgp_encrypted_entity(
                self.keys, self.world, [self.alice],
                text_entity(SECRET + "\n")))
        self.t.out("sync", "acct", env={"GNUPGHOME": self.home})

    def test_cat_cached_passphrase(self):
        """tern cat with the passphrase in gpg-agent's cache: no
        pinentry is asked."""
        self.sealed()
        self.keys.gpg(self.home, "--pinentry-mode", "loopback",
                      "--passphrase", "pw", "--clearsign",
                      "--local-user", self.alice, input=b"prime\n")
        r = self.t.run("cat", "acct/INBOX", "1",
                       env={"GNUPGHOME": self.home})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("[-- Decrypted (OpenPGP) --]", out)
        self.assertIn(SECRET, out)
        self.assertFalse(os.path.exists(self.mark))

    def test_cat_loopback_passphrase(self):
        """With pinentry-mode loopback, tern cat asks on the terminal."""
        self.sealed()
        with open(os.path.join(self.home, "gpg.conf"), "a") as f:
            f.write("pinentry-mode loopback\n")
        s = self.Screen(self.t, args=("cat", "acct/INBOX", "1"),
                        env={"GNUPGHOME": self.home})
        self.addCleanup(s.kill)
        s.wait("Passphrase for", timeout=20)
        s.literal("pw")
        s.keys("Enter")
        t = s.wait("EXIT=0", timeout=20)
        self.assertIn("[-- Decrypted (OpenPGP) --]", t)
        self.assertIn(SECRET, t)
        # Not echoed.
        line = [x for x in t.splitlines() if "Passphrase for" in x][0]
        self.assertFalse(line.rstrip().endswith("pw"), line)
        self.assertFalse(os.path.exists(self.mark))


if __name__ == "__main__":
    ternlib.main()
