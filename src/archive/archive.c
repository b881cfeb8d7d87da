/*
 * Export a folder or an account to mbox or Maildir, and import either
 * into a folder.
 *
 * Export first makes sure every body is at hand (downloading missing IMAP
 * bodies when the driver can), then writes everything under a temporary
 * name and renames it into place, so the result is whole or absent.
 * Import checks the whole file first and stores every message in one
 * transaction, so a bad file changes nothing; so does the import of a
 * whole Maildir++ tree into an account.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive-private.h"
#include "tern/core.h"
#include "tern/mime.h"
#include "tern/store.h"

struct ids {
	int64_t *v;
	size_t n;
	size_t missing;
};

/* An export that cannot have every body. */
#define MISSING \
	"%zu message%s of %s%s%s %s not downloaded and cannot be fetched now " \
	"(offline?); sync while online, or export what is stored with " \
	"--cached-only"

static int
collect(void *arg, const struct store_msg *m)
{
	struct ids *l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = m->id;
	if (!m->has_body)
		l->missing++;
	return 0;
}

static void
progress(const struct archive_opts *o, const char *what, const char *folder,
    uint64_t done, uint64_t total)
{
	struct archive_progress p;

	if (o->progress == NULL)
		return;
	p.what = what;
	p.folder = folder;
	p.done = done;
	p.total = total;
	o->progress(o->arg, &p);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a temporary tree we made. */
static void
rm_tree(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A folder name as one safe file name: "Archive/2024" -> "Archive.2024". */
static char *
safe_name(const char *name, int maildirpp)
{
	char *s = xstrdup(name), *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '/')
			*p = '.';
		else if (maildirpp && *p == '.')
			*p = '_';
		else if (!((*p >= 'a' && *p <= 'z') ||
		             (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9') || *p == '-' ||
		             *p == '_' || *p == '@' || *p == '+' || *p == '.' ||
		             (unsigned char)*p >= 0x80))
			*p = '_';
	}
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

/* A download's progress as the export's. */
static void
fetch_progress(void *arg, const struct sync_progress *p)
{
	const struct archive_opts *o = arg;

	progress(o, "fetch", p->folder, p->done, p->total);
}

/*
 * Download the bodies the store does not hold, when the account's driver
 * can: all at once when it fetches many, else one at a time, stopping at
 * the first failure (offline). Returns how many are still missing.
 */
static size_t
fetch_missing(struct tern *t, const struct folder_ref *r, struct store *s,
    struct ids *l, const struct archive_opts *o)
{
	const struct driver_ops *d;
	struct store_msg m;
	struct sync_opts so;
	int64_t *left;
	size_t i, missing = 0, nleft = 0;
	int failed = 0;

	if (l->missing == 0)
		return 0;
	d = r->account != NULL ? core_driver(r->account->protocol) : NULL;
	if (d != NULL && d->fetch_many != NULL) {
		char *c = NULL;

		memset(&so, 0, sizeof so);
		so.progress = o->progress != NULL ? fetch_progress : NULL;
		so.arg = (void *)o;
		so.wakefd = -1;
		t->fetch_opts = &so;
		failed = d->fetch_many(t, r->account, l->v, l->n, &c) != 0;
		t->fetch_opts = NULL;
		free(c);
	}
	/* Those still missing: looked up in one snapshot. */
	left = xreallocarray(NULL, l->n + 1, sizeof *left);
	if (store_read_begin(s, NULL) == 0) {
		for (i = 0; i < l->n; i++) {
			int64_t folder_id;
			uint32_t uid, uidvalidity;
			int has_body;

			if (store_msg_where(s, l->v[i], &folder_id, &uid,
			        &uidvalidity, &has_body, NULL) == 1 &&
			    !has_body)
				left[nleft++] = l->v[i];
		}
		store_read_end(s);
	} else {
		memcpy(left, l->v, l->n * sizeof *left);
		nleft = l->n;
	}
	for (i = 0; i < nleft; i++) {
		char *c = NULL;

		if (store_msg_get_id(s, left[i], &m, NULL) != 1)
			continue;
		if (m.has_body) {
			store_msg_clear(&m);
			continue;
		}
		if (failed || d == NULL || d->fetch == NULL ||
		    d->fetch(t, r->account, m.id, 0, &c) != 0) {
			failed = 1;
			missing++;
		}
		free(c);
		store_msg_clear(&m);
	}
	free(left);
	return missing;
}

/* "From bob@example.org Tue Nov 14 22:13:20 2023" */
static void
from_line(struct buf *out, const struct store_msg *m)
{
	const char *f = m->from, *lt, *gt;
	char date[64];
	time_t when = (time_t)(m->internaldate ? m->internaldate : m->date);
	struct tm tm;
	size_t i, start = out->len;

	(void)buf_adds(out, "From ");
	if (f != NULL && (lt = strchr(f, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL && gt > lt + 1)
		(void)buf_add(out, lt + 1, (size_t)(gt - lt - 1));
	else if (f != NULL && strchr(f, '@') != NULL && strchr(f, ' ') == NULL)
		(void)buf_adds(out, f);
	else
		(void)buf_adds(out, "MAILER-DAEMON");
	/* The sender is one word of printable ASCII. */
	for (i = start + 5; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];

		if (c <= ' ' || c >= 0x7f)
			out->data[i] = '_';
	}
	if (when <= 0)
		when = time(NULL);
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(date, sizeof date, "Thu Jan  1 00:00:00 1970");
	(void)buf_printf(out, " %s\n", date);
}

/*
 * A download of the missing bodies running beside the writing of the
 * export (a thread of its own, on the tern's store and connection),
 * while the export reads the store through a second handle and writes
 * each message once it is committed, in the order the download brings
 * them (oldest first), instead of after them all.
 */
struct ahead {
	struct tern *t;
	struct rc_account *a;
	const char *account; /* its name, for messages */
	const struct driver_ops *d;
	int64_t *ids;
	size_t n;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started; /* the thread runs */
	int done; /* the download has ended */
	char *cause; /* ... and failed */
	int one_failed; /* a download of one left out failed */
};

static void *
ahead_main(void *arg)
{
	struct ahead *ah = arg;
	char *c = NULL;

	if (ah->d->fetch_many(ah->t, ah->a, ah->ids, ah->n, &c) != 0 &&
	    c == NULL)
		c = xstrdup("downloading failed");
	pthread_mutex_lock(&ah->lock);
	ah->done = 1;
	ah->cause = c;
	pthread_cond_broadcast(&ah->cond);
	pthread_mutex_unlock(&ah->lock);
	return NULL;
}

/* 1 when the download has ended, else wait a little for it; 0. */
static int
ahead_wait(struct ahead *ah)
{
	struct timespec until;
	int done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 5 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&ah->lock);
	if (!(done = ah->done))
		(void)pthread_cond_timedwait(&ah->cond, &ah->lock, &until);
	pthread_mutex_unlock(&ah->lock);
	return done;
}

struct out {
	FILE *f; /* mbox */
	const char *dir; /* Maildir */
	const char *path; /* for messages */
	struct archive_kwmap kw; /* Maildir: the keywords' letters */
	uint64_t unsent; /* mbox: bytes written since writeback began */
	struct ahead *ahead; /* bodies still arriving, or NULL */
};

/* Bytes of a message quoted and written at a time. */
#define MBOX_PIECE (1 << 20)
/* Bytes of an mbox written before their writeback is started. */
#define MBOX_WRITEBACK (8 << 20)

/*
 * Write out what b holds for the mbox; the file is synced at the end, and
 * its writeback is started as it goes, while the rest is written.
 */
static int
mbox_flush(struct out *w, struct buf *b, char **cause)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, w->f) != b->len)
		return set_cause(cause, "%s: %s", w->path, strerror(errno));
	if ((w->unsent += b->len) >= MBOX_WRITEBACK) {
		if (fflush(w->f) != 0)
			return set_cause(
			    cause, "%s: %s", w->path, strerror(errno));
		(void)sync_file_range(
		    fileno(w->f), 0, 0, SYNC_FILE_RANGE_WRITE);
		w->unsent = 0;
	}
	buf_reset(b);
	return 0;
}

/*
 * One message into an mbox, through b (written out a megabyte at a time,
 * which stdio passes on without copying), in pieces of whole lines: a
 * body mapped from a pack (of any size) is let go page by page once
 * written, so memory stays at a piece whatever the size.
 */
static int
mbox_message(struct out *w, const struct store_msg *m,
    const struct store_body *body, struct buf *b, char **cause)
{
	const char *raw = body->data, *nl;
	size_t len = body->len, off = 0, n;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *let = body->map; /* pages before this are let go */

	from_line(b, m);
	archive_mbox_head(b, raw, len, m->flags & STORE_F_ALL, m->keywords);
	for (;;) {
		if (off < len) {
			n = len - off < MBOX_PIECE ? len - off : MBOX_PIECE;
			if (off + n < len &&
			    (nl = memchr(raw + off + n, '\n', len - off - n)) !=
			        NULL)
				n = (size_t)(nl - raw) + 1 - off;
			else if (off + n < len)
				n = len - off;
			archive_mbox_quote(b, raw + off, n);
			off += n;
		}
		if (off == len)
			archive_mbox_tail(b, raw, len);
		if (b->len >= MBOX_PIECE && mbox_flush(w, b, cause) != 0)
			return -1;
		if (body->map != NULL) {
			char *upto =
			    (char *)((uintptr_t)(raw + off) & ~(pg - 1));

			if (upto > let) {
				(void)madvise(
				    let, (size_t)(upto - let), MADV_DONTNEED);
				let = upto;
			}
		}
		if (off == len)
			return 0;
	}
}

/* What an export needs of a folder's rows, read in one pass. */
struct rows {
	struct store_msg *v;
	size_t n, cap;
};

static int
keep_row(void *arg, const struct store_msg *m)
{
	struct rows *r = arg;
	struct store_msg *k;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
	}
	k = &r->v[r->n++];
	memset(k, 0, sizeof *k);
	k->id = m->id;
	k->size = m->size;
	k->flags = m->flags;
	k->date = m->date;
	k->internaldate = m->internaldate;
	k->from = m->from != NULL ? xstrdup(m->from) : NULL;
	k->keywords = m->keywords != NULL ? xstrdup(m->keywords) : NULL;
	return 0;
}

static void
rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		store_msg_clear(&r->v[i]);
	free(r->v);
}

/*
 * A message's body into *body: a small one read into raw (a buffer used
 * again: a mapping of its own would cost more than the copy), a big one
 * mapped (*mapped set), let go as it is written. Its stored length
 * decides, not the size the server announced. As store_msg_raw.
 */
static int
body_get(struct store *s, int64_t id, struct buf *raw, struct store_body *body,
    int *mapped, char **cause)
{
	int found;

	memset(body, 0, sizeof *body);
	*mapped = 0;
	buf_reset(raw);
	found = store_msg_raw_upto(s, id, raw, MBOX_PIECE, cause);
	if (found == 1) {
		body->data = raw->data != NULL ? raw->data : "";
		body->len = raw->len;
	} else if (found == 2 &&
	    (found = store_msg_body(s, id, body, cause)) == 1)
		*mapped = 1;
	return found;
}

/*
 * A body not stored yet while the download goes on: looked for again in
 * a new snapshot each time the download commits more (or has ended).
 */
static int
body_wait(struct store *s, struct ahead *ah, int64_t id, struct buf *raw,
    struct store_body *body, int *mapped, char **cause)
{
	char *c = NULL;
	int done, found;

	for (;;) {
		/* Ended before this look: what it did not store, it won't. */
		done = ahead_wait(ah);
		store_read_end(s);
		if (store_read_begin(s, cause) != 0)
			return -1;
		found = body_get(s, id, raw, body, mapped, cause);
		if (found != 0)
			return found;
		if (!done)
			continue;
		/*
		 * Left out by a download that went well (a server that
		 * answered part of a command): one at a time, as before
		 * there was a download of many, until one fails. The
		 * download's thread is done with the tern.
		 */
		if (ah->cause != NULL || ah->one_failed)
			return 0;
		if (ah->d->fetch == NULL ||
		    ah->d->fetch(ah->t, ah->a, id, 0, &c) != 0) {
			free(c);
			ah->one_failed = 1;
			return 0;
		}
		store_read_end(s);
		if (store_read_begin(s, cause) != 0)
			return -1;
		return body_get(s, id, raw, body, mapped, cause);
	}
}

/* Write every message of a folder (whose bodies are at hand). */
static int
export_folder(struct store *s, const struct store_folder *fo, struct out *w,
    const struct archive_opts *o, struct archive_stats *st, char **cause)
{
	struct rows l = { NULL, 0, 0 };
	struct store_msg *m;
	struct store_body body;
	struct buf b, raw;
	size_t i, missing = st->missing;
	int ret = -1, found, mapped;

	buf_init(&b, 0);
	buf_init(&raw, 0);
	/* One snapshot for every read, not a lock for each. */
	if (store_read_begin(s, cause) != 0)
		goto out;
	if (store_msg_foreach(s, fo->id, keep_row, &l, cause) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		m = &l.v[i];
		found = body_get(s, m->id, &raw, &body, &mapped, cause);
		if (found == 0 && w->ahead != NULL)
			found = body_wait(
			    s, w->ahead, m->id, &raw, &body, &mapped, cause);
		if (found <= 0) {
			if (found < 0)
				goto out;
			st->missing++;
			continue;
		}
		if (w->f != NULL)
			found = mbox_message(w, m, &body, &b, cause);
		else
			found = archive_maildir_write(w->dir, body.data,
			    body.len, m->flags & STORE_F_ALL, m->keywords,
			    &w->kw, m->internaldate ? m->internaldate : m->date,
			    &st->kw_lost, cause);
		if (mapped)
			store_body_release(&body);
		if (found != 0)
			goto out;
		st->messages++;
		if ((i + 1) % 200 == 0 || i + 1 == l.n)
			progress(o, "export", fo->name, i + 1, l.n);
	}
	if (w->f != NULL && mbox_flush(w, &b, cause) != 0)
		goto out;
	/* As when the bodies are downloaded before (archive_export). */
	if (w->ahead != NULL && (missing = st->missing - missing) > 0) {
		/* The download has ended (body_wait): its cause is set. */
		set_cause(cause, MISSING "%s%s", missing,
		    missing == 1 ? "" : "s", w->ahead->account, "/", fo->name,
		    missing == 1 ? "is" : "are",
		    w->ahead->cause != NULL ? ": " : "",
		    w->ahead->cause != NULL ? w->ahead->cause : "");
		goto out;
	}
	ret = 0;
out:
	store_read_end(s);
	rows_free(&l);
	buf_free(&b);
	buf_free(&raw);
	return ret;
}

/* Write one folder as an mbox file at path (through a temporary file). */
static int
export_mbox_file(struct store *s, const struct store_folder *fo,
    const char *path, const struct archive_opts *o, struct archive_stats *st,
    struct ahead *ah, char **cause)
{
	char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	struct out w;
	char *wbuf = NULL;
	int fd, ret = -1;

	memset(&w, 0, sizeof w);
	w.path = path;
	w.ahead = ah;
	if ((fd = mkstemp(tmp)) == -1) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((w.f = fdopen(fd, "w")) == NULL) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	/* Written in large pieces, not a system call per page. */
	wbuf = xmalloc(MBOX_PIECE);
	(void)setvbuf(w.f, wbuf, _IOFBF, MBOX_PIECE);
	if (export_folder(s, fo, &w, o, st, cause) != 0)
		goto fail;
	if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fclose(w.f) != 0) {
		w.f = NULL;
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	w.f = NULL;
	if (rename(tmp, path) != 0) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	if (w.f != NULL)
		fclose(w.f);
	unlink(tmp);
out:
	free(wbuf);
	free(tmp);
	return ret;
}

/* Start downloading the missing bodies of all (those of every folder
 * exported) beside the export; without a thread, before it. */
static void
ahead_start(struct ahead *ah, struct tern *t, const struct folder_ref *r,
    const struct driver_ops *d, const struct ids *all)
{
	ah->t = t;
	ah->account = r->account_name;
	ah->a = r->account;
	ah->d = d;
	ah->ids = xreallocarray(NULL, all->n + 1, sizeof *ah->ids);
	memcpy(ah->ids, all->v, all->n * sizeof *ah->ids);
	ah->n = all->n;
	pthread_mutex_init(&ah->lock, NULL);
	pthread_cond_init(&ah->cond, NULL);
	if (pthread_create(&ah->thread, NULL, ahead_main, ah) != 0)
		(void)ahead_main(ah);
	else
		ah->started = 1;
}

/* Wait for the download to end (it commits what it has). */
static void
ahead_end(struct ahead *ah)
{
	if (ah->started)
		pthread_join(ah->thread, NULL);
	free(ah->cause);
	pthread_cond_destroy(&ah->cond);
	pthread_mutex_destroy(&ah->lock);
	free(ah->ids);
	memset(ah, 0, sizeof *ah);
}

int
archive_export(struct tern *t, const struct folder_ref *r, const char *path,
    const struct archive_opts *o, struct archive_stats *st, char **cause)
{
	const struct driver_ops *d;
	struct store_folder *v = NULL;
	struct store *s, *s2 = NULL;
	struct ids all = { NULL, 0, 0 };
	struct ahead ah;
	size_t n = 0, i, missing = 0;
	char *tmpdir = NULL;
	int ret = -1;

	memset(st, 0, sizeof *st);
	memset(&ah, 0, sizeof ah);
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if (r->folder != NULL && r->folder_id == 0)
		return set_cause(cause, "no folder '%s' in account %s",
		    r->folder, r->account_name);
	if (store_folder_list(s, r->account_id, &v, &n, cause) != 0)
		return -1;
	d = r->account != NULL ? core_driver(r->account->protocol) : NULL;
	if (d != NULL && d->fetch_many != NULL && !o->cached_only) {
		/* Downloaded as the export is written: see struct ahead. */
		for (i = 0; i < n; i++) {
			uint32_t *uids;
			int64_t *ids, *sizes;
			size_t k, nb;

			if (r->folder != NULL && v[i].id != r->folder_id)
				continue;
			if (store_imap_bodiless(s, v[i].id, &uids, &ids, &sizes,
			        &nb, cause) != 0)
				goto out;
			all.v =
			    xreallocarray(all.v, all.n + nb + 1, sizeof *all.v);
			for (k = 0; k < nb; k++)
				all.v[all.n++] = ids[k];
			all.missing += nb;
			free(uids);
			free(ids);
			free(sizes);
		}
		if (all.missing > 0) {
			if (store_open(t->datadir, &s2, cause) != 0)
				goto out;
			ahead_start(&ah, t, r, d, &all);
			s = s2;
		}
	}
	/* Every body first, so an offline export fails before writing. */
	for (i = 0; i < n && ah.ids == NULL; i++) {
		struct ids l = { NULL, 0, 0 };

		if (r->folder != NULL && v[i].id != r->folder_id)
			continue;
		if (store_msg_foreach(s, v[i].id, collect, &l, cause) != 0) {
			free(l.v);
			goto out;
		}
		missing += fetch_missing(t, r, s, &l, o);
		free(l.v);
	}
	if (missing > 0 && !o->cached_only) {
		set_cause(cause, MISSING, missing, missing == 1 ? "" : "s",
		    r->account_name, r->folder ? "/" : "",
		    r->folder ? r->folder : "", missing == 1 ? "is" : "are");
		goto out;
	}
	if (r->folder != NULL && !o->maildir) {
		for (i = 0; i < n && v[i].id != r->folder_id; i++)
			;
		ret = export_mbox_file(
		    s, &v[i], path, o, st, ah.ids != NULL ? &ah : NULL, cause);
		goto out;
	}
	/* A directory: made under a temporary name, renamed at the end. */
	tmpdir = xasprintf("%s.tmp-XXXXXX", path);
	if (mkdtemp(tmpdir) == NULL) {
		set_cause(cause, "%s: %s", tmpdir, strerror(errno));
		free(tmpdir);
		tmpdir = NULL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct out w;
		char *name, *sub;
		int rc;

		memset(&w, 0, sizeof w);
		w.ahead = ah.ids != NULL ? &ah : NULL;
		if (r->folder != NULL && v[i].id != r->folder_id)
			continue;
		if (o->maildir) {
			/* Maildir++: INBOX at the top, ".A.B" for A/B. */
			if (r->folder != NULL ||
			    strcmp(v[i].name, "INBOX") == 0)
				sub = xstrdup(tmpdir);
			else {
				name = safe_name(v[i].name, 1);
				sub = xasprintf("%s/.%s", tmpdir, name);
				free(name);
			}
			w.dir = sub;
			rc = archive_maildir_make(sub, cause);
			if (rc == 0)
				rc = export_folder(s, &v[i], &w, o, st, cause);
			if (rc == 0)
				rc = archive_kwmap_write(sub, &w.kw, cause);
			archive_kwmap_clear(&w.kw);
		} else {
			name = safe_name(v[i].name, 0);
			sub = xasprintf("%s/%s", tmpdir, name);
			free(name);
			rc = export_mbox_file(s, &v[i], sub, o, st,
			    ah.ids != NULL ? &ah : NULL, cause);
		}
		free(sub);
		if (rc != 0)
			goto out;
	}
	if (rename(tmpdir, path) != 0) {
		if (errno == EEXIST || errno == ENOTEMPTY || errno == ENOTDIR)
			set_cause(cause,
			    "%s already exists; name a new directory", path);
		else
			set_cause(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmpdir);
	tmpdir = NULL;
	ret = 0;
out:
	if (ah.ids != NULL)
		ahead_end(&ah);
	store_close(&s2);
	free(all.v);
	if (tmpdir != NULL) {
		rm_tree(tmpdir);
		free(tmpdir);
	}
	store_folder_list_free(v, n);
	return ret;
}

struct import {
	struct tern *t;
	struct store *s;
	const struct folder_ref *r;
	int64_t folder_id;
	const struct archive_opts *o;
	struct archive_stats *st;
	uint64_t total;
	char **cause;
};

/*
 * The keywords a message is stored with: each checked, and $Forwarded
 * (which Dovecot's Maildir keeps as a keyword letter) the passed flag.
 */
static char *
import_keywords(const char *keywords, unsigned *flags)
{
	struct core_flag_change c;
	const char *p = keywords != NULL ? keywords : "", *end;
	char *w, *out = NULL;

	memset(&c, 0, sizeof c);
	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		end = p + strcspn(p, " ");
		w = xstrndup(p, (size_t)(end - p));
		(void)core_flag_change_keyword(&c, 1, w, NULL);
		free(w);
		p = end;
	}
	*flags |= c.add & STORE_F_ALL;
	if (c.nkw_add > 0)
		out = core_keywords_apply(NULL, &c);
	core_flag_change_clear(&c);
	return out;
}

/* Store one message (or count it as a duplicate). */
static int
import_one(
    void *arg, const char *raw, size_t len, const struct archive_meta *meta)
{
	struct import *im = arg;
	struct mime_envelope env;
	struct store_msg m;
	unsigned flags = meta->flags & STORE_F_ALL;
	int64_t date = meta->date;
	char *keywords = import_keywords(meta->keywords, &flags);
	int found, ret = -1;

	memset(&env, 0, sizeof env);
	mime_envelope_parse(raw, len, &env);
	found = store_msg_find_same(
	    im->s, im->folder_id, env.message_id, raw, len, im->cause);
	if (found == 0 && core_account_remote(im->r->account))
		found = store_pending_find_same(im->s, im->r->account_id,
		    im->r->folder, env.message_id, raw, len, im->cause);
	if (found < 0)
		goto out;
	if (found > 0) {
		im->st->skipped++;
		ret = 0;
		goto out;
	}
	if (core_account_remote(im->r->account)) {
		/* The server numbers it: the next sync indexes it. */
		struct store_pending p;

		memset(&p, 0, sizeof p);
		p.account_id = im->r->account_id;
		p.op = STORE_OP_APPEND;
		p.folder = im->r->folder;
		if (store_pending_add_raw(im->s, &p, raw, len, flags, keywords,
		        date ? date : env.date, env.message_id, im->cause) != 0)
			goto out;
		im->st->queued++;
		ret = 0;
		goto out;
	}
	memset(&m, 0, sizeof m);
	m.folder_id = im->folder_id;
	m.flags = flags;
	m.keywords = keywords;
	core_msg_from_envelope(&m, &env);
	m.internaldate = date ? date : env.date;
	if (store_msg_insert(im->s, &m, raw, len, im->cause) != 0)
		goto out;
	im->st->messages++;
	ret = 0;
out:
	mime_envelope_clear(&env);
	free(keywords);
	if (ret == 0) {
		uint64_t done =
		    im->st->messages + im->st->skipped + im->st->queued;

		if (done % 200 == 0 || done == im->total)
			progress(
			    im->o, "import", im->r->folder, done, im->total);
	}
	return ret;
}

static int
count_one(void *arg, const char *raw, size_t len, const struct archive_meta *a)
{
	(void)raw;
	(void)len;
	(void)a;
	(*(uint64_t *)arg)++;
	return 0;
}

static int
import_mbox(struct import *im, const char *path)
{
	struct stat sb;
	void *map = NULL;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &sb) != 0) {
		set_cause(im->cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_cause(im->cause, "%s is not a file or a directory", path);
		goto out;
	}
	if (sb.st_size > 0 &&
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
	         0)) == MAP_FAILED) {
		map = NULL;
		set_cause(im->cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* The first walk checks the whole file: a bad one imports nothing. */
	if (archive_mbox_parse(map, (size_t)sb.st_size, im->o->kind, count_one,
	        &im->total, im->cause) != 0) {
		char *c = *im->cause;

		*im->cause = xasprintf("%s: %s", path, c);
		free(c);
		goto out;
	}
	ret = archive_mbox_parse(
	    map, (size_t)sb.st_size, im->o->kind, import_one, im, im->cause);
out:
	if (map != NULL)
		munmap(map, (size_t)sb.st_size);
	if (fd != -1)
		close(fd);
	return ret;
}

static int
import_maildir(struct import *im, const char *dir)
{
	struct archive_kwmap kw;
	char **names;
	size_t n, i;
	int ret = -1;

	if (archive_maildir_list(dir, &names, &n, im->cause) != 0)
		return -1;
	archive_kwmap_read(dir, &kw);
	im->total = n;
	for (i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat sb;
		struct buf b;
		int rc;

		buf_init(&b, ARCHIVE_MSG_MAX);
		rc = read_file(path, ARCHIVE_MSG_MAX, &b, im->cause);
		if (rc == 0 && b.len == 0)
			rc = set_cause(im->cause, "%s is empty", path);
		if (rc == 0) {
			struct archive_meta am;
			char *kws = archive_maildir_keywords(names[i], &kw);

			am.flags = archive_maildir_flags(names[i]);
			am.keywords = kws != NULL && *kws != '\0' ? kws : NULL;
			am.date =
			    stat(path, &sb) == 0 ? (int64_t)sb.st_mtime : 0;
			rc = import_one(im, b.data, b.len, &am);
			free(kws);
		}
		buf_free(&b);
		free(path);
		if (rc != 0)
			goto out;
	}
	ret = 0;
out:
	archive_kwmap_clear(&kw);
	archive_maildir_list_free(names, n);
	return ret;
}

/* The file or directory at path into r's folder (made when missing). */
static int
import_into(struct import *im, const struct folder_ref *r, const char *path,
    const struct stat *sb)
{
	im->r = r;
	im->total = 0;
	if ((im->folder_id = r->folder_id) == 0) {
		if (core_folder_create(im->t, r, im->cause) != 0)
			return -1;
		im->folder_id =
		    store_folder(im->s, r->account_id, r->folder, 0, im->cause);
		if (im->folder_id <= 0)
			return -1;
	}
	return S_ISDIR(sb->st_mode) ? import_maildir(im, path)
	                            : import_mbox(im, path);
}

/*
 * A Maildir++ tree into the account of acct: the top into INBOX, and each
 * ".A.B" holding a Maildir into A/B.
 */
static int
import_tree(struct import *im, const struct folder_ref *acct, const char *dir)
{
	char **subs;
	size_t n, i;
	int ret = -1;

	if (archive_maildir_tree(dir, &subs, &n, im->cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct folder_ref fr;
		struct stat sb;
		char *spec, *path, *q;
		int rc;

		/* The top is INBOX, ".A.B" is A/B. */
		if (subs[i][0] == '\0')
			spec = xasprintf("%s/INBOX", acct->account_name);
		else {
			spec =
			    xasprintf("%s/%s", acct->account_name, subs[i] + 1);
			for (q = strchr(spec, '/') + 1; *q != '\0'; q++)
				if (*q == '.')
					*q = '/';
		}
		path = xasprintf("%s/%s", dir, subs[i]);
		memset(&fr, 0, sizeof fr);
		rc = core_folder_name_check(strchr(spec, '/') + 1, im->cause);
		if (rc != 0 && im->cause != NULL) {
			char *c = *im->cause;

			*im->cause = xasprintf("%s: %s", path, c);
			free(c);
		} else
			rc = folder_ref_parse(im->t, spec, &fr, im->cause);
		if (rc == 0 && stat(path, &sb) != 0)
			rc = set_cause(
			    im->cause, "%s: %s", path, strerror(errno));
		if (rc == 0)
			rc = import_into(im, &fr, path, &sb);
		if (rc == 0)
			im->st->folders++;
		folder_ref_clear(&fr);
		free(path);
		free(spec);
		if (rc != 0)
			goto out;
	}
	ret = 0;
out:
	archive_maildir_list_free(subs, n);
	return ret;
}

int
archive_import(struct tern *t, const struct folder_ref *r, const char *path,
    const struct archive_opts *o, struct archive_stats *st, char **cause)
{
	struct import im;
	struct stat sb;
	int ret = -1;

	memset(st, 0, sizeof *st);
	if (stat(path, &sb) != 0)
		return set_cause(cause, "%s: %s", path, strerror(errno));
	if (r->folder == NULL && !S_ISDIR(sb.st_mode))
		return set_cause(cause,
		    "%s: a file goes into a folder: name it as ACCOUNT/FOLDER",
		    path);
	memset(&im, 0, sizeof im);
	im.t = t;
	im.r = r;
	im.o = o;
	im.st = st;
	im.cause = cause;
	if ((im.s = tern_store(t, cause)) == NULL ||
	    store_begin(im.s, cause) != 0)
		return -1;
	if (r->folder == NULL)
		ret = import_tree(&im, r, path);
	else
		ret = import_into(&im, r, path, &sb);
	if (ret == 0)
		ret = store_commit(im.s, cause);
	if (ret != 0) {
		store_rollback(im.s);
		memset(st, 0, sizeof *st);
	}
	return ret;
}
