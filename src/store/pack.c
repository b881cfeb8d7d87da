/*
 * Pack files: message bodies written once, beside the database.
 *
 * In WAL mode SQLite writes every page twice, into the WAL at commit and
 * into the database at a checkpoint, and each WAL frame is two writes that
 * start and end off the file system's blocks. For a POP3 download of a
 * hundred megabytes that was most of the time tern spent: the copying,
 * the zeroing of the new blocks each partial write reached, and waiting
 * for both copies to reach the disk. A body in a pack is written once, in
 * large writes, and synced before the transaction that refers to it
 * commits. Bodies that arrive one at a time (an IMAP message opened, an
 * import) stay in the body table.
 *
 * Layout: packs/N under the store's directory, for the row N of the pack
 * table, which says which account appends to it and how many of its bytes
 * are committed. A body row refers to (pack_id, pack_off, pack_len) and
 * keeps an empty raw. Bytes past the committed size are those of a
 * transaction that did not commit; the next writer cuts them off. Only
 * one writer appends to an account's newest pack at a time: a POP3 sync
 * holds the account's lock.
 *
 * Commit order (store_commit): the bytes written and fdatasync'd, the
 * pack's new size in the transaction, then COMMIT, synced. A crash at any
 * point leaves every committed body readable.
 *
 * Deleting a body row (the message deleted, or its body replaced) records
 * its bytes in pack_free, by a trigger, in the same transaction.
 * store_pack_reclaim, when the store is closed, commits their removal and
 * only then punches holes in the files, so the space returns to the file
 * system; a pack with no body left, and no longer its account's newest,
 * is removed whole.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-private.h"

/* A pack takes no more bodies past this size: files stay a handy size. */
#define PACK_MAX ((int64_t)256 << 20)
/* Appended bytes are written in pieces of about this size. */
#define PACK_WRITE (1 << 20)

struct store_pack {
	int64_t id;
	int64_t account_id;
	int fd;
	int created; /* by the open transaction: gone if it rolls back */
	int64_t committed; /* bytes the pack table counts */
	int64_t end; /* where the next body goes */
	struct buf wbuf; /* bytes before end not yet written */
};

static char *
pack_path(struct store *s, int64_t id)
{
	return xasprintf("%s/packs/%lld", s->dir, (long long)id);
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static void
pack_free_(struct store_pack *p)
{
	if (p == NULL)
		return;
	if (p->fd >= 0)
		close(p->fd);
	buf_free(&p->wbuf);
	free(p);
}

/*
 * Open p's file to append at its committed size: 0, or 1 if it is gone
 * or shorter than committed (removed or cut by hand: its bodies cannot
 * be read, and it is no place for more), or -1 on error.
 */
static int
pack_reopen(struct store *s, struct store_pack *p, char **cause)
{
	char *path = pack_path(s, p->id);
	struct stat sb;
	int ret = -1;

	if ((p->fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			ret = 1;
		else
			set_cause(cause,
			    "cannot write the store: cannot open its pack file "
			    "%s: %s",
			    path, strerror(errno));
		goto out;
	}
	if (fstat(p->fd, &sb) != 0) {
		set_cause(cause, "cannot write the store: its pack file %s: %s",
		    path, strerror(errno));
		goto out;
	}
	if (sb.st_size < p->committed) {
		ret = 1;
		goto out;
	}
	/* The tail of a transaction that never committed. */
	if (sb.st_size > p->committed && ftruncate(p->fd, p->committed) != 0) {
		set_cause(cause, "cannot write the store: its pack file %s: %s",
		    path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret != 0 && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	free(path);
	return ret;
}

/* The newest pack of the account if it has room, or a new one; in the
 * caller's transaction. */
static int
pack_open(struct store *s, int64_t account_id, char **cause)
{
	static const char newest[] = "SELECT id, size FROM pack"
	                             " WHERE account_id = ? ORDER BY id DESC"
	                             " LIMIT 1";
	static const char ins[] = "INSERT INTO pack (account_id) VALUES (?)";
	struct store_pack *p = xcalloc(1, sizeof *p);
	sqlite3_stmt *st;
	char *path = NULL, *dir;
	int rc;

	p->fd = -1;
	p->account_id = account_id;
	buf_init(&p->wbuf, 0);
	if ((st = store_stmt(s, newest, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, account_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->id = sqlite3_column_int64(st, 0);
		p->committed = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_error(s, "finding a pack file", cause);
		goto fail;
	}
	if (p->id != 0 && p->committed < PACK_MAX) {
		if ((rc = pack_reopen(s, p, cause)) < 0)
			goto fail;
		if (rc == 0)
			goto done;
	}
	if ((st = store_stmt(s, ins, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, account_id);
	if (store_step_done(s, st, "making a pack file", cause) != 0)
		goto fail;
	p->id = sqlite3_last_insert_rowid(s->db);
	p->committed = 0;
	p->created = 1;
	dir = xasprintf("%s/packs", s->dir);
	if (mkdir(dir, 0700) == 0)
		(void)fsync_dir(s->dir);
	free(dir);
	path = pack_path(s, p->id);
	/* A file of that number is one whose pack row never committed:
	 * ids only go up (AUTOINCREMENT), and rolled back they come again. */
	p->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		set_cause(cause,
		    "cannot write the store: cannot create its pack file %s: %s",
		    path, strerror(errno));
		goto fail;
	}
	dir = xasprintf("%s/packs", s->dir);
	rc = fsync_dir(dir);
	free(dir);
	if (rc != 0) {
		set_cause(cause, "cannot sync the directory of %s: %s", path,
		    strerror(errno));
		goto fail;
	}
done:
	p->end = p->committed;
	free(path);
	s->pack = p;
	return 0;
fail:
	free(path);
	pack_free_(p);
	return -1;
}

/* All of data at off in pack p's file. */
static int
pack_pwrite(struct store *s, struct store_pack *p, const char *data, size_t len,
    int64_t off, char **cause)
{
	size_t done = 0;
	ssize_t n;
	char *path;

	while (done < len) {
		n = pwrite(p->fd, data + done, len - done, off + (int64_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			path = pack_path(s, p->id);
			set_cause(cause,
			    "cannot write the store: its pack file %s: %s%s",
			    path, n < 0 ? strerror(errno) : "no space",
			    n < 0 && errno != ENOSPC && errno != EFBIG
			        ? ""
			        : " (is the disk full?)");
			free(path);
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Write out what is buffered. */
static int
pack_write(struct store *s, struct store_pack *p, char **cause)
{
	if (p->wbuf.len == 0)
		return 0;
	if (pack_pwrite(s, p, p->wbuf.data, p->wbuf.len,
	        p->end - (int64_t)p->wbuf.len, cause) != 0)
		return -1;
	p->wbuf.len = 0;
	return 0;
}

int
store_pack_append(struct store *s, int64_t account_id, const void *raw,
    size_t len, int64_t *pack_id, int64_t *off, char **cause)
{
	struct store_pack *p = s->pack;

	if (s->depth == 0)
		return set_cause(cause, "a pack is written in a transaction");
	if (p != NULL && (p->account_id != account_id || p->end >= PACK_MAX)) {
		/* Full, or another account's: the open batch's bytes first. */
		if (store_pack_sync(s, cause) != 0)
			return -1;
		pack_free_(p);
		s->pack = p = NULL;
	}
	if (p == NULL) {
		if (pack_open(s, account_id, cause) != 0)
			return -1;
		p = s->pack;
	}
	*pack_id = p->id;
	*off = p->end;
	if (len >= PACK_WRITE && p->wbuf.len == 0) {
		/* Big enough to go straight to the file. */
		if (pack_pwrite(s, p, raw, len, p->end, cause) != 0)
			return -1;
		p->end += (int64_t)len;
		return 0;
	}
	if (buf_add(&p->wbuf, raw, len) != 0)
		return set_cause(cause, "a body of %zu bytes is too big", len);
	p->end += (int64_t)len;
	if (p->wbuf.len >= PACK_WRITE)
		return pack_write(s, p, cause);
	return 0;
}

int
store_pack_sync(struct store *s, char **cause)
{
	static const char upd[] = "UPDATE pack SET size = ? WHERE id = ?";
	struct store_pack *p = s->pack;
	sqlite3_stmt *st;
	char *path;

	if (p == NULL || p->end == p->committed)
		return 0;
	if (pack_write(s, p, cause) != 0)
		return -1;
	if (fdatasync(p->fd) != 0) {
		path = pack_path(s, p->id);
		set_cause(cause,
		    "cannot write the store: cannot sync its pack file %s: %s",
		    path, strerror(errno));
		free(path);
		return -1;
	}
	if ((st = store_stmt(s, upd, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, p->end);
	sqlite3_bind_int64(st, 2, p->id);
	return store_step_done(s, st, "recording a pack file's size", cause);
}

/*
 * Files of bodies that were arriving when their tern died: "tmp-PID-..."
 * of a process that is gone. Errors only leave them for the next time.
 */
static void
tmp_sweep(const char *dir)
{
	struct dirent *de;
	DIR *d;
	long pid;
	char *end, *path;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tmp-", 4) != 0)
			continue;
		pid = strtol(de->d_name + 4, &end, 10);
		if (end == de->d_name + 4 || *end != '-' || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		/* EPERM: alive, another user's. */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		(void)unlink(path);
		free(path);
	}
	closedir(d);
}

int
store_pack_tmp(struct store *s, char **path, char **cause)
{
	char *dir = xasprintf("%s/packs", s->dir);
	int fd;

	if (mkdir(dir, 0700) == 0)
		(void)fsync_dir(s->dir);
	if (!s->swept) {
		s->swept = 1;
		tmp_sweep(dir);
	}
	free(dir);
	*path = xasprintf("%s/packs/tmp-%ld-XXXXXX", s->dir, (long)getpid());
	if ((fd = mkostemp(*path, O_CLOEXEC)) < 0) {
		set_cause(cause,
		    "cannot write the store: cannot create a file in %s/packs: "
		    "%s",
		    s->dir, strerror(errno));
		free(*path);
		*path = NULL;
	}
	return fd;
}

/*
 * Adopted whole, a pack is the account's newest: a later transaction
 * appends after its body, as to any other. Its file is synced and named
 * before the row that names it commits; a rollback removes it.
 */
int
store_pack_adopt(struct store *s, int64_t account_id, const char *path,
    int64_t len, int64_t *pack_id, char **cause)
{
	static const char ins[] =
	    "INSERT INTO pack (account_id, size) VALUES (?, ?)";
	sqlite3_stmt *st;
	struct stat sb;
	char *to = NULL, *dir = NULL;
	int fd = -1, ret = -1;

	if (s->depth == 0)
		return set_cause(cause, "a pack is written in a transaction");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &sb) != 0 || fdatasync(fd) != 0) {
		set_cause(cause, "cannot write the store: %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (sb.st_size != len) {
		set_cause(cause,
		    "cannot write the store: %s holds %lld bytes, "
		    "not %lld",
		    path, (long long)sb.st_size, (long long)len);
		goto out;
	}
	if ((st = store_stmt(s, ins, cause)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, len);
	if (store_step_done(s, st, "making a pack file", cause) != 0)
		goto out;
	*pack_id = sqlite3_last_insert_rowid(s->db);
	to = pack_path(s, *pack_id);
	if (rename(path, to) != 0) {
		set_cause(cause, "cannot write the store: %s: %s", to,
		    strerror(errno));
		goto out;
	}
	s->adopted =
	    xreallocarray(s->adopted, s->nadopted + 1, sizeof *s->adopted);
	s->adopted[s->nadopted++] = *pack_id;
	dir = xasprintf("%s/packs", s->dir);
	if (fsync_dir(dir) != 0) {
		set_cause(cause, "cannot sync the directory %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(to);
	free(dir);
	return ret;
}

/*
 * The pack is opened again by the next transaction that appends: what it
 * holds is read afresh under that transaction's lock, not kept from this
 * one.
 */
void
store_pack_committed(struct store *s)
{
	pack_free_(s->pack);
	s->pack = NULL;
	s->nadopted = 0;
}

void
store_pack_rolled_back(struct store *s)
{
	struct store_pack *p = s->pack;
	char *path;
	size_t i;

	for (i = 0; i < s->nadopted; i++) {
		/* Its row is gone: so is the file. */
		path = pack_path(s, s->adopted[i]);
		(void)unlink(path);
		free(path);
	}
	s->nadopted = 0;
	if (p == NULL)
		return;
	if (p->created) {
		/* Its row is gone: so is the file. */
		path = pack_path(s, p->id);
		(void)unlink(path);
		free(path);
	} else if (p->end > p->committed)
		(void)ftruncate(p->fd, p->committed);
	pack_free_(p);
	s->pack = NULL;
}

void
store_pack_close(struct store *s)
{
	pack_free_(s->pack);
	s->pack = NULL;
	free(s->adopted);
	s->adopted = NULL;
	s->nadopted = 0;
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
	s->rfd_pack = 0;
}

/*
 * Open pack_id for reading (kept open for the next body) and check that
 * [off, off + len) lies within it, before anything is allocated for it.
 */
static int
pack_open_read(
    struct store *s, int64_t pack_id, int64_t off, int64_t len, char **cause)
{
	struct stat sb;
	char *path;

	if (len < 0 || off < 0)
		return set_cause(cause, "a body's place in pack %lld is wrong",
		    (long long)pack_id);
	if (s->rfd_pack != pack_id) {
		if (s->rfd >= 0)
			close(s->rfd);
		s->rfd_pack = 0;
		path = pack_path(s, pack_id);
		if ((s->rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			set_cause(cause, "cannot open the pack file %s: %s",
			    path, strerror(errno));
			free(path);
			return -1;
		}
		free(path);
		s->rfd_pack = pack_id;
		s->rfd_size = -1;
	}
	/* A pack only grows where committed bodies are: its size is looked
	 * at again only for a body past what it was. */
	if (s->rfd_size >= 0 && off <= s->rfd_size && len <= s->rfd_size - off)
		return 0;
	if (fstat(s->rfd, &sb) != 0)
		sb.st_size = 0;
	s->rfd_size = sb.st_size;
	if (off > sb.st_size || len > sb.st_size - off) {
		path = pack_path(s, pack_id);
		set_cause(cause, "the pack file %s ends at byte %lld of a body",
		    path,
		    (long long)(fstat(s->rfd, &sb) == 0 ? sb.st_size : 0));
		free(path);
		return -1;
	}
	return 0;
}

int
store_pack_read(struct store *s, int64_t pack_id, int64_t off, int64_t len,
    struct buf *out, char **cause)
{
	char *path;
	size_t done = 0;
	ssize_t n;

	if (pack_open_read(s, pack_id, off, len, cause) != 0)
		return -1;
	if (buf_reserve(out, (size_t)len) != 0)
		return set_cause(
		    cause, "a body of %lld bytes is too big", (long long)len);
	while (done < (size_t)len) {
		n = pread(s->rfd, out->data + out->len + done,
		    (size_t)len - done, off + (int64_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			path = pack_path(s, pack_id);
			set_cause(cause,
			    "the pack file %s %s at byte %lld of a body", path,
			    n < 0 ? strerror(errno) : "ends",
			    (long long)(off + (int64_t)done));
			free(path);
			return -1;
		}
		done += (size_t)n;
	}
	out->len += (size_t)len;
	out->data[out->len] = '\0';
	return 0;
}

/*
 * Map a body instead of reading it: its pages come from the page cache
 * and are not copied. The pages are private, and one anonymous page past
 * the end makes room for the '\0' after the body, so the body's own last
 * page is copied at most.
 */
int
store_pack_map(struct store *s, int64_t pack_id, int64_t off, int64_t len,
    struct store_body *b, char **cause)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), delta, total;
	char *base;

	if (pack_open_read(s, pack_id, off, len, cause) != 0)
		return -1;
	delta = (size_t)off % pg;
	total = (delta + (size_t)len + 1 + pg - 1) / pg * pg;
	base = mmap(NULL, total, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return set_cause(cause, "cannot map a body of %lld bytes: %s",
		    (long long)len, strerror(errno));
	if (len > 0 &&
	    mmap(base, delta + (size_t)len, PROT_READ | PROT_WRITE,
	        MAP_PRIVATE | MAP_FIXED, s->rfd,
	        off - (int64_t)delta) == MAP_FAILED) {
		set_cause(cause, "cannot map a body of %lld bytes: %s",
		    (long long)len, strerror(errno));
		munmap(base, total);
		return -1;
	}
	b->data = base + delta;
	b->len = (size_t)len;
	b->data[b->len] = '\0';
	b->map = base;
	b->maplen = total;
	return 0;
}

/* SQL: tern_body(raw, pack_id, pack_off, pack_len), the body's bytes. */
static void
sql_body(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store *s = sqlite3_user_data(ctx);
	struct buf b;
	char *cause = NULL;

	(void)argc;
	if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	buf_init(&b, 0);
	if (store_pack_read(s, sqlite3_value_int64(argv[1]),
	        sqlite3_value_int64(argv[2]), sqlite3_value_int64(argv[3]), &b,
	        &cause) != 0) {
		sqlite3_result_error(ctx, cause, -1);
		free(cause);
		buf_free(&b);
		return;
	}
	sqlite3_result_blob64(
	    ctx, b.len ? b.data : "", b.len, SQLITE_TRANSIENT);
	buf_free(&b);
}

int
store_pack_functions(struct store *s)
{
	return sqlite3_create_function(s->db, "tern_body", 4,
	    SQLITE_UTF8 | SQLITE_DIRECTONLY, s, sql_body, NULL, NULL);
}

/* Punch out [off, off + len) of the file; errors only leave it in. */
static void
punch(int fd, int64_t off, int64_t len)
{
#ifdef FALLOC_FL_PUNCH_HOLE
	(void)fallocate(
	    fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
#else
	(void)fd;
	(void)off;
	(void)len;
#endif
}

struct freed {
	int64_t pack_id, off, len;
};

void
store_pack_reclaim(struct store *s)
{
	static const char any[] = "SELECT 1 FROM pack_free LIMIT 1";
	static const char q[] = "SELECT pack_id, off, len FROM pack_free"
	                        " ORDER BY pack_id";
	static const char empty[] =
	    "SELECT id FROM pack p WHERE NOT EXISTS"
	    " (SELECT 1 FROM body b WHERE b.pack_id = p.id) AND p.id <"
	    " (SELECT max(id) FROM pack q WHERE q.account_id = p.account_id)";
	sqlite3_stmt *st;
	struct freed *v = NULL;
	int64_t *gone = NULL, cur = 0;
	size_t n = 0, ngone = 0, i;
	int rc, fd = -1;
	char *path;

	if (s->depth != 0 || (st = store_stmt(s, any, NULL)) == NULL)
		return;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return;
	/* Not worth a wait: the next close does it. The commit must be
	 * synced before any hole is punched, whatever the caller set. */
	sqlite3_busy_timeout(s->db, 200);
	if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL,
	        NULL) != SQLITE_OK)
		goto out;
	if (store_begin(s, NULL) != 0)
		goto out;
	if ((st = store_stmt(s, q, NULL)) == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n].pack_id = sqlite3_column_int64(st, 0);
		v[n].off = sqlite3_column_int64(st, 1);
		v[n].len = sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	if ((st = store_stmt(s, empty, NULL)) == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gone = xreallocarray(gone, ngone + 1, sizeof *gone);
		gone[ngone++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	if (sqlite3_exec(s->db, "DELETE FROM pack_free", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	for (i = 0; i < ngone; i++) {
		char *sql = sqlite3_mprintf(
		    "DELETE FROM pack WHERE id = %lld", (long long)gone[i]);

		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (store_commit(s, NULL) != 0)
		goto out;
	/* Committed, and synced: no row refers to these bytes any more. */
	for (i = 0; i < n; i++) {
		if (v[i].pack_id != cur) {
			if (fd >= 0)
				close(fd);
			cur = v[i].pack_id;
			path = pack_path(s, cur);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			free(path);
		}
		if (fd >= 0)
			punch(fd, v[i].off, v[i].len);
	}
	if (fd >= 0)
		close(fd);
	for (i = 0; i < ngone; i++) {
		path = pack_path(s, gone[i]);
		(void)unlink(path);
		free(path);
	}
	goto out;
fail:
	store_rollback(s);
out:
	sqlite3_busy_timeout(s->db, 5000);
	free(v);
	free(gone);
}
