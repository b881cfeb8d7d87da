"""IMAP's exactly-once promise against a real Dovecot, through a proxy
that breaks the connection where the test says: after each command of a
replay in turn (the server did it, the client did not hear), kill -9 at
random points of the same replay, three syncs of one account at once and
the client's worker beside a sync, a RST and a FIN in the middle of a
large index, a NO on one folder, a silent (blackholed) connection under
IDLE, a UIDVALIDITY change under queued changes, and an offline move and
copy between two folders.

Each round ends with the server's mail read back with imaplib (every
folder's Message-IDs and flags, no duplicates) and the store's with
tern ls.

TERN_FAULT_STRIDE=N runs every Nth round of the loops over cut points
and kills (the first, then every Nth); N:K starts at round K instead.
CI gives its plain run 2:0 and the ordinary user's 2:1 (between them
every round runs once), and the sanitizers' 8."""

import mailbox
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ternlib  # noqa: E402
import wire  # noqa: E402

USERS = {"r%d" % i: "pw%d" % i for i in range(400)}
# "N" or "N:K": every Nth round, starting at round K (0 <= K < N).
_stride = (os.environ.get("TERN_FAULT_STRIDE", "") or "1").split(":")
STRIDE = max(1, int(_stride[0] or 1))
OFFSET = int(_stride[1]) % STRIDE if len(_stride) > 1 and _stride[1] else 0
M = ternlib.make_message


def mid(n):
    return "<msg%d.%d@example.org>" % (n, os.getpid())


def differences(what, got, want):
    """One line per folder whose contents differ (or that should or
    should not be there)."""
    out = []
    for f in sorted(set(got) | set(want)):
        if f not in want:
            out.append("%s: unexpected folder %s: %r" % (what, f, got[f]))
        elif f not in got:
            out.append("%s: no folder %s" % (what, f))
        elif got[f] != want[f]:
            extra = sorted({x for x in got[f] if
                            got[f].count(x) > want[f].count(x)})
            missing = [x for x in want[f] if x not in got[f]]
            out.append("%s: %s has %r, extra %r, missing %r" % (
                what, f, got[f], extra, missing))
    return out


def duplicates(msgs):
    """The Message-IDs found more than once in [(Message-ID, flags)]."""
    ids = [m for m, _ in msgs]
    return sorted({m for m in ids if ids.count(m) > 1})


def maildir(path, numbers):
    """A Maildir holding message n for each n."""
    box = mailbox.Maildir(path)
    for n in numbers:
        box.add(M(n))
    return path


class Round:
    """One round of the replay: a fresh user on the server, a fresh store
    that indexed it, and every kind of change queued offline:

    INBOX 1..6, Dest 20, Old 30, Gone (empty) on the server; local/Keep
    50, 51 in the store. Offline: INBOX 1 +SF, INBOX 2 +kw:work, move
    INBOX 3 to Dest, INBOX 5 deleted and purged (expunge), import 40 and
    41 into Dest (APPEND), copy INBOX 4 to Dest (COPY), INBOX 4 and 6 +F
    (one UID STORE), move local 50 to Dest, copy local 51 to INBOX,
    create Projects, rename Old to Older, delete Gone."""

    def __init__(self, case, user, port):
        self.case = case
        self.user = user
        self.dovecot = dc = case.dovecot
        for n in range(1, 7):
            dc.deliver(M(n), user=user)
        dc.deliver(M(20), user=user, folder="Dest")
        dc.deliver(M(30), user=user, folder="Old")
        dc.maildir(user, "Gone")
        self.t = t = ternlib.Tern()
        case.addCleanup(t.cleanup)
        self.online_port = port
        self.online()
        r = t.run("sync", "acct")
        case.assertEqual(r.returncode, 0, r.stderr)
        t.out("import", "local/Keep",
              maildir(os.path.join(t.dir, "keep"), (50, 51)))
        local = {r[4]: r[0] for r in self.ls("local/Keep")}
        self.offline()
        for args in (("flag", "acct/INBOX", "1", "+SF"),
                     ("flag", "acct/INBOX", "2", "+kw:work"),
                     ("mv", "acct/INBOX", "3", "Dest"),
                     ("cp", "acct/INBOX", "4", "Dest"),
                     ("flag", "acct/INBOX", "4", "6", "+F"),
                     ("flag", "acct/INBOX", "5", "+T"),
                     ("purge", "acct/INBOX"),
                     ("import", "acct/Dest",
                      maildir(os.path.join(t.dir, "imp"), (40, 41))),
                     ("mv", "local/Keep", local["Message 50"], "acct/Dest"),
                     ("cp", "local/Keep", local["Message 51"], "acct/INBOX"),
                     ("folder", "create", "acct/Projects"),
                     ("folder", "rename", "acct/Old", "Older"),
                     ("folder", "delete", "acct/Gone")):
            t.out(*args)
        self.online()

    def rc(self, port):
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, tls="off",
                                       port=port))

    def online(self, port=None):
        self.rc(port or self.online_port)

    def offline(self):
        self.rc(1)

    def ls(self, folder):
        return [line.split("\t") for line in
                self.t.out("ls", folder).splitlines()]

    SERVER = {
        "INBOX": [(mid(1), "\\Flagged \\Seen"), (mid(2), "work"),
                  (mid(4), "\\Flagged"), (mid(6), "\\Flagged"),
                  (mid(51), "")],
        "Dest": [(mid(20), ""), (mid(3), ""), (mid(4), ""), (mid(40), ""),
                 (mid(41), ""), (mid(50), "")],
        "Older": [(mid(30), "")],
        "Projects": [],
    }
    STORE = {
        "acct/INBOX": [("Message 1", "FS"), ("Message 2", "-"),
                       ("Message 4", "F"), ("Message 51", "-"),
                       ("Message 6", "F")],
        "acct/Dest": [("Message 20", "-"), ("Message 3", "-"),
                      ("Message 4", "-"), ("Message 40", "-"),
                      ("Message 41", "-"), ("Message 50", "-")],
        "acct/Older": [("Message 30", "-")],
        "acct/Projects": [],
        "local/Keep": [("Message 51", "-")],
    }

    def server_state(self):
        return {k: sorted(v) for k, v in self.dovecot.state(self.user)
                .items()}

    def store_state(self):
        out = {}
        for f in self.STORE:
            out[f] = sorted((r[4], r[1]) for r in self.ls(f))
        folders = sorted(line.split("\t")[0] for line in
                         self.t.out("ls", "acct").splitlines())
        return out, folders

    def problems(self):
        """What differs from the expected end state, as text ("" when
        nothing does)."""
        out = []
        want = {k: sorted(v) for k, v in self.SERVER.items()}
        out += differences("server", self.server_state(), want)
        try:
            store, folders = self.store_state()
        except AssertionError as e:
            return "\n".join(out + ["tern ls failed: %s" % e])
        want = {k: sorted(v) for k, v in self.STORE.items()}
        out += differences("store", store, want)
        if folders != sorted(f.split("/")[1] for f in self.STORE
                             if f.startswith("acct/")):
            out.append("store folders: %r" % folders)
        return "\n".join(out)


class Base(ternlib.ProxiedDovecotCase):
    USERS = USERS

    def user(self):
        return self.next_user("r")

    def setUp(self):
        self.proxy.clear()

    def round(self):
        self.proxy.clear()
        return Round(self, self.user(), self.proxy.port)


class Replay(Base):
    def replay_commands(self):
        """The commands of a clean replay of the queue, as the proxy saw
        them (and the end state it leaves, checked)."""
        r = self.round()
        self.proxy.clear()
        res = r.t.run("sync", "acct", timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        cmds = list(self.proxy.commands)
        self.assertEqual(r.problems(), "", "clean replay")
        # The run of one flag change goes as one command.
        self.assertTrue(any(" UID STORE 4,6 +FLAGS.SILENT (\\Flagged)" in c
                            for c in cmds), cmds)
        return cmds

    def cut_round(self, k, at, how):
        """A fresh round cut at command k (at, how), then a clean sync:
        "" when the server and the store hold the exact state, else what
        went wrong."""
        r = self.round()
        self.proxy.add(wire.cut(k, at=at, how=how))
        first = r.t.run("sync", "acct", timeout=60)
        cut = list(self.proxy.events)
        self.proxy.clear()
        second = r.t.run("sync", "acct", timeout=60)
        bad = r.problems()
        if not cut:
            bad += "\nthe proxy cut nothing"
        if second.returncode != 0:
            bad += "\nclean sync: exit %d %s" % (
                second.returncode, second.stderr.decode().strip())
        if not bad:
            return ""
        return "%r (first sync exit %d: %s)\n%s" % (
            cut, first.returncode, first.stderr.decode().strip(), bad)

    def test_cut_after_each_command_of_a_replay(self):
        # Round k: the server runs the kth command of the sync and
        # answers; the client never hears the answer (odd k: a RST,
        # even k: a FIN). A clean sync then ends in the exact state.
        cmds = self.replay_commands()
        self.assertTrue(any(" APPEND " in c for c in cmds), cmds)
        failed = []
        for k in range(1 + OFFSET, len(cmds) + 1, STRIDE):
            how = "rst" if (k - 1) // STRIDE % 2 == 0 else "fin"
            bad = self.cut_round(k, "reply", how)
            if bad:
                failed.append("k=%d %s after the answer %s" % (k, how, bad))
        if failed:
            self.fail("%d of %d rounds:\n\n%s" % (
                len(failed), len(cmds), "\n\n".join(failed)))

    CHANGES = ("APPEND", "STORE", "MOVE", "COPY", "EXPUNGE", "CREATE",
               "RENAME", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE")

    def test_cut_before_each_change_of_a_replay(self):
        # The other point: each command that changes the server never
        # reaches it (odd rounds a RST, even a FIN); a clean sync then
        # ends in the exact state.
        cmds = self.replay_commands()
        ks = [k for k, c in enumerate(cmds, 1)
              if any(w in self.CHANGES for w in c.split(" ")[1:3])]
        self.assertGreater(len(ks), 10, cmds)
        failed = []
        for i, k in enumerate(ks):
            if i % STRIDE != OFFSET:
                continue
            how = "rst" if i // STRIDE % 2 == 0 else "fin"
            bad = self.cut_round(k, "command", how)
            if bad:
                failed.append("k=%d %s before %r %s" % (k, how, cmds[k - 1],
                                                        bad))
        if failed:
            self.fail("%d of %d rounds:\n\n%s" % (
                len(failed), len(ks), "\n\n".join(failed)))

    def test_cut_replay_resumes_in_the_same_sync(self):
        # A RST and a FIN after the server stored the first APPEND: the
        # same tern sync reconnects, finishes the queue and exits 0.
        failed = []
        for how in ("rst", "fin"):
            r = self.round()
            self.proxy.add(wire.cut(1, at="reply", how=how,
                                    match=r"^\S+ APPEND"))
            res = r.t.run("sync", "acct", timeout=60)
            bad = r.problems()
            if res.returncode != 0:
                bad += "\nexit %d: %s" % (res.returncode,
                                          res.stderr.decode().strip())
            if not self.proxy.events:
                bad += "\nthe proxy cut nothing"
            if bad:
                failed.append("%s after an APPEND:\n%s" % (how, bad))
        if failed:
            self.fail("\n\n".join(failed))

    def test_kill_at_random_points_of_a_replay(self):
        # kill -9 when the proxy sees command k (before it reaches the
        # server, or once the server answered), then a clean sync.
        cmds = self.replay_commands()
        rnd = random.Random(16)
        failed = []
        for i in range(20):
            k = rnd.randint(1, len(cmds))
            at = rnd.choice(("command", "reply"))
            if i % STRIDE != OFFSET:
                continue
            r = self.round()
            proc = []

            def kill(conn, line, proc=proc):
                proc[0].send_signal(signal.SIGKILL)
            self.proxy.add(wire.call(kill, nth=k, at=at))
            p = subprocess.Popen([ternlib.TERN, "sync", "acct"],
                                 env=r.t.env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            proc.append(p)
            p.communicate(timeout=60)
            killed = p.returncode == -signal.SIGKILL
            self.proxy.clear()
            second = r.t.run("sync", "acct", timeout=60)
            bad = r.problems()
            if not killed:
                bad += "\ntern was not killed (exit %d)" % p.returncode
            if second.returncode != 0:
                bad += "\nclean sync: exit %d %s" % (
                    second.returncode, second.stderr.decode().strip())
            if bad:
                failed.append("round %d: kill at %s of command %d %r "
                              "(exit %d)\n%s" % (i, at, k, cmds[k - 1],
                                                p.returncode, bad))
        if failed:
            self.fail("%d of 20 rounds:\n\n%s" % (
                len(failed), "\n\n".join(failed)))


class Concurrent(Base):
    def test_three_syncs_at_once(self):
        user = self.user()
        for n in range(1, 4):
            self.dovecot.deliver(M(n), user=user)
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        rc = t.account(self.dovecot, name="a", user=user, tls="off")
        t.write_rc(rc)
        t.out("sync", "a")
        t.write_rc(t.account(self.dovecot, name="a", user=user, tls="off",
                             port=1))
        src = maildir(os.path.join(t.dir, "imp"), range(1000, 1300))
        out = t.out("import", "a/INBOX", src)
        self.assertIn("300 messages queued", out)
        t.write_rc(rc)
        procs = [subprocess.Popen([ternlib.TERN, "sync", "a"], env=t.env(),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
                 for _ in range(3)]
        outs = [p.communicate(timeout=300) for p in procs]
        t.run("sync", "a", timeout=120)
        got = self.dovecot.state(user)["INBOX"]
        want = sorted((mid(n), "") for n in
                      list(range(1, 4)) + list(range(1000, 1300)))
        dups = duplicates(got)
        if (len(got), dups) != (303, []):
            self.fail("three syncs at once: %d messages on the server "
                      "(want 303), %d Message-IDs more than once (%s); "
                      "exits %r" % (len(got), len(dups), dups[:3],
                                    [(p.returncode, o[1].decode())
                                     for p, o in zip(procs, outs)]))
        self.assertEqual(got, want)
        rows = t.out("ls", "a/INBOX").splitlines()
        self.assertEqual(len(rows), 303)

    def test_worker_and_sync_at_once(self):
        # The client's worker replays the queue while tern sync does too.
        from test_ui import Screen
        user = self.user()
        self.dovecot.deliver(M(1), user=user)
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        rc = t.account(self.dovecot, name="a", user=user, tls="off")
        t.write_rc(rc)
        t.out("sync", "a")
        t.write_rc(t.account(self.dovecot, name="a", user=user, tls="off",
                             port=1))
        src = maildir(os.path.join(t.dir, "imp"), range(2000, 2100))
        t.out("import", "a/INBOX", src)
        t.out("flag", "a/INBOX", "1", "+F")
        t.write_rc(rc)
        s = Screen(t)
        self.addCleanup(s.kill)
        r = t.run("sync", "a", timeout=300)
        # Wait for the worker too: the server holds every message.
        deadline = time.time() + 120
        while time.time() < deadline:
            if len(self.dovecot.state(user)["INBOX"]) >= 101:
                break
            time.sleep(0.5)
        # Quit the client: its worker has finished whatever it started.
        s.keys("q")
        s.wait("EXIT=", timeout=60)
        got = self.dovecot.state(user)["INBOX"]
        want = sorted([(mid(1), "\\Flagged")] +
                      [(mid(n), "") for n in range(2000, 2100)])
        dups = duplicates(got)
        if (len(got), dups) != (101, []):
            self.fail("worker and sync at once: %d messages on the server "
                      "(want 101), %d Message-IDs more than once (%s); "
                      "sync exit %d %s" % (len(got), len(dups), dups[:3],
                                           r.returncode, r.stderr.decode()))
        self.assertEqual(got, want)
        t.out("sync", "a")
        self.assertEqual(len(t.out("ls", "a/INBOX").splitlines()), 101)


class Index(Base):
    """A first sync of a 3000-message folder broken in the middle of its
    header UID FETCH: the same tern sync reconnects and resumes."""

    N = 3000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.big = "r399"
        for n in range(1, cls.N + 1):
            cls.dovecot.deliver(M(n), user=cls.big)

    def cut_mid_index(self, how):
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        t.write_rc(t.account(self.dovecot, name="a", user=self.big,
                             tls="off", port=self.proxy.port))
        self.proxy.add(wire.cut(1, at="reply", how=how, responses=700,
                                match=r"UID FETCH .*HEADER"))
        r = t.run("sync", "a", timeout=300)
        self.assertEqual(len(self.proxy.events), 1,
                         "the proxy cut nothing: %r" % self.proxy.commands)
        self.assertEqual(r.returncode, 0, "%s mid-index: %s" %
                         (how, r.stderr.decode()))
        rows = t.out("ls", "a/INBOX").splitlines()
        subjects = [x.split("\t")[4] for x in rows]
        self.assertEqual(len(subjects), self.N)
        self.assertEqual(len(set(subjects)), self.N)
        self.assertEqual(sorted(subjects), sorted(
            "Message %d" % n for n in range(1, self.N + 1)))

    def test_rst_mid_index(self):
        self.cut_mid_index("rst")

    def test_fin_mid_index(self):
        self.cut_mid_index("fin")


class Refusal(Base):
    def test_no_on_one_folder(self):
        user = self.user()
        self.dovecot.deliver(M(1), user=user)
        for f, n in (("Alpha", 2), ("Broken", 3), ("Zulu", 4)):
            self.dovecot.deliver(M(n), user=user, folder=f)
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        t.write_rc(t.account(self.dovecot, name="a", user=user, tls="off",
                             port=self.proxy.port))
        self.proxy.add(wire.rewrite_reply(
            r'SELECT "?Broken"?',
            lambda tag, line: tag + b" NO [UNAVAILABLE] refused by test\r\n"))
        r = t.run("sync", "a", timeout=120)
        self.assertTrue(any("Broken" in c for c in self.proxy.commands))
        for f, n in (("INBOX", 1), ("Alpha", 2), ("Zulu", 4)):
            self.assertEqual([x.split("\t")[4] for x in
                              t.out("ls", "a/" + f).splitlines()],
                             ["Message %d" % n], f)
        err = r.stderr.decode() + r.stdout.decode()
        self.assertIn("Broken", err)
        self.assertEqual(r.returncode, 1, err)


class Idle(Base):
    def test_blackholed_idle_is_noticed(self):
        user = self.user()
        self.dovecot.deliver(M(1), user=user)
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        t.write_rc(t.account(self.dovecot, name="a", user=user, tls="off",
                             port=self.proxy.port))
        env = t.env({"TERN_IDLE_RENEW": "3", "TERN_LIVENESS_TIMEOUT": "3"})
        p = subprocess.Popen([ternlib.TERN, "sync", "--watch", "a"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def stop():
            if p.poll() is None:
                p.kill()
            p.communicate()
        self.addCleanup(stop)
        wire.wait_for(lambda: any(c.split(" ")[1:2] == ["IDLE"] or
                                  c.split(" ")[1:2] == ["NOOP"]
                                  for c in self.proxy.commands),
                      30, "IDLE or NOOP through the proxy")
        wire.wait_for(lambda: len(t.out("ls", "a/INBOX").splitlines()) == 1,
                      30, "the first message indexed")
        # IDLE pushes through the proxy while the connection is alive.
        self.dovecot.deliver(M(3), user=user)
        wire.wait_for(lambda: "Message 3" in t.out("ls", "a/INBOX"), 15,
                      "a message pushed by IDLE")
        conns = self.proxy.accepted
        self.proxy.blackhole_all()
        time.sleep(0.5)
        self.dovecot.deliver(M(2), user=user)
        # Renewal after 3 s, dead 3 s later, a retry within 1-2 s: give
        # it twice that.
        start = time.time()
        try:
            wire.wait_for(
                lambda: "Message 2" in t.out("ls", "a/INBOX"), 20,
                "the new message indexed after the connection went silent")
        except AssertionError as e:
            self.fail("%s (exit %r, %d connections made, commands %r)" % (
                e, p.poll(), self.proxy.accepted,
                self.proxy.commands[-6:]))
        self.assertGreater(self.proxy.accepted, conns)
        self.assertLess(time.time() - start, 20)
        self.assertIsNone(p.poll(), "the watch ended")


class Queue(Base):
    def test_uidvalidity_change_remaps_queued_changes(self):
        user = self.user()
        for n in range(1, 4):
            self.dovecot.deliver(M(n), user=user, folder="Lists")
        self.dovecot.maildir(user, "Keep")
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        rc = t.account(self.dovecot, name="a", user=user, tls="off")
        t.write_rc(rc)
        t.out("sync", "a")
        t.write_rc(t.account(self.dovecot, name="a", user=user, tls="off",
                             port=1))
        uids = {x.split("\t")[4]: x.split("\t")[0]
                for x in t.out("ls", "a/Lists").splitlines()}
        t.out("flag", "a/Lists", uids["Message 1"], "+F")
        t.out("mv", "a/Lists", uids["Message 2"], "Keep")
        t.out("flag", "a/Lists", uids["Message 3"], "+S")
        # Meanwhile the folder is made again: new UIDVALIDITY, other
        # UIDs, messages 1 and 2 still there, 3 gone.
        c = self.dovecot.imap(user)
        c.delete("Lists")
        time.sleep(1.1)  # Dovecot's UIDVALIDITY is a time stamp
        c.create("Lists")
        for n in (9, 2, 1):
            c.append("Lists", None, None, M(n))
        c.logout()
        t.write_rc(rc)
        r = t.run("sync", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        state = self.dovecot.state(user)
        self.assertEqual(state["Lists"], sorted([(mid(1), "\\Flagged"),
                                                 (mid(9), "")]))
        self.assertEqual(state["Keep"], [(mid(2), "")])
        out = r.stdout.decode() + r.stderr.decode()
        # Messages 1 and 2 were re-mapped by Message-ID: not dropped;
        # message 3's change is reported, on one line.
        self.assertNotIn("Lists/1 dropped", out)
        self.assertNotIn("Lists/2 dropped", out)
        notes = [x for x in out.splitlines() if "Lists" in x and
                 ("dropped" in x or "re-map" in x or "remap" in x)]
        self.assertEqual(len(notes), 1, out)
        self.assertEqual(sorted(x.split("\t")[4] for x in
                                t.out("ls", "a/Lists").splitlines()),
                         ["Message 1", "Message 9"])
        self.assertEqual([x.split("\t")[4] for x in
                          t.out("ls", "a/Keep").splitlines()], ["Message 2"])

    def offline_account(self, read):
        """INBOX 1 (read: its body stored) and Dest 2 on the server and in
        a store; then the rc points nowhere. Returns the Tern, the user
        and the rc that reaches the server again."""
        user = self.user()
        self.dovecot.deliver(M(1), user=user)
        self.dovecot.deliver(M(2), user=user, folder="Dest")
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        rc = t.account(self.dovecot, name="a", user=user, tls="off")
        t.write_rc(rc)
        t.out("sync", "a")
        if read:
            t.out("cat", "a/INBOX", "1")  # stored, and seen
        t.write_rc(t.account(self.dovecot, name="a", user=user, tls="off",
                             port=1))
        return t, user, rc

    @staticmethod
    def uid_of(t, folder, subject):
        return [x.split("\t")[0] for x in t.out("ls", folder).splitlines()
                if x.endswith("\t" + subject)][0]

    @staticmethod
    def subjects(t, folder):
        return sorted(x.split("\t")[4] for x in
                      t.out("ls", folder).splitlines())

    def test_offline_copy_shows_in_destination_at_once(self):
        t, user, rc = self.offline_account(read=True)
        t.out("cp", "a/INBOX", "1", "Dest")
        self.assertEqual(self.subjects(t, "a/INBOX"), ["Message 1"])
        self.assertEqual(self.subjects(t, "a/Dest"),
                         ["Message 1", "Message 2"])
        # Readable offline: the body was stored, and so is the copy's.
        copy = self.uid_of(t, "a/Dest", "Message 1")
        self.assertIn("Subject: Message 1", t.out("cat", "a/Dest", copy))
        # Flagged where it was copied to: the flag follows it to the
        # server's UID.
        t.out("flag", "a/Dest", copy, "+F")
        t.write_rc(rc)
        t.out("sync", "a")
        self.assertEqual(self.dovecot.state(user),
                         {"INBOX": [(mid(1), "\\Seen")],
                          "Dest": sorted([(mid(1), "\\Flagged \\Seen"),
                                          (mid(2), "")])})
        self.assertEqual(self.subjects(t, "a/Dest"),
                         ["Message 1", "Message 2"])

    def test_offline_move_shows_in_destination_at_once(self):
        t, user, rc = self.offline_account(read=False)
        t.out("mv", "a/INBOX", "1", "Dest")
        self.assertEqual(t.out("ls", "a/INBOX"), "")
        self.assertEqual(self.subjects(t, "a/Dest"),
                         ["Message 1", "Message 2"])
        t.out("flag", "a/Dest", self.uid_of(t, "a/Dest", "Message 1"), "+S")
        t.write_rc(rc)
        t.out("sync", "a")
        self.assertEqual(self.dovecot.state(user)["Dest"],
                         sorted([(mid(1), "\\Seen"), (mid(2), "")]))
        self.assertEqual(self.subjects(t, "a/Dest"),
                         ["Message 1", "Message 2"])


if __name__ == "__main__":
    ternlib.main()
