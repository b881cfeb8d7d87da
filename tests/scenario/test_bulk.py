"""IMAP bodies in bulk against a real Dovecot, through a proxy that sees
every command: an export of a folder of mixed sizes (one bigger than the
4 MiB that go to a file as they arrive) downloads them in a few pipelined
commands, byte for byte, into pack files; a second export asks for
nothing; an export cut in the middle keeps what came whole and a rerun
asks only for the rest, with no body twice; tern cp and mv of many
messages to a local folder fetch them in bulk too."""

import os
import random
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
import wire  # noqa: E402

USERS = {"u%d" % i: "pw%d" % i for i in range(8)}
RND = random.Random(7)
BODY_FETCH = re.compile(r"UID FETCH (\S+) \(UID BODY\.PEEK\[\]\)")


def mixed(n):
    """n messages of sizes from a few hundred bytes to a megabyte, the
    7th one 6 MiB; some with lines an mbox must quote."""
    out = []
    for i in range(1, n + 1):
        if i == 7:
            size = 6 * 1024 * 1024
        else:
            size = RND.choice([200, 2000, 20000, 150000, 1000000])
        line = "line of message %d, filler %s\n" % (i, "x" * 40)
        body = (line * (size // len(line) + 1))[:size]
        if i % 5 == 0:
            body = "From the top\n>From quoted\n" + body
        out.append(ternlib.make_message(i, body=body))
    return out


def uids_of(sets):
    """Every UID named by the UID sets of commands."""
    got = []
    for s in sets:
        for part in s.split(","):
            lo, _, hi = part.partition(":")
            got.extend(range(int(lo), int(hi or lo) + 1))
    return got


class Bulk(ternlib.ProxiedDovecotCase):
    USERS = USERS

    def setUp(self):
        self.user = self.next_user("u")
        self.proxy.clear()
        self.t = ternlib.Tern()
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, tls="off",
                                       port=self.proxy.port))
        self.raw = mixed(40)
        for raw in self.raw:
            self.dovecot.deliver(raw, user=self.user)
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def tearDown(self):
        self.t.cleanup()

    def body_fetches(self):
        """The UID sets of the body fetches the proxy saw."""
        out = []
        for line in self.proxy.commands:
            m = BODY_FETCH.search(line)
            if m:
                out.append(m.group(1))
        return out

    def stored(self, folder="INBOX"):
        """{uid: (bytes, pack_id)} of the bodies stored for a folder."""
        db = ternlib.store_db(self.t.data)
        try:
            rows = db.execute(
                "SELECT m.uid, " + ternlib.BODY + ", b.pack_id FROM"
                " message m JOIN body b ON b.message_id = m.id JOIN"
                " folder f ON f.id = m.folder_id JOIN account a ON"
                " a.id = f.account_id WHERE a.name = 'acct' AND"
                " f.name = ?", (folder,)).fetchall()
            n_body = db.execute("SELECT count(*) FROM body").fetchone()[0]
        finally:
            db.close()
        self.assertEqual(n_body, len(rows), "one body row per message")
        return {uid: (bytes(raw), pack) for uid, raw, pack in rows}

    def restored(self, folder):
        """The bytes of the messages of local/folder, in date order."""
        db = ternlib.store_db(self.t.data)
        try:
            return [bytes(r[0]) for r in db.execute(
                "SELECT " + ternlib.BODY + " FROM message m JOIN body b ON"
                " b.message_id = m.id JOIN folder f ON f.id = m.folder_id"
                " JOIN account a ON a.id = f.account_id WHERE"
                " a.name = 'local' AND f.name = ? ORDER BY m.date, m.id",
                (folder,))]
        finally:
            db.close()

    def leftovers(self):
        """Files beside the packs that are not packs."""
        d = os.path.join(self.t.data, "tern", "packs")
        return [f for f in os.listdir(d) if not f.isdigit()]

    def export(self, name):
        p = os.path.join(self.t.dir, name)
        return p, self.t.run("export", "acct/INBOX", "--mbox", p,
                             timeout=120)

    def check_all_stored(self):
        got = self.stored()
        self.assertEqual(sorted(got), list(range(1, len(self.raw) + 1)))
        for uid, (raw, pack) in got.items():
            self.assertEqual(raw, self.raw[uid - 1], "message %d" % uid)
            self.assertIsNotNone(pack, "message %d in a pack" % uid)

    def test_export_in_bulk_then_nothing(self):
        p, r = self.export("one.mbox")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("40 messages exported", r.stdout.decode())
        sets = self.body_fetches()
        # A few commands of consecutive UIDs, each message once.
        self.assertLess(len(sets), 10, sets)
        self.assertEqual(sorted(uids_of(sets)), list(range(1, 41)))
        self.check_all_stored()
        # The 6 MiB one became a pack of its own, whole.
        db = ternlib.store_db(self.t.data)
        try:
            off, length, size = db.execute(
                "SELECT b.pack_off, b.pack_len, p.size FROM body b"
                " JOIN message m ON m.id = b.message_id JOIN pack p ON"
                " p.id = b.pack_id WHERE m.uid = 7").fetchone()
        finally:
            db.close()
        self.assertEqual((off, length), (0, len(self.raw[6])))
        self.assertGreaterEqual(size, length)
        self.assertEqual(self.leftovers(), [])
        # The mbox gives back every message byte for byte.
        self.t.out("import", "local/Restored", p)
        self.assertEqual(self.restored("Restored"), self.raw)
        # Everything is stored: a second export asks for no body.
        self.proxy.clear()
        p2, r = self.export("two.mbox")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(self.body_fetches(), [])
        with open(p, "rb") as a, open(p2, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_cut_export_resumes(self):
        # The connection is closed after 15 bodies of the first command
        # (with a FIN: a reset could take some of them with it).
        self.proxy.add(wire.cut(1, at="reply", how="fin",
                                match=rb"BODY\.PEEK\[\]", responses=15))
        p, r = self.export("cut.mbox")
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(self.proxy.events, "the proxy cut nothing")
        self.assertFalse(os.path.exists(p))
        kept = self.stored()
        # What came whole before the cut is committed, byte for byte:
        # the first 15 answers of the first command (ascending UIDs), or
        # all of them when it asked for fewer.
        first = sorted(uids_of(self.body_fetches()[:1]))
        self.assertEqual(sorted(kept), first[:15])
        self.assertLess(len(kept), len(self.raw))
        for uid, (raw, pack) in kept.items():
            self.assertEqual(raw, self.raw[uid - 1])
        self.assertEqual(self.leftovers(), [])
        self.proxy.clear()
        p, r = self.export("cut.mbox")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        again = uids_of(self.body_fetches())
        self.assertEqual(sorted(again),
                         sorted(set(range(1, 41)) - set(kept)))
        self.check_all_stored()
        self.t.out("import", "local/Restored", p)
        self.assertEqual(self.restored("Restored"), self.raw)

    def test_cut_inside_a_big_body(self):
        # A folder whose oldest message, asked for first and alone (over
        # what a command asks for), is 6 MiB; the connection is cut 3 MiB
        # into it, while it goes to a file beside the packs.
        big = [ternlib.make_message(41, body="y" * (6 * 1024 * 1024))] + \
            [ternlib.make_message(n) for n in (42, 43)]
        for raw in big:
            self.dovecot.deliver(raw, user=self.user, folder="Big")
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        raw = wire.Proxy(self.dovecot.imap_port, raw=True)
        p = os.path.join(self.t.dir, "big.mbox")
        try:
            # A FIN, not a RST: a RST drops what the client has not read
            # yet, and a slow client would never see the literal begin.
            raw.add(wire.cut_bytes(3 * 1024 * 1024, conn=1, how="fin"))
            self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                           user=self.user, tls="off",
                                           port=raw.port))
            r = self.t.run("export", "acct/Big", "--mbox", p)
            self.assertNotEqual(r.returncode, 0)
            self.assertTrue(raw.events, "the proxy cut nothing")
        finally:
            raw.stop()
        # Its answer comes first: nothing came whole before the cut.
        self.assertEqual(self.stored("Big"), {})
        self.assertEqual(self.leftovers(), [])
        self.assertFalse(os.path.exists(p))
        # What a tern killed there would leave: the next one removes it.
        dead = subprocess.Popen(["true"])
        dead.wait()
        left = os.path.join(self.t.data, "tern", "packs",
                            "tmp-%d-Ab12Cd" % dead.pid)
        with open(left, "wb") as f:
            f.write(b"x" * 1000)
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, tls="off",
                                       port=self.proxy.port))
        r = self.t.run("export", "acct/Big", "--mbox", p)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        got = self.stored("Big")
        self.assertEqual({u: raw for u, (raw, pack) in got.items()},
                         {1: big[0], 2: big[1], 3: big[2]})
        self.assertEqual(self.leftovers(), [])

    def test_offline_export_fails_whole(self):
        # Half the bodies are stored; the server cannot be reached.
        self.t.out("cp", "acct/INBOX", *[str(u) for u in range(1, 21)],
                   "local/Copies")
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, tls="off", port=1))
        p, r = self.export("offline.mbox")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"20 messages of acct/INBOX are not downloaded and"
                      b" cannot be fetched now", r.stderr)
        self.assertFalse(os.path.exists(p))
        self.assertEqual([f for f in os.listdir(self.t.dir)
                          if f.startswith("offline.mbox")], [])
        r = self.t.run("export", "acct/INBOX", "--mbox", p, "--cached-only")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("20 messages exported", r.stdout.decode())

    def test_copy_and_move_to_local_in_bulk(self):
        uids = [str(u) for u in range(1, 21)]
        self.t.out("cp", "acct/INBOX", *uids, "local/Copies")
        sets = self.body_fetches()
        self.assertLess(len(sets), 5, sets)
        self.assertEqual(sorted(uids_of(sets)), list(range(1, 21)))
        self.assertEqual(self.restored("Copies"), self.raw[:20])
        self.proxy.clear()
        uids = [str(u) for u in range(15, 41)]
        self.t.out("mv", "acct/INBOX", *uids, "local/Moved")
        # 15..20 were fetched for the copy already.
        self.assertEqual(sorted(uids_of(self.body_fetches())),
                         list(range(21, 41)))
        self.assertEqual(self.restored("Moved"), self.raw[14:])
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(self.dovecot.count(self.user), 14)


if __name__ == "__main__":
    ternlib.main()
