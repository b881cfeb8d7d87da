"""Postponing from the send screen: the draft is kept in the store at
once and the account's worker (or tern sync) uploads it to the server's
Drafts, exactly once, whatever happens in between."""

import os
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ternlib  # noqa: E402
from test_ui import Screen, UiCase  # noqa: E402

USERS = {"d%d" % i: "pw%d" % i for i in range(8)}
DRAFT = ("From: Alice <alice@example.net>\nTo: dave@example.com\n"
         "Subject: %s\n\nUnfinished.\n")


class Postpone(UiCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS)
        cls.dovecot.start()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        super().setUp()
        cls = type(self)
        self.user = "d%d" % cls.next_user
        cls.next_user += 1
        # Nothing listens on the SMTP port: nothing is sent here.
        self.smtp_port = ternlib.free_ports(1)[0]
        self.rc()
        self.dovecot.deliver(ternlib.make_message(1), user=self.user)

    def tearDown(self):
        super().tearDown()
        if not self.dovecot.started:
            self.dovecot.start()

    def rc(self, port=None):
        text = self.t.account(
            self.dovecot, name="acct", user=self.user,
            extra="    smtp smtp://127.0.0.1:%d\n"
                  "    from \"Alice <alice@example.net>\"\n"
                  % self.smtp_port)
        if port is not None:
            text = text.replace("port %d\n" % self.dovecot.imaps_port,
                                "port %d\n" % port)
        self.t.write_rc(text)

    def editor(self, subject):
        src = os.path.join(self.t.dir, "draft.txt")
        with open(src, "w") as f:
            f.write(DRAFT % subject)
        path = os.path.join(self.t.dir, "editor")
        with open(path, "w") as f:
            f.write("#!/bin/sh\ncat '%s' > \"$1\"\n" % src)
        os.chmod(path, 0o755)
        return {"EDITOR": path, "VISUAL": path}

    def postpone(self, subject):
        """Start the client, write a message and press P on the send
        screen; returns the screen and how long P took."""
        s = self.start(env=self.editor(subject))
        s.wait("acct/INBOX", timeout=20)
        s.keys("m")
        s.wait("y:Send")
        t0 = time.time()
        s.keys("P")
        s.wait("y:Send", absent=True)
        took = time.time() - t0
        # The message line may already show what the worker did.
        self.assertIn("postponed for acct/Drafts (queued)",
                      self.log_events())
        return s, took

    def quit(self, s):
        s.keys("q")
        s.wait("not on the server yet")
        s.keys("y")
        s.wait("EXIT=0")

    def imap(self):
        return self.dovecot.imap(self.user, tls=True)

    def drafts(self, subject):
        """The flags of each message in the server's Drafts with this
        subject."""
        c = self.imap()
        try:
            typ, _ = c.select("Drafts", readonly=True)
            if typ != "OK":
                return []
            typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS"
                                " (SUBJECT)])")
            return [item[0].decode() for item in data
                    if isinstance(item, tuple) and
                    ("Subject: %s" % subject).encode() in item[1]]
        finally:
            c.logout()

    def queued(self):
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            return db.execute("SELECT count(*) FROM pending WHERE"
                              " op = 'draft'").fetchone()[0]
        finally:
            db.close()

    def until(self, pred, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        self.fail("condition not met in %ss" % timeout)

    def test_postpone_uploads_through_the_worker(self):
        s, _ = self.postpone("Through the worker")
        # The log, not the screen: the sync's next note may replace it on
        # the message line before the screen is read.
        self.wait_log("draft uploaded to acct/Drafts", timeout=20)
        flags = self.drafts("Through the worker")
        self.assertEqual(len(flags), 1, flags)
        self.assertIn("\\Draft", flags[0])
        self.assertIn("\\Seen", flags[0])
        self.assertEqual(self.queued(), 0)
        # Nothing waits: quitting asks nothing.
        s.keys("q")
        s.wait("EXIT=0")
        self.assertEqual(len(self.drafts("Through the worker")), 1)

    def test_postpone_does_not_wait_for_a_silent_server(self):
        # A server that accepts connections and never says a word: P
        # must not wait for it.
        tarpit = socket.socket()
        tarpit.bind(("127.0.0.1", 0))
        tarpit.listen(16)
        self.addCleanup(tarpit.close)
        self.rc(port=tarpit.getsockname()[1])
        s, took = self.postpone("Silent server")
        self.assertLess(took, 3, "P waited %.1fs" % took)
        self.assertEqual(self.queued(), 1)
        # Quit at once: the draft stays in the store...
        self.quit(s)
        self.assertEqual(self.queued(), 1)
        # ...and the next run uploads it.
        self.rc()
        s = self.start()
        # The log, not the screen (the sync's next note may replace it).
        self.wait_log("draft uploaded to acct/Drafts", timeout=30)
        self.assertEqual(len(self.drafts("Silent server")), 1)
        self.assertEqual(self.queued(), 0)
        s.keys("q")
        s.wait("EXIT=0")
        self.assertEqual(len(self.drafts("Silent server")), 1)

    def test_server_stopped_then_tern_sync_uploads_once(self):
        self.t.out("sync", "acct")
        self.dovecot.stop()
        s, _ = self.postpone("While stopped")
        # Said on the message line (then the sync's own error follows).
        self.until(lambda: "error acct: draft not uploaded yet (kept): "
                   in self.log_events())
        self.quit(s)
        self.assertEqual(self.queued(), 1)
        # Still down: tern sync keeps it and says so.
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"draft kept for later", r.stderr)
        self.assertEqual(self.queued(), 1)
        self.dovecot.start()
        out = self.t.out("sync", "acct")
        self.assertIn("acct: draft uploaded to acct/Drafts", out)
        self.assertEqual(len(self.drafts("While stopped")), 1)
        self.assertEqual(self.queued(), 0)
        out = self.t.out("sync", "acct")
        self.assertNotIn("draft uploaded", out)
        self.assertEqual(len(self.drafts("While stopped")), 1)
        # The next sync lists it in the store's Drafts.
        self.assertIn("While stopped", self.t.out("ls", "acct/Drafts"))

    def test_crash_after_the_append_stores_it_once(self):
        self.dovecot.stop()
        s, _ = self.postpone("Crash after append")
        self.quit(s)
        self.dovecot.start()
        # Killed between the server's OK and the local delete.
        r = self.t.run("sync", "acct",
                       env={"TERN_FAULT": "draft-after-append:1"})
        self.assertEqual(r.returncode, -9, r.stderr)
        self.assertEqual(len(self.drafts("Crash after append")), 1)
        self.assertEqual(self.queued(), 1)
        # The retry finds it there and does not store it again.
        out = self.t.out("sync", "acct")
        self.assertIn("draft uploaded to acct/Drafts", out)
        self.assertEqual(len(self.drafts("Crash after append")), 1)
        self.assertEqual(self.queued(), 0)



    def test_recall_a_server_draft_and_postpone_it_again(self):
        for n, subject in ((5, "First draft"), (6, "Second draft")):
            self.dovecot.deliver(ternlib.make_message(
                n, subject=subject, sender="Alice <alice@example.net>",
                to="dave@example.com", body="Half of %s.\n" % subject),
                user=self.user, folder="Drafts", flags="DS")
        env = self.editor("ignored")
        # This editor adds a line to what it is given.
        with open(env["EDITOR"], "w") as f:
            f.write("#!/bin/sh\nprintf 'The other half.\\n' >> \"$1\"\n")
        s = self.start(env=env)
        s.wait("acct/INBOX", timeout=20)
        self.wait_log("2 new messages in acct/Drafts", timeout=20)
        # Two drafts: a list to pick from, the newest selected.
        s.keys("P")
        s.wait("recall from acct/Drafts (2 drafts)", timeout=20)
        s.keys("Enter")
        t = self.until(lambda: ("y:Send" in s.text() or
                                "Downloading the draft" in s.text()) and
                       s.text())
        if "y:Send" not in t:
            # Its body comes from the server first; then again.
            self.until(lambda: self.draft_body_stored("Second draft"))
            s.keys("P")
            s.wait("recall from acct/Drafts (2 drafts)", timeout=20)
            s.keys("Enter")
            s.wait("y:Send", timeout=20)
        s.wait("Second draft")
        s.keys("P")
        s.wait("y:Send", absent=True)
        self.wait_log("draft uploaded to acct/Drafts", timeout=20)
        # Once in Drafts, with the new text; the first left alone.
        self.until(lambda: len(self.drafts("Second draft")) == 1 and
                   self.server_drafts_text("Second draft"))
        text = self.server_drafts_text("Second draft")
        self.assertIn("Half of Second draft.", text)
        self.assertIn("The other half.", text)
        self.assertEqual(len(self.drafts("First draft")), 1)

    def draft_body_stored(self, subject):
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            row = db.execute("SELECT m.has_body FROM message m JOIN folder"
                             " f ON f.id = m.folder_id WHERE f.name ="
                             " 'Drafts' AND m.subject = ?",
                             (subject,)).fetchone()
            return row is not None and row[0]
        finally:
            db.close()

    def server_drafts_text(self, subject):
        """The text of the one undeleted draft with this subject, or
        None while there is not exactly one."""
        c = self.imap()
        try:
            c.select("Drafts", readonly=True)
            typ, data = c.search(None, "UNDELETED", "SUBJECT",
                                 '"%s"' % subject)
            nums = data[0].split()
            if len(nums) != 1:
                return None
            typ, data = c.fetch(nums[0], "(BODY.PEEK[])")
            return data[0][1].decode(errors="replace")
        finally:
            c.logout()


class RefusedDraft(UiCase):
    """A draft the server refuses (over quota) stays queued and does not
    hold back the drafts after it."""

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users={"q0": "pwq"}, quota="60K")
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def test_a_refused_draft_does_not_block_the_next(self):
        self.t.write_rc(self.t.account(
            self.dovecot, name="acct", user="q0",
            extra="    smtp smtp://127.0.0.1:%d\n"
                  "    from \"Alice <alice@example.net>\"\n"
                  % ternlib.free_ports(1)[0]))
        self.dovecot.deliver(ternlib.make_message(1), user="q0")
        # The editor writes a draft over the quota first, then a small one.
        big = DRAFT.replace("Unfinished.", "x" * 76 + "\n") % "Too big"
        big += ("y" * 76 + "\n") * 2000
        texts = [big, DRAFT % "Small one"]
        for i, text in enumerate(texts):
            with open(os.path.join(self.t.dir, "draft%d.txt" % i), "w") as f:
                f.write(text)
        count = os.path.join(self.t.dir, "count")
        editor = os.path.join(self.t.dir, "editor")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nn=$(cat '%s' 2>/dev/null || echo 0)\n"
                    "cat '%s/draft'$n.txt > \"$1\"\necho $((n + 1)) > '%s'\n"
                    % (count, self.t.dir, count))
        os.chmod(editor, 0o755)
        s = self.start(env={"EDITOR": editor, "VISUAL": editor})
        s.wait("acct/INBOX", timeout=20)
        for want in ("draft not uploaded yet", "draft uploaded to"):
            s.keys("m")
            s.wait("y:Send")
            s.keys("P")
            s.wait("y:Send", absent=True)
            self.wait_log(want, timeout=20)
        c = self.dovecot.imap("q0", tls=True)
        try:
            c.select("Drafts", readonly=True)
            typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS"
                                " (SUBJECT)])")
            subjects = [item[1].decode().strip() for item in data
                        if isinstance(item, tuple)]
        finally:
            c.logout()
        self.assertEqual(subjects, ["Subject: Small one"])
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            self.assertEqual(db.execute(
                "SELECT count(*) FROM pending WHERE op = 'draft'")
                .fetchone()[0], 1)
        finally:
            db.close()
        s.keys("q")
        s.wait("not on the server yet")
        s.keys("y")
        s.wait("EXIT=0")


if __name__ == "__main__":
    ternlib.main()
