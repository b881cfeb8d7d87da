"""The command skeleton: --version, --help, tern ls, and rc errors with
exit 2 naming the file and line."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402


class Cli(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()

    def tearDown(self):
        self.t.cleanup()

    def test_version_help(self):
        r = self.t.run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^tern \d+\.\d+\.\d+\n$")
        r = self.t.run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: tern", r.stdout.decode())
        self.assertIn(" ls ", r.stdout.decode())

    def test_unknown_command_is_usage_error(self):
        r = self.t.run("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"tern: unknown command 'frobnicate'", r.stderr)

    def test_ls_accounts(self):
        self.t.write_rc("account home\n protocol pop3\n host h\n user u\n"
                        " passcmd true\naccount work\n protocol imap\n"
                        " host h\n user u\n passcmd true\n")
        self.assertEqual(self.t.out("ls"),
                         "home\tpop3\nwork\timap\nlocal\tlocal\n")

    def test_sync_local_is_accepted(self):
        # tern ls lists it, so tern sync takes it: nothing to do.
        self.t.write_rc("account home\n protocol pop3\n host h\n user u\n"
                        " passcmd true\n")
        self.assertIn("local\tlocal\n", self.t.out("ls"))
        r = self.t.run("sync", "local")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(),
                         "local: nothing to sync: its folders live only "
                         "in this store\n")
        self.assertEqual(r.stderr, b"")
        # An unknown name is still a usage error, before anything syncs.
        r = self.t.run("sync", "local", "nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no account 'nosuch'", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_no_rc_is_fine(self):
        self.assertEqual(self.t.out("ls"), "local\tlocal\n")

    def test_bad_rc_names_file_and_line(self):
        self.t.write_rc("account a\n protocol imap\n host h\n user u\n"
                        " passcmd true\n bogus 1\n")
        r = self.t.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.decode(),
                         "tern: %s:6: unknown key 'bogus'\n" % self.t.rc)
        self.t.write_rc("account a\n protocol smtp\n")
        r = self.t.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn(":2: protocol must be pop3 or imap", r.stderr.decode())

    def test_readable_rc_with_password_refused(self):
        self.t.write_rc("account a\n protocol imap\n host h\n user u\n"
                        " password hunter2\n", mode=0o644)
        r = self.t.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"readable", r.stderr)
        self.assertNotIn(b"hunter2", r.stderr)
        os.chmod(self.t.rc, 0o600)
        self.assertEqual(self.t.run("ls").returncode, 0)

    def test_rc_others_can_write_is_refused(self):
        # passcmd is a shell command: an rc others can change is refused
        # whatever it holds, as is one in a directory they can write.
        self.t.write_rc("account a\n protocol imap\n host h\n user u\n"
                        " passcmd true\n", mode=0o664)
        for args in (("ls",), ("sync", "a"), ("-F", self.t.rc, "ls")):
            r = self.t.run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stderr.decode(),
                             "tern: %s is writable by others, who could "
                             "make tern run any command as you (passcmd, "
                             "editor, html_filter): chmod go-w %s\n"
                             % (self.t.rc, self.t.rc))
            self.assertEqual(r.stdout, b"")
        os.chmod(self.t.rc, 0o644)
        self.assertEqual(self.t.out("ls"), "a\timap\nlocal\tlocal\n")
        d = os.path.dirname(self.t.rc)
        os.chmod(d, 0o1777)
        try:
            r = self.t.run("ls")
        finally:
            os.chmod(d, 0o700)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"chmod go-w %s," % d.encode(), r.stderr)

    def test_passcmd_that_never_answers_times_out(self):
        # A pinentry with no terminal to ask on: the sync stops waiting,
        # names the command, and the command is killed.
        pidfile = os.path.join(self.t.dir, "passcmd.pid")
        port = ternlib.free_ports(1)[0]
        for proto in ("pop3", "imap"):
            with self.subTest(proto=proto):
                self.t.write_rc(
                    "account a\n protocol %s\n host 127.0.0.1\n port %d\n"
                    " tls off\n user u\n"
                    " passcmd \"echo $$ >%s; exec sleep 600\"\n"
                    % (proto, port, pidfile))
                r = self.t.run("sync", "a", timeout=60,
                               env={"TERN_CMD_TIMEOUT": "1"})
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 1, err)
                self.assertIn("passcmd \"echo $$ >%s; exec sleep 600\" "
                              "gave no password within 1 s" % pidfile, err)
                with open(pidfile) as f:
                    pid = int(f.read())
                # Killed and reaped: no such process any more.
                self.assertRaises(ProcessLookupError, os.kill, pid, 0)

    def test_minus_F(self):
        other = os.path.join(self.t.dir, "other.rc")
        with open(other, "w") as f:
            f.write("account x\n protocol imap\n host h\n user u\n"
                    " passcmd true\n")
        self.assertEqual(self.t.out("-F", other, "ls"),
                         "x\timap\nlocal\tlocal\n")
        r = self.t.run("-F", other + ".missing", "ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"cannot open", r.stderr)

    def test_ls_folders_and_messages_from_store(self):
        self.t.write_rc("account a\n protocol pop3\n host h\n user u\n"
                        " passcmd true\n")
        self.assertEqual(self.t.out("ls", "a"), "INBOX\t0\t0\n")
        self.assertEqual(self.t.out("ls", "a/INBOX"), "")
        r = self.t.run("ls", "nope/INBOX")
        self.assertEqual(r.returncode, 2)
        # An unknown folder is a usage error, like an unknown account
        # (tern(1), EXIT STATUS), whichever command names it.
        for args in (("ls", "a/Nope"), ("search", "a/Nope", "x"),
                     ("export", "a/Nope", "--mbox",
                      os.path.join(self.t.dir, "x.mbox"))):
            r = self.t.run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stderr, b"tern: no folder 'Nope' in account "
                             b"a\n")
        self.assertFalse(os.path.exists(os.path.join(self.t.dir, "x.mbox")))


if __name__ == "__main__":
    ternlib.main()
