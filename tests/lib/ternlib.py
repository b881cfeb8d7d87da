"""Scenario-test harness: a real Dovecot on loopback, and the tern binary.

Dovecot runs from a config file in a temporary directory (no system
service), with IMAP, IMAPS, POP3 and POP3S on free ports of 127.0.0.1 and a
self-signed certificate made at test time. It works as root (login and mail
processes run as dovenull/nobody) and as an ordinary user (everything runs
as that user). A test that needs the server fails when it cannot start.
"""

import base64
import collections
import email.utils
import fcntl
import grp
import imaplib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SRCDIR = os.environ.get("TERN_SRCDIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(
                            os.path.abspath(__file__)))))
TERN = os.environ.get("TERN", os.path.join(SRCDIR, "build", "tern"))


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def find_binary(name):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if p is None:
        raise RuntimeError("%s not found: install dovecot-imapd and "
                           "dovecot-pop3d" % name)
    return p


def make_cert(directory):
    """A self-signed certificate for localhost and 127.0.0.1."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)
    return cert, key


class Dovecot:
    """A Dovecot instance in its own directory.

    users: {name: password}. imap_capability: a string to replace the
    advertised IMAP capabilities (hides extensions), or None. quota: a
    storage limit such as "1G", or None. namespace: the personal
    namespace's prefix, e.g. "INBOX." for Courier's layout (every folder
    is INBOX.NAME, separator "."), or None for Dovecot's default (no
    prefix). IMAP and POP3 listen plain (imap_port, pop3_port) and with
    implicit TLS (imaps_port, pop3s_port) whatever the options.

    The mail of a user is read and checked with imap(user) (an imaplib
    client logged in) and state(user) (every folder's Message-IDs and
    flags); deliver() drops a message into a Maildir. With rawlog, Dovecot
    writes the traffic of every IMAP connection to a file: what it served
    is read back with served_bodies(user) and client_commands(user).
    """

    def __init__(self, users=None, imap_capability=None, quota=None,
                 pop3_uidl_format="%08Xu%08Xv", extra_conf="",
                 namespace=None, rawlog=False,
                 oauth2_introspection_url=None):
        self.users = users or {"alice": "secret"}
        self.namespace = namespace
        self.dir = tempfile.mkdtemp(prefix="tern-dovecot-")
        os.chmod(self.dir, 0o755)
        (self.imap_port, self.imaps_port, self.pop3_port,
         self.pop3s_port) = free_ports(4)
        self.cafile, key = make_cert(self.dir)
        self.root = os.getuid() == 0
        if self.root:
            self.mail_user, self.mail_group = "nobody", "nogroup"
            login_user, internal_user = "dovenull", "dovecot"
            internal_group = "dovecot"
        else:
            self.mail_user = pwd.getpwuid(os.getuid()).pw_name
            self.mail_group = grp.getgrgid(os.getgid()).gr_name
            login_user = internal_user = self.mail_user
            internal_group = self.mail_group
        self.uid = pwd.getpwnam(self.mail_user).pw_uid
        self.gid = grp.getgrnam(self.mail_group).gr_gid
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for u, p in self.users.items():
                f.write("%s:{PLAIN}%s\n" % (u, p))
        os.chmod(os.path.join(self.dir, "passwd"), 0o644)
        os.mkdir(os.path.join(self.dir, "home"))
        for u in self.users:
            self._mkmaildir(u, "")
        plugins = ""
        imap_plugins = ""
        quota_conf = ""
        if quota:
            plugins = "mail_plugins = $mail_plugins quota"
            imap_plugins = "mail_plugins = $mail_plugins imap_quota"
            quota_conf = ("plugin {\n  quota = maildir:User quota\n"
                          "  quota_rule = *:storage=%s\n}\n" % quota)
        ns = ""
        if namespace is not None:
            ns = ("namespace inbox {\n  inbox = yes\n  prefix = %s\n"
                  "  separator = .\n}\n" % namespace)
        self.rawlog_dir = None
        raw = ""
        if rawlog:
            self.rawlog_dir = os.path.join(self.dir, "rawlog")
            raw = "rawlog_dir = %s/%%u" % self.rawlog_dir
            for u in self.users:
                p = os.path.join(self.rawlog_dir, u)
                os.makedirs(p)
                if self.root:
                    os.chown(p, self.uid, self.gid)
        mechs = "plain login"
        oauth_passdb = ""
        if oauth2_introspection_url is not None:
            mechs += " oauthbearer xoauth2"
            ext = os.path.join(self.dir, "dovecot-oauth2.conf.ext")
            with open(ext, "w") as f:
                f.write("introspection_mode = post\n"
                        "introspection_url = %s\n"
                        "force_introspection = yes\n"
                        "username_attribute = username\n"
                        "active_attribute = active\n"
                        "active_value = true\n"
                        % oauth2_introspection_url)
            os.chmod(ext, 0o644)
            oauth_passdb = ("passdb {\n  driver = oauth2\n"
                            "  mechanisms = oauthbearer xoauth2\n"
                            "  args = %s\n}\n" % ext)
        cap = ""
        if imap_capability is not None:
            cap = "imap_capability = %s" % imap_capability
        d = self.dir
        conf = f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cafile}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = {mechs}
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
{oauth_passdb}
userdb {{
  driver = static
  args = uid={self.mail_user} gid={self.mail_group} home={d}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
{raw}
{plugins}
pop3_uidl_format = {pop3_uidl_format}
{cap}
protocol imap {{
  {imap_plugins}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{quota_conf}
{ns}
{extra_conf}
"""
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.started = False

    def _mkmaildir(self, user, folder):
        home = os.path.join(self.dir, "home", user)
        base = os.path.join(home, "Maildir")
        if folder and folder != "INBOX":
            base = os.path.join(base, "." + folder)
        for sub in ("", "cur", "new", "tmp"):
            p = os.path.join(base, sub)
            os.makedirs(p, exist_ok=True)
        for root, dirs, files in os.walk(home):
            for x in [root] + [os.path.join(root, y) for y in dirs + files]:
                os.chown(x, self.uid, self.gid) if self.root else None
        return base

    def start(self):
        binary = find_binary("dovecot")
        # The daemon keeps its inherited descriptors: give it a file, not
        # a pipe whose end we would wait for.
        out_path = os.path.join(self.dir, "start.out")
        with open(out_path, "wb") as out:
            r = subprocess.run([binary, "-c", self.conf], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=out, timeout=30)
        if r.returncode != 0:
            with open(out_path, errors="replace") as f:
                raise RuntimeError("dovecot did not start: %s\n%s" %
                                   (f.read(), self.log()))
        self.started = True
        deadline = time.time() + 20
        for port in (self.imap_port, self.imaps_port, self.pop3_port,
                     self.pop3s_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("dovecot is not listening on %d:"
                                           "\n%s" % (port, self.log()))
                    time.sleep(0.05)
        return self

    def stop(self):
        if self.started:
            subprocess.run([find_binary("doveadm"), "-c", self.conf, "stop"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            pidfile = os.path.join(self.dir, "run", "master.pid")
            deadline = time.time() + 10
            while os.path.exists(pidfile) and time.time() < deadline:
                time.sleep(0.05)
            self.started = False

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def _rawlog(self, user, ext):
        """The lines of every rawlog file of user ending in ext (".in":
        what clients sent, ".out": what Dovecot answered), connection
        by connection, without the time stamp Dovecot puts before each."""
        assert self.rawlog_dir, "Dovecot(rawlog=True) logs the connections"
        d = os.path.join(self.rawlog_dir, user)
        out = []
        for name in sorted(os.listdir(d)):
            if name.endswith(ext):
                with open(os.path.join(d, name), "rb") as f:
                    out.append([re.sub(rb"^\d+\.\d+ ", b"", x)
                                for x in f.read().split(b"\n")])
        return out

    def client_commands(self, user="alice"):
        """Every command line clients sent for user, as text."""
        return [x.decode(errors="replace").rstrip("\r")
                for lines in self._rawlog(user, ".in") for x in lines
                if re.match(rb"^\S+ [A-Za-z]", x)]

    def served_bodies(self, user="alice"):
        """How often Dovecot served each whole message (BODY[] or
        BINARY[]) to user's clients: a Counter of Message-IDs, read from
        the header inside each literal."""
        served = collections.Counter()
        for lines in self._rawlog(user, ".out"):
            for i, line in enumerate(lines):
                if not re.search(rb"(BODY|BINARY)\[\] ~?\{\d+\}\r?$",
                                 line):
                    continue
                mid = None
                for h in lines[i + 1:]:
                    if not h.strip():
                        break  # the end of its header
                    m = re.match(rb"(?i)message-id:\s*(\S+)", h)
                    if m:
                        mid = m.group(1).decode()
                        break
                served[mid] += 1
        return served

    def maildir(self, user="alice", folder="INBOX"):
        return self._mkmaildir(user, folder)

    def deliver(self, raw, user="alice", folder="INBOX", flags="", name=None):
        """Drop a message into a Maildir; it appears to IMAP and POP3."""
        if isinstance(raw, str):
            raw = raw.encode()
        base = self.maildir(user, folder)
        name = name or "%d.M%dP%d.tern-test" % (time.time(),
                                                  next(_delivery_counter),
                                                  os.getpid())
        if flags:
            path = os.path.join(base, "cur", name + ":2," + flags)
        else:
            path = os.path.join(base, "new", name)
        tmp = os.path.join(base, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        if self.root:
            os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, path)
        return path

    def count(self, user="alice", folder="INBOX"):
        base = self.maildir(user, folder)
        return sum(len(os.listdir(os.path.join(base, s)))
                   for s in ("cur", "new"))

    def imap(self, user="alice", tls=False):
        """An imaplib client logged in as user (plain or implicit TLS)."""
        if tls:
            ctx = ssl.create_default_context(cafile=self.cafile)
            c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port,
                                  ssl_context=ctx, timeout=60)
        else:
            c = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=60)
        c.login(user, self.users[user])
        return c

    def folders(self, user="alice", client=None):
        """The server's folder names as it lists them (delimiter and
        namespace prefix included), decoded from modified UTF-7."""
        c = client or self.imap(user)
        try:
            typ, data = c.list()
            assert typ == "OK", data
        finally:
            if client is None:
                c.logout()
        return sorted(parse_list(item)[2] for item in data if item)

    def messages(self, user="alice", folder="INBOX", client=None):
        """[(uid, Message-ID, set of flags)] of a folder, by UID; \\Recent
        left out. folder is the server's name."""
        c = client or self.imap(user)
        try:
            typ, data = c.select(imap_quote(folder), readonly=True)
            assert typ == "OK", (folder, data)
            typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK["
                              "HEADER.FIELDS (MESSAGE-ID)])")
            assert typ == "OK", data
        finally:
            if client is None:
                c.logout()
        out = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = int(re.search(r"UID (\d+)", meta).group(1))
            flags = set(re.search(r"FLAGS \(([^)]*)\)", meta).group(1)
                        .split()) - {"\\Recent"}
            m = re.search(rb"(?im)^message-id:\s*(\S+)", item[1])
            out.append((uid, m.group(1).decode() if m else None, flags))
        return sorted(out)

    def state(self, user="alice"):
        """Every folder of user: {server name: sorted [(Message-ID,
        "flags")]}, the flags sorted and space-separated. Duplicates show
        as repeated entries."""
        c = self.imap(user)
        try:
            typ, data = c.list()
            assert typ == "OK", data
            out = {}
            for flags, _, name in (parse_list(i) for i in data if i):
                if {"\\Noselect", "\\NonExistent"} & {
                        f for f in flags}:
                    continue
                msgs = self.messages(user, name, client=c)
                out[name] = sorted((mid, " ".join(sorted(f)))
                                   for _, mid, f in msgs)
            return out
        finally:
            c.logout()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.cleanup()


def imap_quote(name):
    """A mailbox name as an IMAP quoted string, in modified UTF-7."""
    enc = imap_utf7_encode(name)
    return '"%s"' % enc.replace("\\", "\\\\").replace('"', '\\"')


def imap_utf7_encode(s):
    out, buf = [], []

    def flush():
        if buf:
            b = base64.b64encode("".join(buf).encode("utf-16-be"))
            out.append("&" + b.decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def imap_utf7_decode(s):
    def dec(m):
        t = m.group(1)
        if not t:
            return "&"
        t = t.replace(",", "/")
        t += "=" * (-len(t) % 4)
        return base64.b64decode(t).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", dec, s)


def parse_list(item):
    """(flags, delimiter, name) of one LIST response line from imaplib;
    the name decoded from modified UTF-7."""
    if isinstance(item, tuple):  # a name sent as a literal
        head, name = item[0].decode(), item[1].decode()
        m = re.match(r'\(([^)]*)\) (NIL|"(?:\\.|[^"])*")', head)
    else:
        s = item.decode()
        m = re.match(r'\(([^)]*)\) (NIL|"(?:\\.|[^"])*") (.*)$', s)
        name = m.group(3)
        if name.startswith('"'):
            name = re.sub(r'\\(.)', r'\1', name[1:-1])
    delim = m.group(2)
    delim = None if delim == "NIL" else delim[1:-1].replace("\\", "")
    return m.group(1).split(), delim, imap_utf7_decode(name)


_delivery_counter = itertools.count(1)


def store_db(data):
    """The store of a tern whose XDG_DATA_HOME is data, opened with the
    SQL function tern_body(raw, pack_id, pack_off, pack_len), the bytes of
    a body whether in the database or in a pack file."""
    path = os.path.join(data, "tern", "tern.db")
    c = sqlite3.connect(path)

    def body(raw, pack, off, length):
        if pack is None:
            return raw
        # A missing or short pack gives a wrong body, for the test to see.
        try:
            with open(os.path.join(data, "tern", "packs", str(pack)),
                      "rb") as f:
                f.seek(off)
                return f.read(length)
        except FileNotFoundError:
            return None

    c.create_function("tern_body", 4, body)
    return c


BODY = "tern_body(b.raw, b.pack_id, b.pack_off, b.pack_len)"


def make_message(n=1, subject=None, sender="Bob <bob@example.org>",
                 to="alice@example.net", body=None, date=None,
                 msgid=None, extra_headers=""):
    """A small RFC 5322 message with CRLF line ends."""
    subject = subject if subject is not None else "Message %d" % n
    date = date or email.utils.formatdate(1700000000 + n * 60)
    msgid = msgid or "<msg%d.%d@example.org>" % (n, os.getpid())
    body = body if body is not None else "This is message %d.\n" % n
    text = ("From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: %s\n%s"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s"
            % (sender, to, subject, date, msgid, extra_headers, body))
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                   b"runtime error:", b"ERROR: UndefinedBehaviorSanitizer")


def check_sanitizers(what, stderr):
    """Fail on any ASan/LSan/UBSan report in a program's stderr (the suite
    also runs with -Db_sanitize=address,undefined)."""
    if isinstance(stderr, str):
        stderr = stderr.encode()
    for mark in SANITIZER_MARKS:
        if mark in stderr:
            raise AssertionError("%s: sanitizer report:\n%s"
                                 % (what, stderr.decode(errors="replace")))


class Tern:
    """The tern binary with its own XDG directories and rc file."""

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="tern-home-")
        self.config = os.path.join(self.dir, "config")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(self.config, "tern"), exist_ok=True)
        self.rc = os.path.join(self.config, "tern", "rc")

    def env(self, extra=None):
        e = dict(os.environ)
        e["XDG_CONFIG_HOME"] = self.config
        e["XDG_DATA_HOME"] = self.data
        e["HOME"] = self.dir
        e["TZ"] = "UTC"
        e.pop("TERN_CURL_VERBOSE", None)
        if extra:
            e.update(extra)
        return e

    def write_rc(self, text, mode=0o600):
        with open(self.rc, "w") as f:
            f.write(text)
        os.chmod(self.rc, mode)

    def account(self, dovecot, name="acct", protocol="imap", tls="on",
                user="alice", password=None, extra="", port=None):
        """rc text for an account on the test server; port: another one
        (a proxy's, or 1 for a server that cannot be reached)."""
        if port is not None:
            pass
        elif protocol == "imap":
            port = dovecot.imaps_port if tls == "on" else dovecot.imap_port
        else:
            port = dovecot.pop3s_port if tls == "on" else dovecot.pop3_port
        password = password or dovecot.users[user]
        return (f"account {name}\n"
                f"    protocol {protocol}\n"
                f"    host 127.0.0.1\n"
                f"    port {port}\n"
                f"    tls {tls}\n"
                f"    cafile {dovecot.cafile}\n"
                f"    user {user}\n"
                f"    password \"{password}\"\n"
                f"{extra}")

    def run(self, *args, input=None, timeout=120, env=None, check=False):
        r = subprocess.run([TERN] + list(args), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env(env), timeout=timeout)
        check_sanitizers("tern " + " ".join(args), r.stderr)
        if check and r.returncode != 0:
            raise AssertionError("tern %s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), r.returncode,
                                    r.stdout.decode(errors="replace"),
                                    r.stderr.decode(errors="replace")))
        return r

    def out(self, *args, **kw):
        """Run, require exit 0, return stdout as text."""
        kw["check"] = True
        return self.run(*args, **kw).stdout.decode()

    def sync_lock_held(self):
        """Does a tern hold the sync lock of an account of this store?"""
        d = os.path.join(self.data, "tern")
        for name in os.listdir(d) if os.path.isdir(d) else []:
            if not (name.startswith("sync-") and name.endswith(".lock")):
                continue
            with open(os.path.join(d, name), "a") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
        return False

    def syncs_at_once(self, account, n=3, timeout=120):
        """n tern sync ACCOUNT at once: the first has the account's sync
        lock when the others start. Returns (status, stdout, stderr) of
        each, in the order they started."""
        env = self.env()
        first = subprocess.Popen([TERN, "sync", account], env=env,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        procs = [first]
        end = time.time() + timeout
        while not self.sync_lock_held() and first.poll() is None:
            if time.time() > end:
                first.kill()
                raise AssertionError("the first sync never took its lock")
            time.sleep(0.01)
        for _ in range(n - 1):
            procs.append(subprocess.Popen([TERN, "sync", account], env=env,
                                          stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE))
        out = []
        for p in procs:
            o, e = p.communicate(timeout=timeout)
            check_sanitizers("tern sync", e)
            out.append((p.returncode, o.decode(errors="replace"),
                        e.decode(errors="replace")))
        return out

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)



class ProxiedDovecotCase(unittest.TestCase):
    """A Dovecot with the class's USERS for the whole class, a cutting
    proxy (tests/lib/wire.py) before its plain IMAP port, and a user of
    its own for each test: next_user(prefix) gives "PREFIX0", "PREFIX1",
    ... in turn, so USERS must hold enough of them."""

    USERS = {}

    @classmethod
    def setUpClass(cls):
        import wire
        cls.dovecot = Dovecot(users=cls.USERS).start()
        cls.proxy = wire.Proxy(cls.dovecot.imap_port)
        cls.users_taken = 0

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.dovecot.cleanup()

    def next_user(self, prefix):
        cls = type(self)
        name = "%s%d" % (prefix, cls.users_taken)
        cls.users_taken += 1
        return name

def main():
    """Run the unittest cases of the calling module; non-zero on failure."""
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    if r.skipped:
        # Honest tests do not skip.
        print("skipped tests are failures here: %s" % r.skipped)
        failed += len(r.skipped)
    if r.testsRun == 0:
        print("no tests ran")
        failed += 1
    sys.exit(1 if failed else 0)
