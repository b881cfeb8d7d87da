"""The benchmarks' deterministic mail generator.

Sizes follow a log-normal curve (median ~4 KB, mean ~11 KB, a long tail
to a few MB); headers carry Received chains, DKIM signatures and RFC 2047
words in UTF-8 and ISO-8859-1; about a third of the messages answer an
earlier one (In-Reply-To and References, so they thread); bodies are
plain UTF-8, quoted-printable Latin-1, HTML alternatives, and about one
message in eight has a base64 attachment. Lines end in CRLF, some body
lines begin with a dot (dot-stuffing). The same seed always gives the
same bytes, and the first n messages of a larger corpus are exactly the
corpus of n, so one generated corpus serves every size.

Files are named as a delivery agent names them, with the physical and
CRLF sizes (",S=...,W=..."), so the server reads sizes from the name as
it does for real deliveries.
"""

import base64
import email.utils
import os
import random

WORDS = ("the of and to in is you that it he was for on are as with his "
         "they at be this have from or one had by word but not what all "
         "were we when your can said there use an each which she do how "
         "their if will up other about out many then them these so some "
         "her would make like him into time has look two more write go see "
         "number no way could people my than first water been call who oil "
         "its now find long down day did get come made may part meeting "
         "report budget release server invoice schedule").split()
NAMES = ["Alice Martin", "Bob Dupont", "Chloé Moreau", "Dmitri Ivanov",
         "Eva Müller", "François Petit", "Grace Hopper", "Hiro Tanaka",
         "Ingrid Berg", "José Álvarez", "Katarzyna Nowak", "Liam O'Brien",
         "Зоя Смирнова", "山田太郎"]
DOMAINS = ["example.org", "example.net", "mail.example.com", "lists.example"]


def _words(r, n):
    return " ".join(r.choice(WORDS) for _ in range(n))


def _paragraph(r, width=72):
    text, line, out = _words(r, r.randint(20, 120)).split(), "", []
    for w in text:
        if len(line) + len(w) + 1 > width:
            out.append(line)
            line = w
        else:
            line = (line + " " + w).strip()
    out.append(line)
    if r.random() < 0.1:
        out.append(". a line that begins with a dot")
    return "\r\n".join(out)


def _rfc2047(s, charset="UTF-8"):
    try:
        s.encode("ascii")
        return s
    except UnicodeEncodeError:
        pass
    if charset == "ISO-8859-1":
        try:
            raw = s.encode("latin-1")
            q = "".join(chr(b) if 33 <= b < 127 and chr(b) not in "=?_" else
                        "_" if b == 32 else "=%02X" % b for b in raw)
            return "=?ISO-8859-1?Q?%s?=" % q
        except UnicodeEncodeError:
            pass
    return "=?UTF-8?B?%s?=" % base64.b64encode(s.encode()).decode()


def _qp_latin1(text):
    out = []
    for line in text.split("\r\n"):
        enc = "".join(c if 32 <= ord(c) < 127 and c != "=" else
                      "=%02X" % ord(c) for c in line)
        out.append(enc)
    return "\r\n".join(out)


class Generator:
    """Messages 0, 1, 2, ... of the corpus of one seed, in order."""

    def __init__(self, seed=1):
        self.seed = seed
        self.r = random.Random(seed)
        # Body text comes from a pool of paragraphs: generating every
        # word of a gigabyte would take longer than the benchmark.
        self.pool = [_paragraph(self.r) for _ in range(512)]
        self.subjects = []   # base subject of each message
        self.refs = []       # References chain of each message (indexes)
        self.i = 0

    def msgid(self, i):
        return "<bench.%d.%d@example.org>" % (i, self.seed)

    def next(self):
        r, i = self.r, self.i
        self.i += 1
        name = r.choice(NAMES)
        local = name.split()[0].lower().encode("ascii", "ignore").decode()
        addr = "%s@%s" % (local or "user%d" % (i % 97), r.choice(DOMAINS))
        date = email.utils.formatdate(1700000000 + i * 97, localtime=False)
        parent = None
        if i > 0 and r.random() < 0.35:
            parent = i - r.randint(1, min(i, 60))
        if parent is None:
            base = "%s %s" % (r.choice(["", "Réunion", "Rapport", "Fwd:",
                                        "Question:"]), _words(r, 5))
            refs = []
            subject = base.strip()
        else:
            base = self.subjects[parent]
            refs = (self.refs[parent] + [parent])[-10:]
            subject = "Re: " + base
        self.subjects.append(base.strip())
        self.refs.append(refs)
        hcs = "ISO-8859-1" if r.random() < 0.3 else "UTF-8"
        hdr = []
        for hop in range(r.randint(2, 6)):
            hdr.append("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n"
                       "\tby mail.example.net with ESMTPS id %08x;\r\n\t%s"
                       % (hop, r.choice(DOMAINS), hop, r.choice(DOMAINS),
                          r.randint(1, 254), r.getrandbits(32), date))
        if r.random() < 0.6:
            sig = base64.b64encode(r.randbytes(256)).decode()
            hdr.append("DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=sel;\r\n"
                       "\tb=%s" % (r.choice(DOMAINS), "\r\n\t".join(
                           sig[k:k + 70] for k in range(0, len(sig), 70))))
        hdr += ["From: %s <%s>" % (_rfc2047(name, hcs), addr),
                "To: alice@example.net",
                "Subject: %s" % _rfc2047(subject, hcs),
                "Date: %s" % date,
                "Message-ID: %s" % self.msgid(i),
                "MIME-Version: 1.0"]
        if refs:
            hdr.append("In-Reply-To: %s" % self.msgid(refs[-1]))
            hdr.append("References: %s" % "\r\n\t".join(
                self.msgid(x) for x in refs))
        # Body size: log-normal, median ~4 KB, long tail, capped at 4 MB.
        target = min(int(r.lognormvariate(8.3, 1.1)), 4 << 20)
        paras, size = [], 0
        while size < target:
            p = r.choice(self.pool)
            paras.append(p)
            size += len(p) + 4
        text = "\r\n\r\n".join(paras)
        kind = r.random()
        if kind < 0.125:
            b = "=_b%08x" % r.getrandbits(32)
            att = base64.encodebytes(r.randbytes(max(target // 2, 512)))
            att = att.decode().replace("\n", "\r\n")
            hdr.append('Content-Type: multipart/mixed; boundary="%s"' % b)
            body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    "%s\r\n--%s\r\nContent-Type: application/pdf; "
                    "name=\"r%d.pdf\"\r\nContent-Transfer-Encoding: base64"
                    "\r\nContent-Disposition: attachment; filename=\"r%d.pdf"
                    "\"\r\n\r\n%s--%s--\r\n"
                    % (b, text[:2000], b, i, i, att, b))
        elif kind < 0.35:
            b = "=_a%08x" % r.getrandbits(32)
            html = "<html><body><p>%s</p></body></html>" % text.replace(
                "\r\n\r\n", "</p>\r\n<p>")
            hdr.append('Content-Type: multipart/alternative; boundary="%s"'
                       % b)
            body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    "%s\r\n--%s\r\nContent-Type: text/html; charset=utf-8"
                    "\r\n\r\n%s\r\n--%s--\r\n" % (b, text, b, html, b))
        elif kind < 0.5:
            hdr += ["Content-Type: text/plain; charset=iso-8859-1",
                    "Content-Transfer-Encoding: quoted-printable"]
            body = _qp_latin1(text.replace("the", "thé")) + "\r\n"
        else:
            hdr.append("Content-Type: text/plain; charset=utf-8")
            body = text + "\r\n"
        return ("\r\n".join(hdr) + "\r\n\r\n" + body).encode(
            "utf-8", "surrogateescape")


def flags_of(i, seed=1):
    """The Maildir flags message i has in an IMAP folder (most are seen)."""
    r = random.Random(seed * 1000003 + i)
    x = r.random()
    f = ""
    if r.random() < 0.05:
        f += "F"
    if x < 0.1:
        f += "R"
    if x < 0.8:
        f += "S"
    return f


def write(directory, count, seed=1, progress=None):
    """Write messages 0..count-1 as files in directory; (names, bytes).

    Names sort in message order. Existing files of the same name are kept,
    so a larger count extends a smaller corpus.
    """
    os.makedirs(directory, exist_ok=True)
    g = Generator(seed)
    names, total = [], 0
    for i in range(count):
        raw = g.next()
        total += len(raw)
        name = "%010d.M%dP1.bench,S=%d,W=%d" % (1700000000 + i, i, len(raw),
                                                len(raw))
        names.append(name)
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                f.write(raw)
            os.rename(path + ".tmp", path)
        if progress and (i + 1) % 10000 == 0:
            progress(i + 1)
    return names, total


# ---------------------------------------------------------------- huge

SMALL_SUBJECTS = ["budget review", "release notes", "weekly report",
                  "server maintenance", "invoice %d", "lunch on friday",
                  "build failure on main", "meeting notes", "question about"
                  " the contract", "travel plans"]


def small_message(i, seed=1):
    """Message i of a huge folder: real index headers, a small body.

    The headers tern's index asks for are all there, with a Received
    chain and a DKIM signature the server has to read past, and Message-
    IDs that sort in no particular order, as real ones do (an index on
    them is written at random places, not appended). The body is a few
    hundred bytes: a million of these fit in a few gigabytes and are
    written in a minute.
    """
    h = (i * 2654435761 + seed * 40503) & 0xffffffff
    name = NAMES[h % len(NAMES)]
    local = name.split()[0].lower().encode("ascii", "ignore").decode() or \
        "user%d" % (h % 97)
    date = email.utils.formatdate(1500000000 + i * 61, localtime=False)
    subj = SMALL_SUBJECTS[(h >> 8) % len(SMALL_SUBJECTS)]
    if "%d" in subj:
        subj = subj % (i % 1000)
    if (h >> 12) % 3 == 0:
        subj = "Re: " + subj
    hdr = ("Return-Path: <%s@%s>\r\n"
           "Received: from mx%d.example.org (mx.example.org [192.0.2.%d])"
           "\r\n\tby mail.example.net with ESMTPS id %08x;\r\n\t%s\r\n"
           "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1;\r\n"
           "\tb=%016x%016x%016x%016x\r\n"
           "From: %s <%s@%s>\r\n"
           "To: alice@example.net\r\n"
           "Subject: %s\r\n"
           "Date: %s\r\n"
           "Message-ID: <%08x.%d@%s>\r\n"
           "MIME-Version: 1.0\r\n"
           % (local, DOMAINS[h % 4], h % 9, h % 254 + 1, h, date,
              h, h * 3, h * 5, h * 7,
              _rfc2047(name), local, DOMAINS[h % 4], _rfc2047(subj), date,
              h, i, DOMAINS[(h >> 4) % 4]))
    if i > 0 and (h >> 16) % 3 == 0:
        p = i - 1 - (h >> 20) % min(i, 50)
        ph = (p * 2654435761 + seed * 40503) & 0xffffffff
        ref = "<%08x.%d@%s>" % (ph, p, DOMAINS[(ph >> 4) % 4])
        hdr += "In-Reply-To: %s\r\nReferences: %s\r\n" % (ref, ref)
    hdr += "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    body = ("Message %d of the huge folder.\r\n\r\n%s\r\n"
            % (i, " ".join(WORDS[(h >> k) % len(WORDS)]
                           for k in range(0, 24, 2))))
    return (hdr + body).encode("utf-8")


def small_flags(i, seed=1):
    """Flags as flags_of() deals them (most seen, a few flagged or
    answered), from a hash: a Random per message is too slow here."""
    h = ((i + 1) * 2246822519 + seed * 3266489917) & 0xffffffff
    x = h % 1000
    return ("F" if (h >> 10) % 20 == 0 else "") + \
        ("R" if x < 100 else "") + ("S" if x < 800 else "")


def write_small_maildir(cur, count, seed=1, start=0):
    """Messages start..count-1 of small_message() into a Maildir's cur/,
    flags in their names as small_flags() gives them; returns the bytes.
    Files already there (a smaller run's) are kept."""
    total = 0
    have = set(os.listdir(cur))
    for i in range(start, count):
        raw = small_message(i, seed)
        total += len(raw)
        name = "%010d.M%dP1.huge,S=%d,W=%d:2,%s" % (
            1500000000 + i, i, len(raw), len(raw), small_flags(i, seed))
        if name in have:
            continue
        fd = os.open(os.path.join(cur, name),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, raw)
        os.close(fd)
    return total
