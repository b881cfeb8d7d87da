"""IMAP on a server whose personal namespace has a prefix: Dovecot set up
as Courier lays mail out (every folder is INBOX.NAME, separator '.').
Folders made, renamed and deleted in tern, mail moved into them, the
copy of a sent message and a postponed draft all reach the server under
the prefix, and tern shows the folders without it."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from smtpd import Smtpd  # noqa: E402

USERS = {"n%d" % i: "pw%d" % i for i in range(10)}

EDITOR = r'''
import os, sys
path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    text = f.read()
head, _, body = text.partition("\n\n")
lines = [l for l in head.split("\n")
         if not l.startswith(("To:", "Subject:"))]
lines += ["To: bob@example.org", "Subject: " + os.environ["EDIT_SUBJECT"]]
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n\nUnfinished.\n" + body)
'''


class Namespace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS, namespace="INBOX.")
        cls.dovecot.start()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        cls = type(self)
        self.user = "n%d" % cls.next_user
        cls.next_user += 1
        self.t = ternlib.Tern()
        self.addCleanup(self.t.cleanup)
        self.extra = ""
        self.rc()
        # Maildir++ ".Old" is the server's INBOX.Old.
        self.dovecot.deliver(ternlib.make_message(1), user=self.user)
        self.dovecot.deliver(ternlib.make_message(2), user=self.user,
                             folder="Old")

    def rc(self, port=None):
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, extra=self.extra,
                                       port=port))

    def sync(self):
        r = self.t.run("sync", "acct")
        out = r.stdout.decode() + r.stderr.decode()
        self.assertEqual(r.returncode, 0, out)
        for word in ("dropped", "Invalid", "nonexistent namespace",
                     "kept queued"):
            self.assertNotIn(word, out)
        return out

    def tern_folders(self):
        return sorted(line.split("\t")[0] for line in
                      self.t.out("ls", "acct").splitlines())

    def server_folders(self):
        return self.dovecot.folders(self.user)

    def subjects(self, folder):
        return [x.split("\t")[4] for x in
                self.t.out("ls", "acct/" + folder).splitlines()]

    def test_folders_shown_without_the_prefix(self):
        self.sync()
        self.assertEqual(self.tern_folders(), ["INBOX", "Old"])
        self.assertEqual(self.subjects("Old"), ["Message 2"])

    def test_create_rename_delete_reach_the_server(self):
        self.sync()
        self.t.out("folder", "create", "acct/Projects")
        self.t.out("folder", "create", "acct/Archive/2024")
        self.sync()
        self.assertEqual(self.server_folders(),
                         ["INBOX", "INBOX.Archive", "INBOX.Archive.2024",
                          "INBOX.Old", "INBOX.Projects"])
        self.assertIn("Projects", self.tern_folders())
        self.assertIn("Archive/2024", self.tern_folders())
        # A second sync keeps them (the server listed them back).
        self.sync()
        self.assertIn("Projects", self.tern_folders())
        self.t.out("mv", "acct/INBOX", "1", "Projects")
        self.t.out("folder", "rename", "acct/Old", "Older")
        self.t.out("folder", "delete", "acct/Archive/2024")
        self.sync()
        # Maildir++ lists INBOX.Archive only while a child makes it.
        self.assertEqual(self.server_folders(),
                         ["INBOX", "INBOX.Older", "INBOX.Projects"])
        state = self.dovecot.state(self.user)
        self.assertEqual([m for m, _ in state["INBOX.Projects"]],
                         [ternlib_mid(1)])
        self.assertEqual([m for m, _ in state["INBOX.Older"]],
                         [ternlib_mid(2)])
        self.assertEqual(state["INBOX"], [])
        self.assertEqual(self.tern_folders(),
                         ["INBOX", "Older", "Projects"])
        self.assertEqual(self.subjects("Projects"), ["Message 1"])
        self.assertEqual(self.subjects("Older"), ["Message 2"])

    def test_offline_create_then_sync(self):
        self.sync()
        self.rc(port=1)
        self.t.out("folder", "create", "acct/Later")
        self.rc()
        self.sync()
        self.assertIn("INBOX.Later", self.server_folders())
        self.sync()
        self.assertIn("Later", self.tern_folders())

    def smtpd(self):
        s = Smtpd(user=self.user, password=USERS[self.user],
                  tls="starttls", cert=self.dovecot.cafile,
                  key=os.path.join(self.dovecot.dir, "key.pem"))
        s.start()
        self.addCleanup(s.cleanup)
        return s

    def test_sent_copy_goes_under_the_prefix(self):
        s = self.smtpd()
        self.extra = ("    smtp smtp://127.0.0.1:%d\n"
                      "    from alice@example.net\n" % s.port)
        self.rc()
        self.sync()
        r = self.t.run("send", input=b"From: alice@example.net\n"
                       b"To: bob@example.org\nSubject: ns sent\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(s.messages()), 1)
        self.sync()
        state = self.dovecot.state(self.user)
        self.assertNotIn("Sent", state)
        self.assertIn("INBOX.Sent", state, state)
        self.assertEqual(len(state["INBOX.Sent"]), 1)
        self.assertIn("\\Seen", state["INBOX.Sent"][0][1])
        self.assertIn("Sent", self.tern_folders())
        self.assertEqual(self.subjects("Sent"), ["ns sent"])

    def test_postponed_draft_goes_under_the_prefix(self):
        s = self.smtpd()
        self.extra = ("    smtp smtp://127.0.0.1:%d\n"
                      "    from alice@example.net\n" % s.port)
        self.rc()
        self.sync()
        editor = os.path.join(self.t.dir, "edit.py")
        with open(editor, "w") as f:
            f.write(EDITOR)
        cmd = "%s %s" % (sys.executable, editor)
        r = self.t.run("compose", "--postpone", env={
            "EDITOR": cmd, "VISUAL": cmd, "EDIT_SUBJECT": "ns draft"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.messages(), [])
        state = self.dovecot.state(self.user)
        self.assertNotIn("Drafts", state)
        self.assertIn("INBOX.Drafts", state, state)
        self.assertEqual(len(state["INBOX.Drafts"]), 1)
        self.assertIn("\\Draft", state["INBOX.Drafts"][0][1])
        self.sync()
        self.assertIn("Drafts", self.tern_folders())
        self.assertEqual(self.subjects("Drafts"), ["ns draft"])
        # No copy kept in the local folders: none, or an empty one.
        r = self.t.run("ls", "local/Drafts")
        self.assertTrue(r.returncode != 0 and b"no folder" in r.stderr
                        or r.stdout == b"", r)


def ternlib_mid(n):
    return "<msg%d.%d@example.org>" % (n, os.getpid())


if __name__ == "__main__":
    ternlib.main()
