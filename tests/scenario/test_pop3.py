"""POP3 accounts against the real Dovecot: each policy (keep no, keep yes,
keep_days, delete_remote), offline reading, kill -9 at each step of a sync
followed by a clean sync, STARTTLS and implicit TLS, a wrong password; and
against a scripted fake server, what Dovecot will not do (duplicate UIDLs,
ignored DELE, no UIDL, no PIPELINING, oversized lines and messages, a
connection dropped in the middle of RETR)."""

import fcntl
import os
import poplib
import pty
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from fakeserver import FakePOP3  # noqa: E402


def db(t):
    c = ternlib.store_db(t.data)
    c.execute("PRAGMA foreign_keys = ON")
    return c


def stored(t, account):
    """The raw bytes of every message of an account, in store order."""
    with db(t) as c:
        return [bytes(r[0]) for r in c.execute(
            "SELECT " + ternlib.BODY + " FROM body b"
            " JOIN message m ON m.id = b.message_id"
            " JOIN folder f ON f.id = m.folder_id"
            " JOIN account a ON a.id = f.account_id"
            " WHERE a.name = ? ORDER BY m.id", (account,))]


def msgids(raws):
    return sorted(re.search(rb"Message-ID: (\S+)", r).group(1) for r in raws)


def sync_on_a_terminal(t, account):
    """tern sync ACCOUNT with stderr on a terminal (progress shown):
    (status, stdout, stderr as the terminal shows it, a list of lines)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([ternlib.TERN, "sync", account], env=t.env(),
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            d = os.read(master, 4096)
        except OSError:
            break
        if not d:
            break
        err += d
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    return p.wait(), out, screen(err.decode(errors="replace"))


def screen(text):
    """The lines a terminal shows for text: CR returns to the start of
    the line, ESC [ K erases to its end, the pty's CR LF ends it."""
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line, col = "", 0
        for part in re.split(r"(\r|\x1b\[K)", raw):
            if part == "\r":
                col = 0
            elif part == "\x1b[K":
                line = line[:col]
            else:
                line = line[:col] + part + line[col + len(part):]
                col += len(part)
        lines.append(line)
    return [l for l in lines if l]


class Pop3Dovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dc = ternlib.Dovecot(users={"alice": "secret", "bob": "pw b",
                                        "carol": "c", "dave": "d",
                                        "erin": "e", "frank": "f",
                                        "grace": "g", "heidi": "h",
                                        "ivan": "i"})
        cls.dc.start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.dc.cleanup()

    def setUp(self):
        self.t = ternlib.Tern()

    def tearDown(self):
        self.t.cleanup()

    def deliver(self, count, user="alice"):
        raws = []
        for _ in range(count):
            Pop3Dovecot.n += 1
            raw = ternlib.make_message(
                Pop3Dovecot.n, body="Body %d\r\n.leading dot\r\n..two\r\n"
                % Pop3Dovecot.n)
            self.dc.deliver(raw, user=user)
            raws.append(raw)
        return raws

    def sync(self, name="home", env=None):
        return self.t.run("sync", name, env=env)

    def sync_ok(self, name="home"):
        r = self.sync(name)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip()

    def test_keep_no(self):
        raws = self.deliver(5, "bob")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="bob"))
        self.assertEqual(self.sync_ok(), "home: 5 new, 5 removed from server")
        self.assertEqual(self.dc.count("bob"), 0)
        # The exact bytes, dot-unstuffed, in server order.
        self.assertEqual(stored(self.t, "home"), raws)
        ls = self.t.out("ls", "home/INBOX").splitlines()
        self.assertEqual(len(ls), 5)
        self.assertEqual(self.sync_ok(), "home: 0 new, 0 removed from server")
        self.assertEqual(len(stored(self.t, "home")), 5)

    def test_keep_yes_and_keep_days(self):
        raws = self.deliver(3, "carol")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="carol",
                                       extra="    keep yes\n"
                                             "    keep_days 2\n"))
        self.assertEqual(self.sync_ok(), "home: 3 new, 0 removed from server")
        self.assertEqual(self.dc.count("carol"), 3)
        self.assertEqual(self.sync_ok(), "home: 0 new, 0 removed from server")
        raws += self.deliver(1, "carol")
        self.assertEqual(self.sync_ok(), "home: 1 new, 0 removed from server")
        self.assertEqual(stored(self.t, "home"), raws)
        # Three days ago for the first two downloads: past keep_days.
        with db(self.t) as c:
            old = int(time.time()) - 3 * 86400
            rows = c.execute("SELECT uidl FROM pop3_uidl ORDER BY first_seen,"
                             " uidl LIMIT 2").fetchall()
            for (u,) in rows:
                c.execute("UPDATE pop3_uidl SET first_seen = ? WHERE uidl = ?",
                          (old, u))
                c.execute("UPDATE message SET fetched_at = ?"
                          " WHERE pop3_uidl = ?", (old, u))
        self.assertEqual(self.sync_ok(), "home: 0 new, 2 removed from server")
        self.assertEqual(self.dc.count("carol"), 2)
        # The local copies stay.
        self.assertEqual(len(stored(self.t, "home")), 4)
        self.assertEqual(self.sync_ok(), "home: 0 new, 0 removed from server")

    def test_delete_remote(self):
        self.deliver(3, "dave")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="dave",
                                       extra="    keep yes\n"
                                             "    delete_remote yes\n"))
        self.assertEqual(self.sync_ok(), "home: 3 new, 0 removed from server")
        uid = self.t.out("ls", "home/INBOX").splitlines()[1].split("\t")[0]
        self.t.out("flag", "home/INBOX", uid, "+T")
        self.t.out("purge", "home/INBOX")
        self.assertEqual(len(stored(self.t, "home")), 2)
        self.assertEqual(self.dc.count("dave"), 3)
        self.assertEqual(self.sync_ok(), "home: 0 new, 1 removed from server")
        self.assertEqual(self.dc.count("dave"), 2)
        # Without delete_remote a local delete stays local, and the
        # message is not downloaded again.
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="dave",
                                       extra="    keep yes\n"))
        uid = self.t.out("ls", "home/INBOX").splitlines()[0].split("\t")[0]
        self.t.out("flag", "home/INBOX", uid, "+T")
        self.t.out("purge", "home/INBOX")
        self.assertEqual(self.sync_ok(), "home: 0 new, 0 removed from server")
        self.assertEqual(self.dc.count("dave"), 2)
        self.assertEqual(len(stored(self.t, "home")), 1)

    def test_bodies_in_a_pack_and_their_space_given_back(self):
        # A sync writes the bodies once, to a pack file beside the
        # database; what is deleted there is punched out of it.
        raws = [ternlib.make_message(900 + i, body="x" * 200000 + "\r\n")
                for i in range(3)]
        for raw in raws:
            self.dc.deliver(raw, user="heidi")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="heidi"))
        self.assertEqual(self.sync_ok(), "home: 3 new, 3 removed from server")
        pack = os.path.join(self.t.data, "tern", "packs", "1")
        # Dovecot's POP3 gives the message as stored, line ends CRLF.
        self.assertEqual(os.path.getsize(pack), sum(len(r) for r in raws))
        with db(self.t) as c:
            self.assertEqual(c.execute(
                "SELECT count(*) FROM body WHERE pack_id = 1").fetchone()[0],
                3)
        self.assertEqual(stored(self.t, "home"), raws)
        rows = self.t.out("ls", "home/INBOX").splitlines()
        uids = [r.split("\t")[0] for r in rows]
        got = subprocess.run([ternlib.TERN, "cat", "--raw", "home/INBOX",
                              uids[0]], stdout=subprocess.PIPE,
                             env=self.t.env(), check=True).stdout
        self.assertIn(got, raws)
        # The index read the bodies from the pack (search is by words:
        # the start of the one long word).
        self.assertEqual(self.t.out("search", "home/INBOX", "xxxxxxxxxx*")
                         .count("\n"), 3)
        used = os.stat(pack).st_blocks
        for uid in uids[:2]:
            self.t.out("flag", "home/INBOX", uid, "+T")
        self.t.out("purge", "home/INBOX")
        with db(self.t) as c:
            self.assertEqual(c.execute(
                "SELECT count(*) FROM pack_free").fetchone()[0], 0)
        self.assertLess(os.stat(pack).st_blocks, used - 2 * 200000 // 512 // 2)
        self.assertEqual(len(stored(self.t, "home")), 1)
        self.assertIn(stored(self.t, "home")[0], raws)

    def test_power_cut_before_each_dele_loses_nothing(self):
        # A power cut keeps only what was synced. The powercut library
        # copies each store file as it is synced, and at every send with
        # a DELE keeps that copy: what a cut at that instant would leave.
        # Each must hold, whole, every message deleted on the server by
        # then. 601 messages: three commit batches, the first DELEs out
        # while later messages still arrive, and one body big enough to go
        # straight to the pack file.
        raws = [ternlib.make_message(1000 + i, body=("line %d\r\n" % i) * 400)
                for i in range(600)]
        raws.append(ternlib.make_message(1600,
                                         body=("y" * 70 + "\r\n") * 20000))
        for raw in raws:
            self.dc.deliver(raw, user="ivan")
        pop = poplib.POP3("127.0.0.1", self.dc.pop3_port)
        pop.user("ivan")
        pop.pass_("i")
        uidl = {}
        for line in pop.uidl()[1]:
            n, u = line.split()
            uidl[int(n)] = u.decode()
        by_uidl = {}
        for n, u in uidl.items():
            lines = pop.retr(n)[1]
            by_uidl[u] = b"\r\n".join(lines) + b"\r\n"
        pop.quit()
        self.assertEqual(sorted(by_uidl.values()), sorted(raws))

        # Plaintext: the DELEs are seen as tern sends them.
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", tls="off",
                                       user="ivan"))
        out = os.path.join(self.t.dir, "cuts")
        env = self.t.env()
        env["LD_PRELOAD"] = os.environ["TERN_POWERCUT"]
        env["POWERCUT_WATCH"] = os.path.join(self.t.data, "tern")
        env["POWERCUT_OUT"] = out
        # The library comes before the sanitizer's runtime, when there
        # is one.
        env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                               ":verify_asan_link_order=0").lstrip(":")
        r = subprocess.run([ternlib.TERN, "sync", "home"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        ternlib.check_sanitizers("tern sync", r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().strip(),
                         "home: 601 new, 601 removed from server")
        self.assertEqual(self.dc.count("ivan"), 0)

        cuts = sorted((int(n[4:]) for n in os.listdir(out)
                       if n.startswith("cut-") and n[4:].isdigit()))
        self.assertGreater(len(cuts), 1)
        deleted = set()
        sizes = set()
        for k in cuts:
            cut = os.path.join(out, "cut-%d" % k)
            with open(cut + ".dele") as f:
                deleted |= {uidl[int(x)] for x in f.read().split()}
            data = os.path.join(self.t.dir, "after-cut-%d" % k)
            shutil.copytree(cut, os.path.join(data, "tern"))
            c = ternlib.store_db(data)
            try:
                rows = c.execute(
                    "SELECT m.pop3_uidl, " + ternlib.BODY + " FROM message m"
                    " JOIN body b ON b.message_id = m.id").fetchall()
            finally:
                c.close()
            sizes.add(len(rows))
            have = {}
            for u, body in rows:
                self.assertNotIn(u, have, "stored twice, cut %d" % k)
                have[u] = None if body is None else bytes(body)
            for u in deleted:
                self.assertIn(u, have, "deleted but lost in cut %d" % k)
                self.assertEqual(have[u], by_uidl[u], "cut %d" % k)
        self.assertEqual(len(deleted), 601)
        # Some cut came before the last commit: the test saw a sync at work.
        self.assertGreater(len(sizes), 1, sizes)
        self.assertEqual(sorted(stored(self.t, "home")), sorted(raws))

    def test_starttls_and_wrong_password(self):
        raws = self.deliver(2, "erin")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", tls="starttls",
                                       user="erin"))
        self.assertEqual(self.sync_ok(), "home: 2 new, 2 removed from server")
        self.assertEqual(stored(self.t, "home"), raws)
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="erin",
                                       password="wrong"))
        r = self.sync()
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"login failed for erin", r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)

    def test_kill9_at_each_step(self):
        # 300 messages: more than one commit batch (256), so every point
        # is reached with work both before and after it.
        self.t.write_rc(self.t.account(self.dc, "home", "pop3",
                                       user="frank"))
        points = ["pop3-retr:3", "pop3-retr:270", "pop3-after-commit:1",
                  "pop3-after-commit:2", "pop3-after-dele:1",
                  "pop3-after-dele:300"]
        want = []
        for point in points:
            want += self.deliver(300, "frank")
            r = self.sync(env={"TERN_FAULT": point})
            self.assertEqual(r.returncode, -9, (point, r.stderr))
            r = self.sync()
            self.assertEqual(r.returncode, 0, (point, r.stderr))
            got = stored(self.t, "home")
            self.assertEqual(len(got), len(want), point)
            self.assertEqual(msgids(got), msgids(want), point)
            self.assertEqual(self.dc.count("frank"), 0, point)

    def test_progress_on_a_terminal(self):
        self.deliver(40, "alice")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3"))
        master, slave = pty.openpty()
        p = subprocess.Popen([ternlib.TERN, "sync", "home"],
                             env=self.t.env(), stdout=subprocess.PIPE,
                             stderr=slave)
        os.close(slave)
        err = b""
        while True:
            try:
                d = os.read(master, 4096)
            except OSError:
                break
            if not d:
                break
            err += d
        os.close(master)
        out = p.stdout.read()
        p.stdout.close()
        self.assertEqual(p.wait(), 0, err)
        self.assertEqual(out, b"home: 40 new, 40 removed from server\n")
        self.assertIn(b"home/INBOX: downloading 40/40, ", err)
        self.assertIn(b"MiB/s", err)

    def test_three_syncs_at_once(self):
        # One sync of an account at a time: the others wait, say so, and
        # find nothing left to do; every message is stored once.
        raws = self.deliver(300, "ivan")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="ivan"))
        runs = self.t.syncs_at_once("home")
        for status, out, err in runs:
            self.assertEqual(status, 0, err)
        self.assertEqual(sorted(out for _, out, _ in runs),
                         ["home: 0 new, 0 removed from server\n"] * 2 +
                         ["home: 300 new, 300 removed from server\n"])
        self.assertEqual(runs[0][2], "")
        waited = [err for _, _, err in runs if err]
        self.assertGreaterEqual(len(waited), 1)
        for err in waited:
            self.assertEqual(err, "tern: home: waiting for another sync of "
                                  "this account to finish\n")
        self.assertEqual(msgids(stored(self.t, "home")), msgids(raws))
        self.assertEqual(self.dc.count("ivan"), 0)

    def test_too_large_note(self):
        # A message over max_message_size stays on the server, and the
        # user reads why on stderr, one line of its own.
        small = self.deliver(2, "heidi")
        big = ternlib.make_message(77, body="y" * 6000 + "\r\n")
        self.dc.deliver(big, user="heidi")
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="heidi",
                                       extra="    max_message_size 5000\n"))
        status, out, lines = sync_on_a_terminal(self.t, "home")
        self.assertEqual(status, 0, lines)
        self.assertEqual(out, b"home: 2 new, 2 removed from server, "
                              b"1 too large left there\n")
        self.assertIn("tern: home: message 3 (%d bytes) is larger than "
                      "max_message_size; left on the server" % len(big),
                      lines)
        self.assertEqual(stored(self.t, "home"), small)
        self.assertEqual(self.dc.count("heidi"), 1)

    def test_kill9_keep_yes(self):
        # Leave on server: never the same message twice, however often
        # a sync dies.
        self.t.write_rc(self.t.account(self.dc, "home", "pop3", user="grace",
                                       extra="    keep yes\n"))
        want = self.deliver(300, "grace")
        for point in ["pop3-retr:100", "pop3-after-commit:1",
                      "pop3-retr:20"]:
            r = self.sync(env={"TERN_FAULT": point})
            self.assertEqual(r.returncode, -9, (point, r.stderr))
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.sync_ok(), "home: 0 new, 0 removed from server")
        got = stored(self.t, "home")
        self.assertEqual(len(got), 300)
        self.assertEqual(msgids(got), msgids(want))
        self.assertEqual(self.dc.count("grace"), 300)

    def test_offline_ls_and_mv(self):
        dc = ternlib.Dovecot().start()
        try:
            raws = []
            for i in range(3):
                raws.append(ternlib.make_message(900 + i))
                dc.deliver(raws[-1])
            self.t.write_rc(self.t.account(dc, "home", "pop3"))
            self.assertEqual(self.sync_ok(),
                             "home: 3 new, 3 removed from server")
        finally:
            dc.cleanup()
        ls = self.t.out("ls", "home/INBOX").splitlines()
        self.assertEqual(len(ls), 3)
        self.assertIn("Message 900", ls[0])
        # The server is gone: cat reads the store.
        uid = ls[0].split("\t")[0]
        r = self.t.run("cat", "--raw", "home/INBOX", uid, check=True)
        self.assertEqual(r.stdout, raws[0])
        self.assertIn("This is message 900.",
                      self.t.out("cat", "home/INBOX", uid))
        self.t.out("mv", "home/INBOX", uid, "Archive")
        self.assertEqual(len(self.t.out("ls", "home/Archive").splitlines()), 1)
        self.assertEqual(sorted(stored(self.t, "home")), sorted(raws))
        r = self.sync()
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot connect", r.stderr)


class Pop3Fake(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.fake = None

    def tearDown(self):
        if self.fake:
            self.fake.close()
        self.t.cleanup()

    def serve(self, msgs, extra=""):
        self.fake = FakePOP3(msgs)
        self.t.write_rc(self.fake.rc("fake", extra))
        return self.fake

    def sync(self, env=None):
        return self.t.run("sync", "fake", env=env)

    def sync_ok(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip(), r.stderr.decode()

    @staticmethod
    def msgs(n, start=1):
        return [("u%d" % i, ternlib.make_message(i))
                for i in range(start, start + n)]

    def test_duplicate_uidls(self):
        m = self.msgs(3)
        m[1] = ("u1", m[1][1])
        f = self.serve(m)
        out, err = self.sync_ok()
        self.assertEqual(out, "fake: 3 new, 1 removed from server")
        self.assertIn("UIDL u1 for more than one message", err)
        self.assertEqual([u for u, _ in f.messages], ["u1", "u1"])
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 0 new, 0 removed from server")
        self.assertEqual(len(stored(self.t, "fake")), 3)

    def test_ignored_dele(self):
        f = self.serve(self.msgs(2))
        f.ignore_dele = True
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 2 new, 2 removed from server")
        # Still listed: deleted again, never downloaded again.
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 0 new, 2 removed from server")
        self.assertEqual(len(stored(self.t, "fake")), 2)
        self.assertEqual(sum(l.startswith("RETR") for l in f.commands), 2)

    def test_refused_dele(self):
        f = self.serve(self.msgs(2))
        f.refuse_dele = "not now\x1b[31m"
        out, err = self.sync_ok()
        self.assertEqual(out, "fake: 2 new, 0 removed from server")
        self.assertEqual(err.count("refused to delete"), 2)
        self.assertNotIn("\x1b", err)  # server text made visible
        # Stored but not deleted: deleted next time, not downloaded again.
        f.refuse_dele = None
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 0 new, 2 removed from server")
        self.assertEqual(f.messages, [])
        self.assertEqual(len(stored(self.t, "fake")), 2)

    def test_reused_uidl(self):
        f = self.serve([("1", ternlib.make_message(1))])
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 1 new, 1 removed from server")
        # A server that numbers its UIDLs: "1" is now another message.
        f.messages = [("1", ternlib.make_message(2, body="longer\r\n"))]
        out, err = self.sync_ok()
        self.assertEqual(out, "fake: 1 new, 1 removed from server")
        self.assertIn("reuses UIDL 1", err)
        self.assertEqual(len(stored(self.t, "fake")), 2)

    def test_no_uidl(self):
        f = self.serve(self.msgs(3))
        f.uidl = False
        # A crash after the DELE, before QUIT: the next sync downloads the
        # messages again (it cannot know them otherwise) but recognises
        # their content and stores none twice.
        r = self.sync(env={"TERN_FAULT": "pop3-after-dele:2"})
        self.assertEqual(r.returncode, -9)
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 0 new, 3 removed from server")
        self.assertEqual(f.messages, [])
        self.assertEqual(len(stored(self.t, "fake")), 3)
        # keep yes needs UIDL.
        f.messages = self.msgs(1, 10)
        self.t.write_rc(f.rc("fake", "    keep yes\n"))
        r = self.sync()
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"does not support UIDL", r.stderr)
        # It leaves in step: RSET undoes nothing here, QUIT is polite.
        self.assertEqual(f.commands[-2:], ["RSET", "QUIT"])
        self.assertEqual(len(f.messages), 1)

    def test_no_pipelining_one_at_a_time(self):
        # A server without PIPELINING may read one command at a time:
        # nothing is sent before the last reply came, not even the RSET
        # and QUIT of a sync that gives up.
        f = self.serve(self.msgs(2), "    keep yes\n")
        f.pipelining = False
        f.uidl = False
        f.lockstep = True
        r = self.sync()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"does not support UIDL", r.stderr)
        self.assertEqual(f.violations, [])
        self.assertEqual(f.commands[-2:], ["RSET", "QUIT"])
        # And a whole sync in step.
        f.uidl = True
        self.t.write_rc(f.rc("fake"))
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 2 new, 2 removed from server")
        self.assertEqual(f.violations, [])

    def test_lock(self):
        # While another tern syncs the account, a sync waits for it.
        f = self.serve(self.msgs(2))
        out, _ = self.sync_ok()
        with db(self.t) as c:
            (aid,) = c.execute("SELECT id FROM account WHERE name = 'fake'"
                               ).fetchone()
        path = os.path.join(self.t.data, "tern", "sync-%d.lock" % aid)
        f.messages = self.msgs(1, 3)
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p = subprocess.Popen([ternlib.TERN, "sync", "fake"],
                                 env=self.t.env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            self.addCleanup(p.kill)
            line = p.stderr.readline()
            self.assertEqual(line, b"tern: fake: waiting for another sync "
                                   b"of this account to finish\n")
            self.assertIsNone(p.poll())
            self.assertFalse(any(l.startswith("UIDL") for l in f.commands[-3:]))
            self.assertEqual(len(stored(self.t, "fake")), 2)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out, b"fake: 1 new, 1 removed from server\n")
        self.assertEqual(err, b"")
        self.assertEqual(len(stored(self.t, "fake")), 3)

    def watch(self):
        """tern sync --watch fake, stderr to a file: (process, path)."""
        err = os.path.join(self.t.dir, "watch.err")
        with open(err, "wb") as ef:
            p = subprocess.Popen([ternlib.TERN, "sync", "--watch", "fake"],
                                 env=self.t.env(), stdout=subprocess.PIPE,
                                 stderr=ef)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        return p, err

    def wait_file(self, path, what, timeout=20):
        end = time.time() + timeout
        while True:
            with open(path) as f:
                text = f.read()
            if what in text:
                return text
            self.assertLess(time.time(), end, "no %r in:\n%s" % (what, text))
            time.sleep(0.05)

    def test_watch_retries_after_a_failure(self):
        f = self.serve(self.msgs(1))
        f.down = True
        p, err = self.watch()
        self.wait_file(err, "tern: fake: trying again in 2 s\n")
        self.assertIsNone(p.poll())
        f.down = False
        self.assertEqual(p.stdout.readline(),
                         b"fake: 1 new, 1 removed from server\n")
        self.assertIsNone(p.poll())
        self.assertEqual(len(stored(self.t, "fake")), 1)

    def test_watch_while_another_syncs(self):
        f = self.serve(self.msgs(1))
        self.sync_ok()
        with db(self.t) as c:
            (aid,) = c.execute("SELECT id FROM account WHERE name = 'fake'"
                               ).fetchone()
        path = os.path.join(self.t.data, "tern", "sync-%d.lock" % aid)
        f.messages = self.msgs(1, 2)
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p, err = self.watch()
            text = self.wait_file(err, "tern: fake is being synced by another "
                                       "tern; trying again shortly\n")
            self.assertIsNone(p.poll())
        # The other has finished: the watch syncs, having said it once.
        self.assertEqual(p.stdout.readline(),
                         b"fake: 1 new, 1 removed from server\n")
        with open(err) as ef:
            self.assertEqual(ef.read(), text)

    def test_no_pipelining(self):
        f = self.serve(self.msgs(4))
        f.pipelining = False
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 4 new, 4 removed from server")
        self.assertEqual(f.messages, [])

    def test_oversized_line(self):
        f = self.serve(self.msgs(2))
        f.long_line = 20000
        r = self.sync()
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"line longer than", r.stderr)
        self.assertEqual(len(f.messages), 2)
        self.assertEqual(stored(self.t, "fake"), [])

    def test_oversized_message(self):
        big = ternlib.make_message(5, body="x" * 5000 + "\r\n")
        f = self.serve(self.msgs(2) + [("big", big), ("big2", big)],
                       "    max_message_size 4000\n")
        # Message 4 lies about its size: caught while it arrives.
        f.list_sizes = {4: 100}
        out, err = self.sync_ok()
        self.assertEqual(out, "fake: 2 new, 2 removed from server, "
                              "2 too large left there")
        self.assertEqual(err.count("larger than max_message_size"), 2)
        self.assertEqual([u for u, _ in f.messages], ["big", "big2"])

    def test_oversized_note_on_a_terminal(self):
        # The note for a message found too large while it arrives comes
        # on a line of its own, not glued to the progress line.
        big = ternlib.make_message(5, body="x" * 5000 + "\r\n")
        f = self.serve(self.msgs(2) + [("big", big)],
                       "    max_message_size 4000\n")
        f.list_sizes = {3: 100}
        status, out, lines = sync_on_a_terminal(self.t, "fake")
        self.assertEqual(status, 0, lines)
        self.assertEqual(out, b"fake: 2 new, 2 removed from server, "
                              b"1 too large left there\n")
        self.assertIn("tern: fake: message 3 is larger than "
                      "max_message_size (4000 bytes); left on the server",
                      lines)

    def test_silent_server(self):
        f = self.serve(self.msgs(3))
        f.stall_in_retr = 2
        t0 = time.monotonic()
        r = self.sync(env={"TERN_IO_TIMEOUT_MS": "1000"})
        self.assertLess(time.monotonic() - t0, 30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"sent nothing for 1 seconds", r.stderr)
        self.assertEqual(len(f.messages), 3)
        f.stall_in_retr = 0
        out, _ = self.sync_ok()
        self.assertEqual(out, "fake: 2 new, 3 removed from server")
        self.assertEqual(len(stored(self.t, "fake")), 3)

    def test_drop_mid_retr(self):
        f = self.serve(self.msgs(5))
        f.drop_in_retr = 3
        r = self.sync()
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"connection closed by the server", r.stderr)
        self.assertEqual(len(f.messages), 5)
        # Messages that arrived whole were kept; the rest come next time.
        f.drop_in_retr = 0
        out, _ = self.sync_ok()
        self.assertEqual(f.messages, [])
        self.assertEqual(msgids(stored(self.t, "fake")),
                         msgids([m for _, m in self.msgs(5)]))


if __name__ == "__main__":
    ternlib.main()
