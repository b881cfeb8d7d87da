"""Backups that come back the same: tern export of a whole account, then
tern import of the result into a fresh store, gives back the same
folders, bytes, flags and keywords, as mbox files and as a Maildir++
tree, for the local account, a POP3 account and an IMAP account on a
real Dovecot (where the import queues APPENDs that the next sync sends,
and gives the appended messages their keywords).
Importing an export into the store it came from finds every message
already there."""

import imaplib
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

USERS = {"alice": "secret", "bob": "bobpw", "carol": "carolpw",
         "dave": "davepw"}
LETTERS = "DFPRST"
IMAP_FLAGS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R",
              "\\Seen": "S", "\\Deleted": "T", "$Forwarded": "P"}


def messages():
    """(bytes, flag letters, keywords) of messages that an mbox must
    quote, end, or take care not to confuse with its own lines."""
    m = ternlib.make_message
    return [
        (m(1, body="Plain.\n"), "S", ["work"]),
        # No final line end: 168 bytes must not come back as 169.
        (m(2, body="No final newline.")[:-2], "FS", ["$Label1", "work"]),
        (m(3, body="From the start\n>From quoted\n\nFrom here\n"), "", []),
        # Its own first line looks like the lines an export adds.
        (b"X-Status: F\r\n" + m(4), "RS", ["later"]),
        (m(5, body="Last line, LF only.\n").replace(b"\r\n", b"\n"), "P",
         []),
    ]


def folder_of(i):
    return ["INBOX", "INBOX", "Work", "Archive/2024", "Work"][i]


class Backup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS)
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        self.terns = []

    def tearDown(self):
        for t in self.terns:
            t.cleanup()

    def tern(self, rc):
        t = ternlib.Tern()
        t.write_rc(rc)
        self.terns.append(t)
        return t

    def account_rc(self, t, name, protocol, user):
        return t.account(self.dovecot, name=name, protocol=protocol,
                         user=user)

    # -- what a store holds -------------------------------------------

    def snapshot(self, t, account):
        """{folder: sorted [(bytes, flags, keywords)]} of the store."""
        db = ternlib.store_db(t.data)
        try:
            out = {f: [] for f in self.folders(t, account)}
            for name, raw, flags, kw in db.execute(
                    "SELECT f.name, " + ternlib.BODY + ", m.flags,"
                    " m.keywords FROM message m"
                    " JOIN body b ON b.message_id = m.id"
                    " JOIN folder f ON f.id = m.folder_id"
                    " JOIN account a ON a.id = f.account_id"
                    " WHERE a.name = ?", (account,)):
                out.setdefault(name, []).append(
                    (bytes(raw), flags, frozenset((kw or "").split())))
            for v in out.values():
                v.sort()
            return out
        finally:
            db.close()

    def folders(self, t, account):
        return [line.split("\t")[0] for line in
                t.out("ls", account).splitlines()]

    def set_flags(self, t, account, folder, uid, letters, keywords):
        args = []
        if letters:
            args.append("+" + letters)
        args += ["+kw:" + k for k in keywords]
        if args:
            t.out("flag", "%s/%s" % (account, folder), uid, *args)

    def uid_of(self, t, spec, subject_n):
        for line in t.out("ls", spec).splitlines():
            if line.endswith("\tMessage %d" % subject_n):
                return line.split("\t")[0]
        raise AssertionError("no message %d in %s" % (subject_n, spec))

    # -- export, then import into a fresh store -------------------------

    def export_both(self, t, account):
        mbox = os.path.join(t.dir, "mboxes")
        maildir = os.path.join(t.dir, "maildir")
        t.out("export", account, "--mbox", mbox)
        t.out("export", account, "--maildir", maildir)
        return mbox, maildir

    def import_mboxes(self, t, account, mbox):
        """Each file of an exported mbox directory into its folder."""
        out = []
        for name in sorted(os.listdir(mbox)):
            folder = name.replace(".", "/")
            out.append(t.out("import", "%s/%s" % (account, folder),
                             os.path.join(mbox, name)))
        return out

    def round_trip(self, src, account, rc):
        want = self.snapshot(src, account)
        self.assertEqual(sum(len(v) for v in want.values()), 5)
        mbox, maildir = self.export_both(src, account)
        for how in ("mbox", "maildir"):
            dst = self.tern(rc)
            if how == "mbox":
                self.import_mboxes(dst, account, mbox)
            else:
                dst.out("import", account, maildir)
            self.assertEqual(self.snapshot(dst, account), want, how)
            # Exported again, the same files.
            again = os.path.join(dst.dir, "again")
            if how == "mbox":
                dst.out("export", account, "--mbox", again)
                for name in os.listdir(mbox):
                    with open(os.path.join(mbox, name), "rb") as a, \
                            open(os.path.join(again, name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), name)
        # Into the store it came from: every message is already there.
        for out in self.import_mboxes(src, account, mbox):
            self.assertRegex(out, r"^0 messages imported")
        out = src.out("import", account, maildir)
        self.assertIn("0 messages imported into %s (4 folders), 5 already "
                      "there" % account, out)
        self.assertEqual(self.snapshot(src, account), want)

    def test_local(self):
        t = self.tern("")
        t.out("ls", "local")
        for i, (raw, letters, kws) in enumerate(messages()):
            md = os.path.join(t.dir, "md%d" % i)
            os.makedirs(os.path.join(md, "new"))
            with open(os.path.join(md, "new", "1.m%d.host" % i), "wb") as f:
                f.write(raw)
            t.out("import", "local/" + folder_of(i), md)
            uid = t.out("ls", "local/" + folder_of(i)).splitlines()[-1] \
                .split("\t")[0]
            self.set_flags(t, "local", folder_of(i), uid, letters, kws)
        self.assertEqual(self.folders(t, "local"),
                         ["INBOX", "Archive", "Archive/2024", "Work"])
        self.round_trip(t, "local", "")

    def test_pop3(self):
        for raw, _, _ in messages():
            self.dovecot.deliver(raw, user="dave")
        t = self.tern("")
        rc = self.account_rc(t, "home", "pop3", "dave")
        t.write_rc(rc)
        t.out("sync", "home")
        self.assertEqual(self.dovecot.count(user="dave"), 0)
        t.out("folder", "create", "home/Work")
        t.out("folder", "create", "home/Archive/2024")
        for i, (raw, letters, kws) in enumerate(messages()):
            uid = self.uid_of(t, "home/INBOX", i + 1)
            if folder_of(i) != "INBOX":
                t.out("mv", "home/INBOX", uid, folder_of(i))
            uid = self.uid_of(t, "home/" + folder_of(i), i + 1)
            self.set_flags(t, "home", folder_of(i), uid, letters, kws)
        # Bodies a POP3 sync stores are in pack files.
        db = ternlib.store_db(t.data)
        self.assertEqual(db.execute(
            "SELECT count(*) FROM body WHERE pack_id IS NOT NULL")
            .fetchone()[0], 5)
        db.close()
        self.round_trip(t, "home", rc)

    def test_more_keywords_than_maildir_letters(self):
        t = self.tern("")
        t.out("ls", "local")
        md = os.path.join(t.dir, "md")
        os.makedirs(os.path.join(md, "new"))
        for i in (1, 2):
            with open(os.path.join(md, "new", "%d.host" % i), "wb") as f:
                f.write(ternlib.make_message(i))
        t.out("import", "local/K", md)
        uids = [line.split("\t")[0] for line in
                t.out("ls", "local/K").splitlines()]
        words = ["kw%02d" % k for k in range(30)]
        t.out("flag", "local/K", uids[0], *["+kw:" + w for w in words[:20]])
        t.out("flag", "local/K", uids[1], *["+kw:" + w for w in words[10:]])
        out = os.path.join(t.dir, "k")
        r = t.run("export", "local/K", "--maildir", out, check=True)
        self.assertIn(b"4 keywords of messages left out: a Maildir names "
                      b"26 keywords at most", r.stderr)
        with open(os.path.join(out, "dovecot-keywords")) as f:
            self.assertEqual(f.read(), "".join(
                "%d %s\n" % (k, w) for k, w in enumerate(words[:26])))
        # The mbox keeps every one.
        t.out("export", "local/K", "--mbox", out + ".mbox")
        dst = self.tern("")
        dst.out("import", "local/K", out + ".mbox")
        self.assertEqual(self.snapshot(dst, "local")["K"],
                         self.snapshot(t, "local")["K"])

    # -- IMAP: the import is APPENDed by the next sync -----------------

    def imap(self, user):
        c = imaplib.IMAP4("127.0.0.1", self.dovecot.imap_port)
        c.login(user, USERS[user])
        return c

    def server(self, user):
        """{folder: sorted [(bytes, flag letters, keywords)]} on the
        server, folder names as tern shows them."""
        c = self.imap(user)
        try:
            out = {}
            typ, boxes = c.list()
            for line in boxes:
                name = line.decode().rsplit(" ", 1)[1].strip('"')
                typ, n = c.select('"%s"' % name, readonly=True)
                got = []
                typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])") \
                    if int(n[0]) else ("OK", [])
                for item in data:
                    if not isinstance(item, tuple):
                        continue
                    flags = imaplib.ParseFlags(item[0])
                    letters = "".join(sorted(
                        IMAP_FLAGS[f.decode()] for f in flags
                        if f.decode() in IMAP_FLAGS))
                    kws = frozenset(
                        f.decode() for f in flags
                        if not f.startswith(b"\\") and
                        f.decode() not in IMAP_FLAGS)
                    got.append((item[1], letters, kws))
                out[name.replace(".", "/")] = sorted(got)
            return out
        finally:
            c.logout()

    def fill_imap(self, user):
        c = self.imap(user)
        try:
            for f in ("Work", "Archive", "Archive.2024"):
                c.create(f)
            for i, (raw, letters, kws) in enumerate(messages()):
                flags = [f for f, l in IMAP_FLAGS.items() if l in letters]
                c.append(folder_of(i).replace("/", "."),
                         "(%s)" % " ".join(flags + kws), None, raw)
        finally:
            c.logout()

    def queued_keywords(self, t):
        db = ternlib.store_db(t.data)
        try:
            return sorted(
                (bytes(raw), frozenset((kw or "").split())) for raw, kw in
                db.execute("SELECT r.raw, r.keywords FROM pending_raw r"
                           " JOIN pending p ON p.id = r.pending_id"
                           " WHERE p.op = 'append'"))
        finally:
            db.close()

    def test_imap(self):
        self.fill_imap("alice")
        want = self.server("alice")
        self.assertEqual(sum(len(v) for v in want.values()), 5)
        t = self.tern("")
        rc = self.account_rc(t, "work", "imap", "alice")
        t.write_rc(rc)
        t.out("sync", "work")
        mbox, maildir = self.export_both(t, "work")
        # The export read the bodies without marking them seen.
        self.assertEqual(self.server("alice"), want)
        # As the server gives them (it writes line ends as CRLF).
        exported = sorted((raw, kws) for v in want.values()
                          for raw, _, kws in v)
        self.assertEqual(sorted(kws for _, kws in exported),
                         sorted(frozenset(k) for _, _, k in messages()))
        for how, user in (("maildir", "bob"), ("mbox", "carol")):
            dst = self.tern("")
            dst.write_rc(self.account_rc(dst, "work", "imap", user))
            dst.out("sync", "work")  # an empty account
            if how == "mbox":
                out = self.import_mboxes(dst, "work", mbox)
                self.assertEqual(sum(int(re.match(r"(\d+) messages? queued",
                                                  o).group(1))
                                     for o in out), 5)
            else:
                out = dst.out("import", "work", maildir)
                self.assertIn("5 messages queued", out)
            # Bytes and keywords wait in the queue for the server.
            self.assertEqual(self.queued_keywords(dst), exported)
            dst.out("sync", "work")
            # The same bytes, flags and keywords on the server.
            self.assertEqual(self.server(user), want, how)
            self.assertEqual(self.queued_keywords(dst), [])
        # Dovecot's own Maildir++ tree, keyword letters and
        # dovecot-keywords files included, reads back as it was made
        # (Dovecot keeps a message's lines with LF ends in its files).
        other = self.tern("")
        other.out("import", "local", self.dovecot.maildir("alice"))
        bits = {l: 1 << k for k, l in enumerate(LETTERS)}
        made = {}
        for i, (raw, letters, kws) in enumerate(messages()):
            made.setdefault(folder_of(i), []).append(
                (raw.replace(b"\r\n", b"\n"),
                 sum(bits[l] for l in letters), frozenset(kws)))
        got = self.snapshot(other, "local")
        self.assertEqual({f: v for f, v in got.items() if v},
                         {f: sorted(v) for f, v in made.items()})
        # Into the account it came from: nothing is queued again.
        for out in self.import_mboxes(t, "work", mbox):
            self.assertRegex(out, r"^0 messages queued")
        out = t.out("import", "work", maildir)
        self.assertIn("0 messages queued", out)
        self.assertIn("5 already there", out)


if __name__ == "__main__":
    ternlib.main()
