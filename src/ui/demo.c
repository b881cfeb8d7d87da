/*
 * The demo store: generated mail in folders of the local account, so a
 * newcomer can try every screen without an account. Deterministic (a
 * fixed seed and a fixed clock), rebuilt each time it is opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/mime.h"
#include "ui-private.h"

#define DEMO_EPOCH 1790000000 /* 2026-09-21, so dates never move */

struct demo {
	struct store *s;
	uint64_t seed;
	int64_t account;
	unsigned serial;
};

static unsigned
demo_rand(struct demo *d, unsigned n)
{
	d->seed = d->seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((d->seed >> 33) % n);
}

static const char *const people[] = {
	"Ada Lovelace <ada@example.org>",
	"José Núñez <jose@example.es>",
	"山田太郎 <taro@example.jp>",
	"Zoë Ørsted <zoe@example.dk>",
	"Björk Guðmundsdóttir <bjork@example.is>",
	"Ελένη Παπαδοπούλου <eleni@example.gr>",
	"Renée Dupont <renee@example.fr>",
	"Grace Hopper <grace@example.com>",
	"Алексей Иванов <alexei@example.ru>",
	"Kofi Mensah <kofi@example.gh>",
	"Priya Raman <priya@example.in>",
	"Mateus Conceição <mateus@example.br>",
};

static const char *const topics[] = {
	"Quarterly report draft",
	"Lunch on Thursday?",
	"Re-indexing the archive",
	"Café opening hours — changed",
	"Build broken on arm64",
	"Photos from the trip 📷",
	"Invoice #4711",
	"Your order has shipped",
	"Meeting notes: roadmap",
	"日本語のテスト件名",
	"Proposal: drop the legacy importer",
	"Conference talk accepted",
	"Backup failed last night",
	"Weekend plans",
	"Security update for the mail server",
	"Question about IMAP IDLE",
	"New contributor guide",
	"Release 0.2 checklist",
	"Wide characters: ｆｕｌｌｗｉｄｔｈ and e\xcc\x81 combining",
	"Holiday schedule",
};

static const char *const lines[] = {
	"Thanks for sending this over; I had a look this morning.",
	"The numbers in the second table do not add up, can you check?",
	"I think we should keep it simple and ship what we have.",
	"Let me know if Thursday works for you, otherwise Friday.",
	"The logs are attached; the failure starts right after midnight.",
	"This is a deliberately long line that goes on and on so that the pager has to wrap it at the edge of the terminal, whatever its width happens to be today.",
	"Ça marche pour moi — à bientôt !",
	"よろしくお願いします。",
	"Nothing urgent, read it when you have a minute.",
	"I have pushed a branch with the fix; review welcome.",
};

static void
demo_body(struct demo *d, struct buf *b, const char *quote_from, int n)
{
	int i;

	buf_adds(b, "Hello,\n\n");
	for (i = 0; i < n; i++) {
		buf_adds(b, lines[demo_rand(d, TERN_NELEM(lines))]);
		buf_adds(b, i % 3 == 2 ? "\n\n" : "\n");
	}
	if (quote_from != NULL) {
		buf_printf(
		    b, "\nOn a day not long ago, %s wrote:\n", quote_from);
		for (i = 0; i < 3; i++)
			buf_printf(b, "> %s\n",
			    lines[demo_rand(d, TERN_NELEM(lines))]);
	}
	buf_adds(b, "\n-- \nSent from the tern demo\n");
}

/* Insert one message; its Message-ID is written to msgid. */
static int
demo_msg(struct demo *d, int64_t folder, int64_t date, const char *from,
    const char *subject, const char *irt, const char *refs, unsigned flags,
    int attach, char *msgid, size_t msgidlen, char **cause)
{
	struct store_msg m;
	struct buf raw, body;
	char datestr[64];
	time_t tt = (time_t)date;
	struct tm tm;
	int ret;

	snprintf(msgid, msgidlen, "<demo.%u@tern.example>", ++d->serial);
	gmtime_r(&tt, &tm);
	strftime(datestr, sizeof datestr, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_init(&raw, 0);
	buf_init(&body, 0);
	demo_body(d, &body, irt ? from : NULL, 2 + (int)demo_rand(d, 9));
	buf_printf(&raw,
	    "From: %s\r\nTo: You <you@tern.example>\r\nDate: %s\r\n"
	    "Subject: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n",
	    from, datestr, subject, msgid);
	if (irt != NULL)
		buf_printf(&raw, "In-Reply-To: %s\r\nReferences: %s\r\n", irt,
		    refs ? refs : irt);
	if (attach) {
		buf_adds(&raw,
		    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
		buf_add(&raw, body.data, body.len);
		buf_adds(&raw,
		    "\r\n--b1\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n"
		    "Content-Disposition: attachment; filename=\"notes.txt\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n"
		    "VGhlc2UgYXJlIHRoZSBub3RlcyBmcm9tIHRoZSBkZW1vLgo=\r\n"
		    "--b1--\r\n");
	} else {
		buf_adds(&raw,
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n");
		buf_add(&raw, body.data, body.len);
	}
	memset(&m, 0, sizeof m);
	m.folder_id = folder;
	m.flags = flags;
	m.date = date;
	m.internaldate = date;
	m.size = (int64_t)raw.len;
	m.from = (char *)from;
	m.to = (char *)"You <you@tern.example>";
	m.subject = (char *)subject;
	m.message_id = msgid;
	m.in_reply_to = (char *)irt;
	m.refs = (char *)refs;
	m.content_type = (char *)(attach ? "multipart/mixed" : "text/plain");
	m.has_attach = attach;
	m.has_body = 1;
	m.fetched_at = date;
	ret = store_msg_insert(d->s, &m, raw.data, raw.len, cause);
	buf_free(&raw);
	buf_free(&body);
	return ret;
}

/* A folder of n messages; threads > 0 makes replies in threads. */
static int
demo_folder(struct demo *d, const char *name, int n, int threaded,
    int64_t start, int unseen_tail, char **cause)
{
	int64_t folder = store_folder(d->s, d->account, name, 1, cause);
	char msgid[64], prev[64], refs[1024], subj[256];
	int i = 0;

	if (folder < 0)
		return -1;
	while (i < n) {
		const char *topic = topics[demo_rand(d, TERN_NELEM(topics))];
		int len = threaded ? 1 + (int)demo_rand(d, 7) : 1, j;

		refs[0] = '\0';
		for (j = 0; j < len && i < n; j++, i++) {
			const char *from =
			    people[demo_rand(d, TERN_NELEM(people))];
			unsigned flags = STORE_F_SEEN;
			int64_t date = start + (int64_t)i * 5400 +
			    (int64_t)demo_rand(d, 3000);

			if (i >= n - unseen_tail)
				flags &= ~(unsigned)STORE_F_SEEN;
			if (demo_rand(d, 9) == 0)
				flags |= STORE_F_FLAGGED;
			if (demo_rand(d, 7) == 0)
				flags |= STORE_F_REPLIED;
			snprintf(
			    subj, sizeof subj, "%s%s", j ? "Re: " : "", topic);
			if (demo_msg(d, folder, date, from, subj,
			        j ? prev : NULL, j ? refs : NULL, flags,
			        demo_rand(d, 15) == 0, msgid, sizeof msgid,
			        cause) != 0)
				return -1;
			snprintf(prev, sizeof prev, "%s", msgid);
			if (strlen(refs) + strlen(msgid) + 2 < sizeof refs) {
				if (refs[0])
					strcat(refs, " ");
				strcat(refs, msgid);
			}
		}
	}
	return 0;
}

static const char welcome_body[] =
    "Welcome to the tern demo.\r\n"
    "\r\n"
    "Everything here is generated: try every key, nothing is sent anywhere\r\n"
    "and the demo is made afresh each time it starts.\r\n"
    "\r\n"
    "  j k        next / previous message (here: scroll)\r\n"
    "  J K        next / previous message without leaving the pager\r\n"
    "  q          back to the index; q again quits\r\n"
    "  c          the folder list; ] and [ open the next and previous\r\n"
    "  / n        search; l limits the index to what matches\r\n"
    "  d u $      delete, undelete, purge\r\n"
    "  s F N      move to a folder, flag, toggle new\r\n"
    "  o v        sort order, threads (- _ collapse them)\r\n"
    "  t T ;      tag, tag by pattern, act on the tagged (;d ;s ...)\r\n"
    "  ?          every key as bound now\r\n"
    "\r\n"
    "  S o        save or open the file attached below\r\n"
    "\r\n"
    "When you are ready for your own mail, write ~/.config/tern/rc as\r\n"
    "tern-rc(5) describes and start tern without --demo.\r\n";

/* The newest message of the demo's INBOX: a letter about the keys. */
static int
demo_welcome(struct demo *d, char **cause)
{
	int64_t folder = store_folder(d->s, d->account, "INBOX", 1, cause);
	struct store_msg m;
	struct buf raw;
	int64_t date = DEMO_EPOCH + 86400 * 30;
	int ret;

	if (folder < 0)
		return -1;
	buf_init(&raw, 0);
	buf_adds(&raw,
	    "From: tern <demo@tern.example>\r\n"
	    "To: You <you@tern.example>\r\n"
	    "Date: Wed, 21 Oct 2026 09:00:00 +0000\r\n"
	    "Subject: Welcome to tern: a tour of the keys\r\n"
	    "Message-ID: <welcome@tern.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"w1\"\r\n\r\n"
	    "--w1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
	buf_adds(&raw, welcome_body);
	buf_adds(&raw,
	    "\r\n--w1\r\nContent-Type: text/plain; name=\"keys.txt\"\r\n"
	    "Content-Disposition: attachment; filename=\"keys.txt\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "VGhlIGtleXMgb2YgdGVybiBhcmUgbGlzdGVkIGJ5ID8K\r\n"
	    "--w1--\r\n");
	memset(&m, 0, sizeof m);
	m.folder_id = folder;
	m.date = m.internaldate = m.fetched_at = date;
	m.size = (int64_t)raw.len;
	m.from = (char *)"tern <demo@tern.example>";
	m.to = (char *)"You <you@tern.example>";
	m.subject = (char *)"Welcome to tern: a tour of the keys";
	m.message_id = (char *)"<welcome@tern.example>";
	m.content_type = (char *)"multipart/mixed";
	m.has_attach = 1;
	m.has_body = 1;
	ret = store_msg_insert(d->s, &m, raw.data, raw.len, cause);
	buf_free(&raw);
	return ret;
}

int
ui_demo_keep(
    struct ui *u, const char *folder, const char *raw, size_t len, char **cause)
{
	struct mime_envelope env;
	struct store_msg m;
	int64_t account;
	int ret;

	memset(&m, 0, sizeof m);
	if ((account = store_account(
	         u->s, TERN_LOCAL_ACCOUNT, "local", cause)) < 0 ||
	    (m.folder_id = store_folder(u->s, account, folder, 1, cause)) < 0)
		return -1;
	mime_envelope_parse(raw, len, &env);
	core_msg_from_envelope(&m, &env);
	m.flags = STORE_F_SEEN;
	m.size = (int64_t)len;
	m.has_body = 1;
	m.fetched_at = (int64_t)time(NULL);
	if (m.date == 0)
		m.date = m.fetched_at;
	m.internaldate = m.fetched_at;
	ret = store_msg_insert(u->s, &m, raw, len, cause);
	mime_envelope_clear(&env);
	if (ret == 0) {
		/* The folder list (and its counts) from the store again. */
		ui_index_cache_clear(u);
		ui_folders_load(u);
		ui_store_loaded(u);
	}
	return ret;
}

int
ui_demo_create(const char *dir, char **cause)
{
	struct demo d;
	char *db;
	int ret = -1;

	memset(&d, 0, sizeof d);
	d.seed = 20261122;
	if (mkdir_p(dir, 0700, cause) != 0)
		return -1;
	/* Rebuilt from scratch each time: the demo never remembers. */
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < TERN_NELEM(suffixes); i++) {
		db = xasprintf("%s/tern.db%s", dir, suffixes[i]);
		unlink(db);
		free(db);
	}
	if (store_open(dir, &d.s, cause) != 0)
		return -1;
	if (store_begin(d.s, cause) != 0)
		goto out;
	if ((d.account = store_account(
	         d.s, TERN_LOCAL_ACCOUNT, "local", cause)) < 0 ||
	    demo_folder(&d, "INBOX", 240, 1, DEMO_EPOCH, 14, cause) != 0 ||
	    demo_folder(&d, "Lists/tern-devel", 160, 1, DEMO_EPOCH - 86400 * 9,
	        30, cause) != 0 ||
	    demo_folder(&d, "Archive", 100, 0, DEMO_EPOCH - 86400 * 400, 0,
	        cause) != 0 ||
	    demo_folder(&d, "Sent", 25, 0, DEMO_EPOCH - 86400 * 20, 0, cause) !=
	        0 ||
	    demo_welcome(&d, cause) != 0) {
		store_rollback(d.s);
		goto out;
	}
	if (store_commit(d.s, cause) != 0)
		goto out;
	ret = 0;
out:
	store_close(&d.s);
	return ret;
}
