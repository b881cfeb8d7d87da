"""Sending: compose, reply, forward, attachments, the outbox, refusals and
authentication, against Debian's aiosmtpd on loopback (tests/lib/smtpd.py)
and a real Dovecot for the POP3 account (the originals of replies and
forwards are downloaded from it by tern sync).

The editor is a small script (EDITOR) that edits the draft the way a user
would: it sets header lines and adds text, from environment variables.
"""

import email
import email.policy
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ternlib  # noqa: E402
from smtpd import Smtpd  # noqa: E402

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


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def text(part):
    """A text part's content with the LF line ends Python's own have."""
    return part.get_content().replace("\r\n", "\n")


class SendTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot().start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-send-")
        cls.editor = os.path.join(cls.tmp, "edit.py")
        with open(cls.editor, "w") as f:
            f.write(EDITOR)

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.tern = ternlib.Tern()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.cleanup()
        self.tern.cleanup()

    def smtpd(self, start=True, **kw):
        kw.setdefault("user", "alice")
        kw.setdefault("password", "secret")
        kw.setdefault("tls", "starttls")
        kw.setdefault("cert", self.dovecot.cafile)
        kw.setdefault("key", os.path.join(self.dovecot.dir, "key.pem"))
        s = Smtpd(**kw)
        self.servers.append(s)
        return s.start() if start else s

    def configure(self, server, extra="", scheme="smtp", tls="on",
                  protocol="pop3"):
        rc = self.tern.account(
            self.dovecot, protocol=protocol, tls=tls,
            extra=(f"    smtp {scheme}://127.0.0.1:{server.port}\n"
                   f"    from \"Alice Ünïcode <alice@example.net>\"\n"
                   + extra))
        self.tern.write_rc(rc)

    def edit_env(self, body="", **fields):
        sets = "\x1e".join("%s: %s" % (k.replace("_", "-"), v)
                           for k, v in fields.items())
        cmd = "%s %s" % (sys.executable, self.editor)
        return {"EDITOR": cmd, "VISUAL": cmd, "EDIT_SET": sets,
                "EDIT_BODY": body}

    def download(self, raw):
        """Deliver raw to the POP3 mailbox and sync it into the store;
        returns its UID there."""
        self.dovecot.deliver(raw)
        self.tern.out("sync", "acct")
        msgid = parse(raw)["Message-ID"]
        db = sqlite3.connect(os.path.join(self.tern.data, "tern", "tern.db"))
        row = db.execute("SELECT uid FROM message WHERE message_id = ?",
                         (msgid,)).fetchone()
        db.close()
        self.assertIsNotNone(row, "the sync did not store the message")
        return row[0]

    def outbox(self):
        out = self.tern.out("send", "--list")
        return [line.split("\t") for line in out.splitlines()]

    def ls(self, folder):
        r = self.tern.run("ls", folder)
        if r.returncode != 0:
            return []
        return [line.split("\t") for line in r.stdout.decode().splitlines()]

    # -- tests ---------------------------------------------------------

    def test_compose_new_message(self):
        s = self.smtpd()
        self.configure(s)
        r = self.tern.run("compose", "bob@example.org",
                          env=self.edit_env(subject="Grüße aus Köln",
                                            body="Hallo Bob,\nschön!\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = s.messages()
        self.assertEqual(len(msgs), 1)
        env, raw = msgs[0]
        self.assertEqual(env["mail_from"], "alice@example.net")
        self.assertEqual(env["rcpt_tos"], ["bob@example.org"])
        self.assertTrue(env["authenticated"])
        m = parse(raw)
        self.assertEqual(m["Subject"], "Grüße aus Köln")
        self.assertEqual(m["From"].addresses[0].display_name,
                         "Alice Ünïcode")
        self.assertEqual(m["To"], "bob@example.org")
        self.assertIsNotNone(m["Date"].datetime)
        self.assertRegex(m["Message-ID"], r"^<[^<>@]+@example\.net>$")
        self.assertEqual(m.get_content_type(), "text/plain")
        self.assertEqual(text(m), "Hallo Bob,\nschön!\n")
        self.assertIn(m["Content-Transfer-Encoding"], ("8bit",))
        # The headers themselves are ASCII (RFC 2047).
        head = raw.split(b"\r\n\r\n", 1)[0]
        self.assertTrue(all(b < 0x80 for b in head))
        # The POP3 account's copy is in its local Sent folder.
        sent = self.ls("acct/Sent")
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0][1], "S")
        self.assertEqual(sent[0][4], "Grüße aus Köln")
        self.assertEqual(self.outbox(), [])

    def test_send_file_with_bcc(self):
        s = self.smtpd()
        self.configure(s)
        msg = ("From: Alice <alice@example.net>\n"
               "To: Bob <bob@example.org>\n"
               "Bcc: Carol <carol@example.org>,\n dave@example.org\n"
               "Subject: plans\n\nsecret plans\n.\n..\nend\n").encode()
        r = self.tern.run("send", input=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        env, raw = s.messages()[0]
        self.assertEqual(sorted(env["rcpt_tos"]),
                         ["bob@example.org", "carol@example.org",
                          "dave@example.org"])
        self.assertNotIn(b"Bcc", raw)
        self.assertNotIn(b"carol", raw)
        self.assertNotIn(b"dave", raw)
        m = parse(raw)
        self.assertIsNotNone(m["Message-ID"])
        self.assertIsNotNone(m["Date"])
        # Lines of dots survive SMTP's dot-stuffing.
        self.assertTrue(raw.endswith(b"secret plans\r\n.\r\n..\r\nend\r\n"))
        # The copy in Sent keeps the Bcc, for the sender's record.
        self.assertEqual(len(self.ls("acct/Sent")), 1)

    def test_send_picks_account_by_from(self):
        s = self.smtpd()
        self.configure(s)
        r = self.tern.run("send", input=b"From: eve@example.org\n"
                          b"To: bob@example.org\n\nx\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"name one with -a", r.stderr)
        r = self.tern.run("send", "-a", "acct", input=b"To: bob@example.org"
                          b"\nSubject: no from\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = parse(s.messages()[0][1])
        self.assertEqual(m["From"].addresses[0].addr_spec,
                         "alice@example.net")

    def test_reply_and_answered_flag(self):
        s = self.smtpd()
        self.configure(s)
        original = ternlib.make_message(
            1, subject="Re: lunch?", sender="Bob Müller <bob@example.org>",
            to="Alice <alice@example.net>, carol@example.org",
            msgid="<orig1@example.org>",
            extra_headers="References: <root@example.org>\n"
                          "Cc: dave@example.org\n",
            body="Shall we meet at noon?\n")
        uid = self.download(original)
        r = self.tern.run("reply", "acct/INBOX", str(uid),
                          env=self.edit_env(body="Yes, noon is fine.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        env, raw = s.messages()[0]
        self.assertEqual(env["rcpt_tos"], ["bob@example.org"])
        m = parse(raw)
        self.assertEqual(m["Subject"], "Re: lunch?")
        self.assertEqual(m["In-Reply-To"], "<orig1@example.org>")
        self.assertEqual(m["References"].split(),
                         ["<root@example.org>", "<orig1@example.org>"])
        body = text(m)
        self.assertTrue(body.startswith("Yes, noon is fine.\n"))
        self.assertIn("Bob Müller wrote:\n> Shall we meet at noon?", body)
        # The original is marked answered (R).
        line = [x for x in self.ls("acct/INBOX") if x[0] == str(uid)][0]
        self.assertIn("R", line[1])

        # Reply to all: everyone but us, Cc kept.
        r = self.tern.run("reply", "--all", "acct/INBOX", str(uid),
                          env=self.edit_env(body="All of us.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        env, raw = s.messages()[1]
        self.assertEqual(sorted(env["rcpt_tos"]),
                         ["bob@example.org", "carol@example.org",
                          "dave@example.org"])
        m = parse(raw)
        self.assertEqual(m["Cc"], "dave@example.org")
        self.assertNotIn("alice", str(m["To"]) + str(m["Cc"]))

    def test_forward_inline_and_as_attachment(self):
        s = self.smtpd()
        self.configure(s)
        original = ternlib.make_message(
            2, subject="Report", sender="Bob <bob@example.org>",
            msgid="<orig2@example.org>", body="The numbers are in.\n")
        uid = self.download(original)
        r = self.tern.run("forward", "acct/INBOX", str(uid),
                          "carol@example.org",
                          env=self.edit_env(body="FYI\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        env, raw = s.messages()[0]
        self.assertEqual(env["rcpt_tos"], ["carol@example.org"])
        m = parse(raw)
        self.assertEqual(m["Subject"], "Fwd: Report")
        body = text(m)
        self.assertIn("---------- Forwarded message ----------", body)
        self.assertIn("From: Bob <bob@example.org>", body)
        self.assertIn("The numbers are in.", body)
        line = [x for x in self.ls("acct/INBOX") if x[0] == str(uid)][0]
        self.assertIn("P", line[1])

        r = self.tern.run("forward", "--attach", "acct/INBOX", str(uid),
                          "carol@example.org", "dave@example.org",
                          env=self.edit_env(body="See attached.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        env, raw = s.messages()[1]
        self.assertEqual(env["rcpt_tos"],
                         ["carol@example.org", "dave@example.org"])
        m = parse(raw)
        self.assertEqual(m["Subject"], "Fwd: Report")
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        parts = list(m.iter_parts())
        self.assertEqual(text(parts[0]), "See attached.\n")
        self.assertEqual(parts[1].get_content_type(), "message/rfc822")
        inner = parts[1].get_content()
        self.assertEqual(inner["Message-ID"], "<orig2@example.org>")
        self.assertEqual(text(inner), "The numbers are in.\n")

    def test_attachment_with_non_ascii_name(self):
        s = self.smtpd()
        self.configure(s)
        d = tempfile.mkdtemp(dir=self.tern.dir)
        name = "Prüfbericht für das Jahr 2024 – 日本語のファイル名.pdf"
        path = os.path.join(d, name)
        data = b"%PDF-1.4\n" + bytes(range(256)) * 40
        with open(path, "wb") as f:
            f.write(data)
        r = self.tern.run("compose", "bob@example.org",
                          env=self.edit_env(subject="the report",
                                            attach=path,
                                            body="Attached.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        raw = s.messages()[0][1]
        self.assertIn(b"filename*0*=utf-8''Pr%C3%BCfbericht", raw)
        for line in raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 78)
        m = parse(raw)
        atts = list(m.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(atts[0].get_filename(), name)
        self.assertEqual(atts[0].get_content_type(), "application/pdf")
        self.assertEqual(atts[0]["Content-Transfer-Encoding"], "base64")
        self.assertEqual(atts[0].get_content(), data)
        self.assertEqual(text(next(m.iter_parts())), "Attached.\n")

    def test_outbox_while_server_down(self):
        s = self.smtpd(start=False)
        self.configure(s)
        msg = ternlib.make_message(3, sender="alice@example.net",
                                   to="bob@example.org")
        r = self.tern.run("send", input=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"queued; will be sent at the next sync", r.stderr)
        box = self.outbox()
        self.assertEqual(len(box), 1)
        self.assertEqual(box[0][1], "queued")
        self.assertEqual(self.ls("acct/Sent"), [])
        # Still down: the sync keeps it.
        self.tern.run("sync", "acct")
        self.assertEqual(self.outbox()[0][1], "queued")
        s.start()
        r = self.tern.run("sync", "acct")
        self.assertIn(b"sent outbox message", r.stdout)
        self.tern.run("sync", "acct")
        self.tern.run("send", "-a", "acct", input=b"To: bob@example.org\n"
                      b"Subject: second\n\nx\n")
        msgs = s.messages()
        self.assertEqual(len(msgs), 2)
        self.assertEqual(parse(msgs[0][1])["Subject"], "Message 3")
        self.assertEqual(parse(msgs[1][1])["Subject"], "second")
        self.assertEqual(self.outbox(), [])
        self.assertEqual(len(self.ls("acct/Sent")), 2)

    def test_deferred_is_queued_like_offline(self):
        # "Not now" from the server (greylisting) and an unreachable
        # server both leave the message queued for the next sync: exit 0
        # with the note, as tern(1) says.
        s = self.smtpd(defer=["bob@example.org"])
        self.configure(s)
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: later\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"the server deferred the message", r.stderr)
        self.assertIn(b"tried again at the next sync", r.stderr)
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.outbox()[0][1], "queued")
        # So does the sync that meets the same answer.
        r = self.tern.run("sync", "acct")
        self.assertIn(b"kept for the next sync", r.stderr)
        self.assertNotIn(b"not sent: the server deferred", r.stdout)
        self.assertEqual(self.outbox()[0][1], "queued")
        s.stop()
        s2 = self.smtpd(port=s.port)
        self.tern.out("sync", "acct")
        self.assertEqual(len(s2.messages()), 1)
        self.assertEqual(self.outbox(), [])

    def test_refusals_are_usage_errors(self):
        # What no retry can fix: exit 2, nothing queued.
        s = self.smtpd()
        self.configure(s)
        r = self.tern.run("send", "-a", "acct",
                          input=b"Subject: nobody to send to\n\nx\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"recipient", r.stderr)
        self.assertEqual(self.outbox(), [])
        for opt in ("--retry", "--drop"):
            r = self.tern.run("send", opt, "4242")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(b"no message 4242 in the outbox", r.stderr)
        self.tern.out("folder", "create", "acct/Kept")
        r = self.tern.run("reply", "acct/Kept", "4242")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"no message 4242 in acct/Kept", r.stderr)
        self.assertEqual(s.messages(), [])

    def test_refused_recipient(self):
        s = self.smtpd(refuse=["nobody@example.org"])
        self.configure(s)
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org, nobody@example.org\n"
                          b"Subject: refused\n\nx\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Recipient address rejected", r.stderr)
        self.assertIn(b"nobody@example.org", r.stderr)
        self.assertEqual(s.messages(), [])
        box = self.outbox()
        self.assertEqual(len(box), 1)
        self.assertEqual(box[0][1], "failed")
        self.assertIn("Recipient address rejected", box[0][7])
        # Never retried behind the user's back.
        self.tern.run("sync", "acct")
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.outbox()[0][1], "failed")
        self.tern.out("send", "--drop", box[0][0])
        self.assertEqual(self.outbox(), [])

    def test_authentication(self):
        s = self.smtpd()
        self.configure(s, extra="    smtp_passcmd \"echo wrong\"\n")
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: auth\n\nx\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"login refused", r.stderr)
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.outbox()[0][1], "queued")
        # Fixed: the next sync sends it.
        self.configure(s, extra="    smtp_user alice\n"
                       "    smtp_passcmd \"echo secret\"\n")
        self.tern.run("sync", "acct")
        self.assertEqual(len(s.messages()), 1)
        self.assertTrue(s.messages()[0][0]["authenticated"])
        self.assertEqual(self.outbox(), [])

    def test_implicit_tls(self):
        s = self.smtpd(tls="implicit")
        self.configure(s, scheme="smtps")
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: tls\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(s.messages()), 1)

    def test_starttls_required_unless_tls_off(self):
        s = self.smtpd(tls=None)
        self.configure(s)
        msg = (b"From: alice@example.net\nTo: bob@example.org\n"
               b"Subject: plain\n\nx\n")
        r = self.tern.run("send", input=msg)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"STARTTLS", r.stderr)
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.outbox()[0][1], "queued")
        # With tls off the user chose plaintext: it goes.
        self.configure(s, tls="off")
        self.tern.run("sync", "acct")
        self.assertEqual(len(s.messages()), 1)
        self.assertEqual(self.outbox(), [])

    def test_connection_lost_after_data_is_not_resent(self):
        s = self.smtpd(after_data="drop")
        self.configure(s)
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: once\n\nx\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"may have accepted", r.stderr)
        self.assertEqual(len(s.messages()), 1)
        box = self.outbox()
        self.assertEqual(box[0][1], "unknown")
        # A working server and a sync do not send it twice.
        s.stop()
        s.after_data = None
        s.start()
        self.tern.run("sync", "acct")
        self.assertEqual(len(s.messages()), 1)
        # Only when the user says so.
        r = self.tern.run("send", "--retry", box[0][0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(s.messages()), 2)
        self.assertEqual(self.outbox(), [])

    def test_killed_during_sending_is_not_resent(self):
        s = self.smtpd(after_data="stall")
        self.configure(s)
        p = subprocess.Popen([ternlib.TERN, "send"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             env=self.tern.env())
        p.stdin.write(b"From: alice@example.net\nTo: bob@example.org\n"
                      b"Subject: crash\n\nx\n")
        p.stdin.close()
        deadline = time.time() + 20
        while not s.messages():
            self.assertLess(time.time(), deadline, "nothing delivered")
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        s.stop()
        s.after_data = None
        s.start()
        r = self.tern.run("sync", "acct")
        self.assertIn(b"not sent", r.stderr)
        self.assertEqual(len(s.messages()), 1)
        box = self.outbox()
        self.assertEqual(box[0][1], "unknown")
        self.assertIn("interrupted", box[0][7])

    def test_keepalive(self):
        # While tern waits for the server's reply, its connection probes
        # a silent peer after a minute (the kernel's default is two hours):
        # ss shows the keepalive timer of tern's end.
        s = self.smtpd(after_data="stall")
        self.configure(s)
        p = subprocess.Popen([ternlib.TERN, "send"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             env=self.tern.env())
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        p.stdin.write(b"From: alice@example.net\nTo: bob@example.org\n"
                      b"Subject: keepalive\n\nx\n")
        p.stdin.close()
        deadline = time.time() + 20
        while not s.messages():
            self.assertLess(time.time(), deadline, "nothing delivered")
            time.sleep(0.05)
        out = subprocess.run(
            ["ss", "-tnoH", "state", "established",
             "( dport = :%d )" % s.port],
            stdout=subprocess.PIPE, check=True).stdout.decode()
        self.assertTrue(out.strip(), "no connection to the server")
        # "timer:(keepalive,59sec,0)": under a minute, not two hours.
        timers = re.findall(r"timer:\(keepalive,([^,]+),", out)
        self.assertEqual(len(timers), 1, out)
        self.assertRegex(timers[0], r"^\d+(sec|ms)$", out)

    def imap(self, dovecot=None):
        dovecot = dovecot or self.dovecot
        m = dovecot.imap("alice")
        self.addCleanup(m.logout)
        return m

    def server_folder(self, m, folder):
        """(flags, raw) of each message in the server's folder."""
        typ, _ = m.select('"%s"' % folder, readonly=True)
        self.assertEqual(typ, "OK", "no folder %s on the server" % folder)
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        out = []
        for item in data:
            if isinstance(item, tuple):
                out.append((item[0].decode(), item[1]))
        return out

    def test_imap_account_sent_copy(self):
        # The copy goes to the server's Sent with APPEND (created when
        # missing), never to a local folder.
        m = self.imap()
        m.delete("Sent")
        self.assertNotIn(b"Sent", b" ".join(m.list()[1]))
        s = self.smtpd()
        self.configure(s, protocol="imap")
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: imap\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(s.messages()), 1)
        msgs = self.server_folder(m, "Sent")
        self.assertEqual(len(msgs), 1)
        self.assertIn("\\Seen", msgs[0][0])
        self.assertIn(b"Subject: imap\r\n", msgs[0][1])
        self.assertEqual(self.ls("local/Sent"), [])
        # The next sync mirrors it like any server folder.
        self.tern.out("sync", "acct")
        self.assertEqual([x[4] for x in self.ls("acct/Sent")], ["imap"])
        self.assertEqual(self.outbox(), [])

    def test_imap_sent_copy_waits_for_the_server(self):
        # SMTP works, IMAP is away: the copy is filed at the next flush.
        s = self.smtpd()
        rc = self.tern.account(self.dovecot, protocol="imap", extra=(
            f"    smtp smtp://127.0.0.1:{s.port}\n"
            f"    from alice@example.net\n"))
        self.tern.write_rc(rc.replace(
            "port %d\n" % self.dovecot.imaps_port, "port 1\n"))
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: later\n\nx\n")
        self.assertEqual(len(s.messages()), 1)
        self.assertEqual(self.outbox()[0][1], "sent")
        self.assertEqual(self.ls("local/Sent"), [])
        self.tern.write_rc(rc)
        m = self.imap()
        m.create("Sent")
        before = len(self.server_folder(m, "Sent"))
        self.tern.out("sync", "acct")
        self.assertEqual(self.outbox(), [])
        self.assertEqual(len(self.server_folder(m, "Sent")), before + 1)
        self.assertEqual(len(s.messages()), 1)

    def test_imap_special_use_sent_and_rc_folder(self):
        d = ternlib.Dovecot(extra_conf=(
            "namespace inbox {\n  inbox = yes\n"
            "  mailbox \"Sent Messages\" {\n    special_use = \\Sent\n"
            "  }\n  mailbox \"Draft Messages\" {\n"
            "    special_use = \\Drafts\n  }\n}\n")).start()
        self.addCleanup(d.cleanup)
        m = self.imap(d)
        m.create('"Sent Messages"')
        m.create('"Draft Messages"')
        s = self.smtpd(cert=d.cafile, key=os.path.join(d.dir, "key.pem"))
        self.tern.write_rc(self.tern.account(d, protocol="imap", extra=(
            f"    smtp smtp://127.0.0.1:{s.port}\n"
            f"    from alice@example.net\n")))
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: su\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.server_folder(m, "Sent Messages")), 1)
        self.assertNotIn(b'"Sent"', b" ".join(m.list()[1]))
        # The rc's own name wins over SPECIAL-USE.
        self.tern.write_rc(self.tern.account(d, protocol="imap", extra=(
            f"    smtp smtp://127.0.0.1:{s.port}\n"
            f"    from alice@example.net\n    sent Outgoing\n")))
        r = self.tern.run("send", input=b"From: alice@example.net\n"
                          b"To: bob@example.org\nSubject: rc\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.server_folder(m, "Outgoing")), 1)
        self.assertEqual(len(self.server_folder(m, "Sent Messages")), 1)
        r = self.tern.run("compose", "--postpone",
                          env=self.edit_env(subject="su draft"))
        self.assertEqual(r.returncode, 0, r.stderr)
        drafts = self.server_folder(m, "Draft Messages")
        self.assertEqual(len(drafts), 1)
        self.assertIn("\\Draft", drafts[0][0])
        self.assertNotIn(b'"Drafts"', b" ".join(m.list()[1]))

    def test_imap_postpone_offline_keeps_local_draft(self):
        # The server cannot be reached: the draft is not lost.
        s = self.smtpd()
        self.tern.write_rc(self.tern.account(
            self.dovecot, protocol="imap", port=1, extra=(
                f"    smtp smtp://127.0.0.1:{s.port}\n"
                f"    from alice@example.net\n")))
        r = self.tern.run("compose", "--postpone",
                          env=self.edit_env(subject="offline draft"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"kept in the store instead", r.stderr)
        self.assertIn(b"postponed to local/Drafts", r.stderr)
        drafts = self.ls("local/Drafts")
        self.assertEqual([x[4] for x in drafts], ["offline draft"])
        self.assertIn("D", drafts[0][1])

    def test_imap_postpone_to_server_drafts(self):
        s = self.smtpd()
        self.configure(s, protocol="imap")
        r = self.tern.run("compose", "--postpone",
                          env=self.edit_env(subject="imap draft",
                                            body="unfinished\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"postponed to acct/Drafts", r.stderr)
        m = self.imap()
        msgs = [x for x in self.server_folder(m, "Drafts")
                if b"Subject: imap draft\r\n" in x[1]]
        self.assertEqual(len(msgs), 1)
        self.assertIn("\\Draft", msgs[0][0])
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.ls("local/Drafts"), [])

    def test_imap_reply_sets_answered_on_the_server(self):
        s = self.smtpd()
        self.configure(s, protocol="imap")
        original = ternlib.make_message(
            5, subject="imap question", sender="Bob <bob@example.org>",
            msgid="<imapq@example.org>", body="Are you there?\n")
        self.dovecot.deliver(original)
        self.tern.out("sync", "acct")
        uid = [x for x in self.ls("acct/INBOX")
               if x[4] == "imap question"][0][0]
        # The body is fetched from the server for the quote.
        r = self.tern.run("reply", "acct/INBOX", uid,
                          env=self.edit_env(body="Here.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        m = parse(s.messages()[0][1])
        self.assertEqual(m["In-Reply-To"], "<imapq@example.org>")
        self.assertIn("> Are you there?", text(m))
        line = [x for x in self.ls("acct/INBOX") if x[0] == uid][0]
        self.assertIn("R", line[1])
        # The next sync tells the server: \Answered is Maildir's R.
        self.tern.out("sync", "acct")
        cur = os.path.join(self.dovecot.maildir(), "cur")
        flags = [n.split(":2,")[1] for n in os.listdir(cur) if ":2," in n]
        self.assertTrue(any("R" in f for f in flags), flags)

    def test_postpone_to_drafts(self):
        s = self.smtpd()
        self.configure(s)
        r = self.tern.run("compose", "--postpone",
                          env=self.edit_env(subject="later",
                                            bcc="carol@example.org",
                                            body="unfinished\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"postponed to acct/Drafts", r.stderr)
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.outbox(), [])
        drafts = self.ls("acct/Drafts")
        self.assertEqual(len(drafts), 1)
        self.assertEqual(drafts[0][1], "DS")
        self.assertEqual(drafts[0][4], "later")
        raw = self.tern.run("cat", "--raw", "acct/Drafts", drafts[0][0],
                            check=True).stdout
        self.assertIn(b"\r\nBcc: carol@example.org\r\n", raw)
        self.assertIn(b"\r\nSubject: later\r\n", raw)

    def test_signature_on_new_messages_and_replies(self):
        s = self.smtpd()
        sig = os.path.join(self.tern.dir, "signature")
        with open(sig, "w") as f:
            f.write("Alice\nhttps://alice.example.net\n")
        self.configure(s, extra="    signature %s\n" % sig)
        r = self.tern.run("compose", "bob@example.org",
                          env=self.edit_env(subject="Hi", body="Hello.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(text(parse(s.messages()[0][1])),
                         "Hello.\n\n-- \nAlice\nhttps://alice.example.net\n")
        # A reply quotes the text, not the original's signature, and
        # ends with ours.
        uid = self.download(ternlib.make_message(
            1, subject="lunch", body="Noon?\n\n-- \nBob, who signs\n"))
        r = self.tern.run("reply", "acct/INBOX", str(uid),
                          env=self.edit_env(body="Yes.\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        body = text(parse(s.messages()[1][1]))
        self.assertIn("> Noon?\n", body)
        self.assertNotIn("Bob, who signs", body)
        self.assertTrue(body.endswith(
            "\n-- \nAlice\nhttps://alice.example.net\n"), body)

    def screen(self, env):
        """The full-screen client on this account."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_ui import Screen
        scr = Screen(self.tern, env=env, width=120, height=30)
        self.addCleanup(scr.kill)
        return scr

    def until(self, pred, what, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        self.fail("waited %ss for %s" % (timeout, what))

    def test_client_reply_to_list_and_index_names(self):
        s = self.smtpd()
        sig = os.path.join(self.tern.dir, "signature")
        with open(sig, "w") as f:
            f.write("Alice\n")
        self.configure(s, extra="    signature %s\n" % sig)
        with open(self.tern.rc, "a") as f:
            f.write("subscribe dev@lists.example.org\n")
        self.download(ternlib.make_message(
            1, subject="mine", sender="Alice <alice@example.net>",
            to="Carol Smith <carol@example.org>"))
        self.download(ternlib.make_message(
            2, subject="patch", sender="Bob <bob@example.org>",
            to="dev@lists.example.org",
            extra_headers="List-Post: <mailto:dev@lists.example.org>\n"
                          "Cc: carol@example.org\n",
            body="Looks good.\n"))
        scr = self.screen(self.edit_env(body="Agreed.\n"))
        # Own mail shows its recipient, list mail its list, as mutt.
        t = scr.wait("To Carol Smith", timeout=20)
        row = [x for x in t.splitlines() if "patch" in x]
        self.assertIn("To dev", row[0], t)
        scr.keys("G")
        scr.wait_cursor("patch")
        scr.keys("L")
        scr.wait("y:Send")
        scr.keys("y")
        msgs = self.until(s.messages, "the reply to the list")
        env, raw = msgs[0]
        self.assertEqual(env["rcpt_tos"], ["dev@lists.example.org"])
        m = parse(raw)
        self.assertEqual(m["Subject"], "Re: patch")
        body = text(m)
        self.assertTrue(body.startswith("Agreed.\n"), body)
        self.assertIn("> Looks good.\n", body)
        # The client signs as the cli does.
        self.assertTrue(body.endswith("\n-- \nAlice\n"), body)

    def test_client_recalls_a_local_draft(self):
        # With its attachments: a file (its name and bytes) and a
        # forwarded message (its bytes), and its text without the lines
        # the pager gives them.
        s = self.smtpd()
        self.configure(s)
        fwd = self.download(ternlib.make_message(7, subject="forward me"))
        fwd_raw = self.tern.run("cat", "--raw", "acct/INBOX", str(fwd),
                                check=True).stdout
        d = tempfile.mkdtemp(dir=self.tern.dir)
        path = os.path.join(d, "Prüfbericht 2024.pdf")
        data = b"%PDF-1.4\n" + bytes(range(256)) * 8
        with open(path, "wb") as f:
            f.write(data)
        r = self.tern.run("forward", "--attach", "--postpone", "acct/INBOX",
                          str(fwd), "dave@example.org",
                          env=self.edit_env(subject="later",
                                            attach=path,
                                            body="unfinished\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.ls("acct/Drafts")), 1)
        os.unlink(path)  # only the draft holds it now
        scr = self.screen(self.edit_env(body="finished now\n"))
        scr.wait("acct/INBOX", timeout=20)
        # One draft: straight into the editor, then the send screen.
        scr.keys("P")
        scr.wait("y:Send")
        scr.wait("later")
        scr.keys("y")
        env, raw = self.until(s.messages, "the recalled draft sent")[0]
        self.assertEqual(env["rcpt_tos"], ["dave@example.org"])
        m = parse(raw)
        body = text(next(m.iter_parts()))
        self.assertEqual(body, "finished now\nunfinished\n")
        atts = list(m.iter_attachments())
        self.assertEqual([a.get_content_type() for a in atts],
                         ["application/pdf", "message/rfc822"])
        self.assertEqual(atts[0].get_filename(), "Prüfbericht 2024.pdf")
        self.assertEqual(atts[0].get_content(), data)
        inner = atts[1].get_payload()[0].as_bytes()
        self.assertEqual(parse(inner)["Message-ID"],
                         parse(fwd_raw)["Message-ID"])
        self.assertIn(b"Subject: forward me", raw)
        # Sent: no longer in Drafts.
        self.until(lambda: self.ls("acct/Drafts") == [], "Drafts empty")

    def test_client_pipe_one_and_tagged(self):
        self.configure(self.smtpd())
        u1 = self.download(ternlib.make_message(1))
        self.download(ternlib.make_message(2))
        raw1 = self.tern.run("cat", "--raw", "acct/INBOX", str(u1),
                             check=True).stdout
        out1 = os.path.join(self.tern.dir, "one")
        out2 = os.path.join(self.tern.dir, "tagged")
        scr = self.screen({})
        scr.wait("Message 2", timeout=20)
        scr.keys("g")
        scr.wait_cursor("Message 1")
        scr.keys("|")
        scr.wait("Pipe to:")
        scr.literal("tee %s | wc -c" % out1)
        scr.keys("Enter")
        t = scr.wait("Press any key")
        self.assertIn(str(len(raw1)), t)
        scr.keys("Enter")
        scr.wait("Piped 1 message")
        with open(out1, "rb") as f:
            self.assertEqual(f.read(), raw1)
        # ;| : every tagged message, in mbox form.
        scr.keys("t", "t")
        scr.wait("2 tagged")
        scr.keys("\\;")
        scr.wait("Apply to 2 tagged")
        scr.keys("|")
        scr.wait("Pipe 2 tagged messages to:")
        scr.literal("cat > %s" % out2)
        scr.keys("Enter")
        scr.wait("Press any key")
        scr.keys("q")
        scr.wait("Piped 2 messages")
        with open(out2, "rb") as f:
            data = f.read()
        self.assertEqual(len(re.findall(rb"(?m)^From tern ", data)), 2)
        self.assertIn(b"Subject: Message 1", data)
        self.assertIn(b"Subject: Message 2", data)

    def test_cancelled_by_editor(self):
        s = self.smtpd()
        self.configure(s)
        r = self.tern.run("compose", "bob@example.org",
                          env={"EDITOR": "false", "VISUAL": "false"})
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"nothing was sent", r.stderr)
        r = self.tern.run("compose", "bob@example.org",
                          env={"EDITOR": "truncate -s 0",
                               "VISUAL": "truncate -s 0"})
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"the draft is empty", r.stderr)
        self.assertEqual(s.messages(), [])
        self.assertEqual(self.outbox(), [])
        self.assertEqual(self.ls("acct/Sent"), [])

    def test_unsendable_draft_is_kept(self):
        s = self.smtpd()
        self.configure(s)
        env = self.edit_env(to="nodomain", body="precious words\n")
        env["TMPDIR"] = self.tern.dir
        r = self.tern.run("compose", env=env)
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("'nodomain' is not an address", err)
        path = err.split("the draft is kept in ")[1].strip()
        with open(path) as f:
            kept = f.read()
        self.assertIn("To: nodomain\n", kept)
        self.assertIn("precious words", kept)
        self.assertEqual(s.messages(), [])


if __name__ == "__main__":
    ternlib.main()
