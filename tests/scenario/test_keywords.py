"""Keywords both ways: set from tern (cli and client) offline and
replayed on the server with UID STORE, set and removed by another
client and seen by tern, refused when they are not IMAP atoms, and
dropped with a note where the server's PERMANENTFLAGS cannot keep them
(a folder whose ACL forbids writing flags)."""

import imaplib
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ternlib  # noqa: E402
from test_ui import UiCase  # noqa: E402

USERS = {"k%d" % i: "pw%d" % i for i in range(8)}
ACL = "mail_plugins = $mail_plugins acl\nplugin {\n  acl = vfile\n}\n"


class Keywords(UiCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS, extra_conf=ACL)
        cls.dovecot.start()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        super().setUp()
        cls = type(self)
        self.user = "k%d" % cls.next_user
        cls.next_user += 1
        self.rc()
        self.dovecot.deliver(ternlib.make_message(1, body="One.\n"),
                             user=self.user)

    def rc(self, offline=False):
        text = self.t.account(self.dovecot, name="acct", user=self.user)
        if offline:
            port = ternlib.free_ports(1)[0]
            text = text.replace("port %d\n" % self.dovecot.imaps_port,
                                "port %d\n" % port)
        self.t.write_rc(text)

    def imap(self, folder="INBOX"):
        c = self.dovecot.imap(self.user)
        c.select(folder)
        return c

    def server_flags(self, folder="INBOX"):
        c = self.imap(folder)
        try:
            typ, data = c.fetch("1", "(FLAGS)")
            return set(imaplib.ParseFlags(data[0]))
        finally:
            c.logout()

    def uid(self, folder="INBOX"):
        return self.t.out("ls", "acct/" + folder).split("\t")[0]

    def keywords(self, folder="INBOX"):
        """The Keywords: line tern cat shows, as a set."""
        out = self.t.out("cat", "acct/" + folder, self.uid(folder))
        for line in out.splitlines():
            if line.startswith("Keywords: "):
                return set(line[len("Keywords: "):].split())
            if line == "":
                break
        return set()

    def test_set_offline_then_sync(self):
        self.t.out("sync", "acct")
        uid = self.uid()
        self.t.out("cat", "acct/INBOX", uid)  # the body, while online
        self.rc(offline=True)
        self.t.out("flag", "acct/INBOX", uid, "+kw:$Label1", "+kw:work",
                   "+F")
        # In the store at once, shown by cat.
        self.assertEqual(self.keywords(), {"$Label1", "work"})
        self.assertIn("F", self.t.out("ls", "acct/INBOX").split("\t")[1])
        self.assertEqual(self.queued(), 1)
        self.assertNotIn(b"$Label1", b" ".join(self.server_flags()))
        self.rc()
        self.t.out("sync", "acct")
        self.assertEqual(self.queued(), 0)
        flags = self.server_flags()
        self.assertTrue({b"$Label1", b"work", b"\\Flagged"} <= flags, flags)
        # Removing one, offline again.
        self.rc(offline=True)
        self.t.out("flag", "acct/INBOX", uid, "-kw:work")
        self.assertEqual(self.keywords(), {"$Label1"})
        self.rc()
        self.t.out("sync", "acct")
        flags = self.server_flags()
        self.assertIn(b"$Label1", flags)
        self.assertNotIn(b"work", flags)
        self.assertEqual(self.keywords(), {"$Label1"})

    def test_another_client_sets_and_removes(self):
        c = self.imap()
        c.store("1", "+FLAGS", "(project $Label2)")
        c.logout()
        self.t.out("sync", "acct")
        self.assertEqual(self.keywords(), {"project", "$Label2"})
        c = self.imap()
        c.store("1", "-FLAGS", "(project)")
        c.store("1", "+FLAGS", "(later)")
        c.logout()
        self.t.out("sync", "acct")
        self.assertEqual(self.keywords(), {"$Label2", "later"})

    def test_invalid_keywords_are_refused(self):
        self.t.out("sync", "acct")
        uid = self.uid()
        bad = ["a b", "(x", "x)", "{x", "x}", "50%", "a*", 'say"', "x\\y",
               "x]", "\\Seen", "bell\x07", "caf\u00e9", ""]
        for kw in bad:
            for sign in "+-":
                r = self.t.run("flag", "acct/INBOX", uid, sign + "kw:" + kw)
                self.assertEqual(r.returncode, 2, (kw, r.stderr))
                self.assertTrue(r.stderr.startswith(b"tern: "), r.stderr)
                self.assertNotIn(b"\x07", r.stderr)
        self.assertEqual(self.queued(), 0)
        self.assertEqual(self.keywords(), set())

    def test_folder_that_cannot_keep_keywords(self):
        for n in (2, 3):
            self.dovecot.deliver(ternlib.make_message(n), user=self.user,
                                 folder="Locked")
        acl = os.path.join(self.dovecot.maildir(user=self.user,
                                                folder="Locked"),
                           "dovecot-acl")
        with open(acl, "w") as f:
            f.write("owner lrsiptekxa\n")  # no w: no flags but \Seen, T
        self.t.out("sync", "acct")
        uids = [line.split("\t")[0] for line in
                self.t.out("ls", "acct/Locked").splitlines()]
        self.assertEqual(len(uids), 2)
        self.t.out("cat", "acct/Locked", uids[0])
        self.t.out("flag", "acct/Locked", *uids, "+kw:keepme", "+T")
        self.assertEqual(self.keywords("Locked"), {"keepme"})
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The two changes went as one, and are said once.
        self.assertEqual(r.stderr.count(b"keepme"), 1, r.stderr)
        self.assertIn(b"tern: acct: keyword keepme dropped: 2 messages of"
                      b" Locked cannot keep it", r.stderr)
        # Dropped, not retried at every sync; the store agrees with the
        # server again, for each; the flag the server keeps went through.
        self.assertEqual(self.queued(), 0)
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            kws = db.execute("SELECT m.keywords FROM message m JOIN folder"
                             " f ON f.id = m.folder_id WHERE f.name ="
                             " 'Locked'").fetchall()
        finally:
            db.close()
        self.assertEqual(len(kws), 2)
        for (kw,) in kws:
            self.assertNotIn("keepme", kw or "")
        c = self.imap("Locked")
        try:
            typ, data = c.fetch("1:*", "(FLAGS)")
        finally:
            c.logout()
        self.assertEqual(len(data), 2)
        for item in data:
            self.assertIn(b"\\Deleted", item)
        r = self.t.run("sync", "acct")
        self.assertNotIn(b"keepme", r.stdout + r.stderr)

    def test_client_key_sets_keywords(self):
        s = self.start()
        s.wait("Message 1", timeout=20)
        s.keys("y")
        s.wait("Keywords (+add -remove):")
        s.literal("urgent +$Label3")
        s.keys("Enter")
        s.wait("Keywords changed")
        end = time.time() + 20
        while time.time() < end:
            flags = self.server_flags()
            if b"urgent" in flags and b"$Label3" in flags:
                break
            time.sleep(0.1)
        self.assertTrue({b"urgent", b"$Label3"} <= flags, flags)
        # The pager shows them; y there removes one.
        s.keys("Enter")
        s.wait("Keywords: urgent $Label3", timeout=20)
        s.keys("y")
        s.wait("Keywords [urgent $Label3] (+add -remove):")
        s.literal(" -urgent")  # (a leading - would be a tmux option)
        s.keys("Enter")
        s.wait("Keywords: $Label3")
        end = time.time() + 20
        while b"urgent" in self.server_flags() and time.time() < end:
            time.sleep(0.1)
        self.assertNotIn(b"urgent", self.server_flags())
        # A keyword that is no atom is refused on the message line.
        s.keys("y")
        s.wait("Keywords [$Label3]")
        s.literal("bad(word")
        s.keys("Enter")
        s.wait("Keywords not changed")
        # The help lists the key under its name.
        s.keys("q", "?")
        s.wait("display-message")
        for _ in range(8):
            if "edit-keywords" in s.text():
                break
            s.keys("Space")
            time.sleep(0.2)
        self.assertRegex(s.text(), r"y +edit-keywords +add or remove")
        s.keys("q")
        s.keys("q")
        s.wait("EXIT=0")


if __name__ == "__main__":
    ternlib.main()
