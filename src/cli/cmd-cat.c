/*
 * tern cat [--raw] [--headers] [--save N] ACCOUNT/FOLDER UID
 *
 * The message as the pager shows it (decoded headers, the text body, a
 * line per attachment, control characters made visible), or with --raw
 * its exact stored bytes, or with --save N the attachment shown as
 * "Attachment N" (its MIME part number: 2, 3.2; e1.2 inside a decrypted
 * part) written into the current directory (the path written goes to
 * stdout). A body
 * not in the store yet is fetched through the account's driver when it
 * can fetch: --raw the whole message, otherwise what showing it needs
 * (a big IMAP message's text, its attachments only when saved);
 * otherwise cat says how to get it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tern/cli.h"
#include "tern/crypto.h"
#include "tern/mime.h"
#include "tern/util.h"

/* Flowed text and HTML are wrapped to this, or a narrower terminal. */
#define CAT_WIDTH 72

static unsigned
out_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 &&
	    ws.ws_col < CAT_WIDTH)
		return ws.ws_col;
	return CAT_WIDTH;
}

/*
 * Download message m, not in the store: whole, or its view (the text
 * parts of a big IMAP message). TERN_EXIT_OK, or the exit status after
 * saying why not.
 */
static int
cat_fetch(struct tern *t, struct folder_ref *r, const char *spec,
    const struct store_msg *m, int view)
{
	const struct driver_ops *d;
	char *cause = NULL;
	int rc;

	d = r->account != NULL ? core_driver(r->account->protocol) : NULL;
	if (d == NULL || d->fetch == NULL) {
		tern_warnx("message %u of %s is not downloaded; run tern sync "
		           "%s when online",
		    m->uid, spec, r->account_name);
		return TERN_EXIT_FAIL;
	}
	rc = view ? core_view_fetch(t, r->account, m->id, &cause)
	          : d->fetch(t, r->account, m->id, 1, &cause);
	if (rc != 0) {
		tern_warnx("message %u of %s is not downloaded and cannot be "
		           "fetched now: %s",
		    m->uid, spec, cause ? cause : "failed");
		free(cause);
		return TERN_EXIT_FAIL;
	}
	return TERN_EXIT_OK;
}

/* Downloaded, and still not in the store. */
static int
cat_lost(
    const struct folder_ref *r, const char *spec, const struct store_msg *m)
{
	tern_warnx("message %u of %s could not be downloaded; run tern sync %s",
	    m->uid, spec, r->account_name);
	return TERN_EXIT_FAIL;
}

/* Get the raw bytes, fetching them if they are not in the store. */
static int
cat_raw(struct tern *t, struct folder_ref *r, const char *spec,
    const struct store_msg *m, struct buf *raw)
{
	char *cause = NULL;
	int found, status;

	if ((found = store_msg_raw(t->store, m->id, raw, &cause)) < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (found)
		return TERN_EXIT_OK;
	if ((status = cat_fetch(t, r, spec, m, 0)) != TERN_EXIT_OK)
		return status;
	if ((found = store_msg_raw(t->store, m->id, raw, &cause)) < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	return found ? TERN_EXIT_OK : cat_lost(r, spec, m);
}

/*
 * The message parsed for showing: the stored bytes or view, else what the
 * driver downloads for it (a view for a big IMAP message).
 */
static int
cat_view(struct tern *t, struct folder_ref *r, const char *spec,
    const struct store_msg *m, struct mime_msg **mm)
{
	char *cause = NULL;
	int found, status;

	if ((found = core_view_load(t->store, m->id, 0, mm, &cause)) < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (found)
		return TERN_EXIT_OK;
	if ((status = cat_fetch(t, r, spec, m, 1)) != TERN_EXIT_OK)
		return status;
	if ((found = core_view_load(t->store, m->id, 0, mm, &cause)) < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	return found ? TERN_EXIT_OK : cat_lost(r, spec, m);
}

/* Save the attachment labelled n (its part number) into the current
 * directory. */
static int
cat_save(struct tern *t, struct folder_ref *r, const struct store_msg *m,
    struct mime_msg *mm, const char *n)
{
	const struct mime_attachment *v;
	size_t natt = mime_attachments(mm, &v);
	char *cause = NULL, *path = NULL, *nums;
	long k = mime_attachment_find(mm, n);

	if (n[0] == 'e') {
		/* Inside a decrypted part: decrypted again, saved from
		 * memory. */
		struct mime_render_opts o;
		struct mime_msg *inner = NULL;
		size_t part;
		int status = TERN_EXIT_OK;

		memset(&o, 0, sizeof o);
		o.crypto = crypto_mime_ops(tern_crypto(t));
		if (mime_secure_attachment(mm, &o, n, &inner, &part) != 1) {
			tern_warnx("message %u has no attachment %s (or it "
			           "cannot be decrypted now)",
			    m->uid, n);
			return TERN_EXIT_USAGE;
		}
		if (mime_attachment_save(inner, part, ".", &path, &cause) != 0)
			status = cli_fail(TERN_EXIT_FAIL, cause);
		else
			printf("%s\n", path);
		free(path);
		mime_free(&inner);
		return status;
	}
	if (k < 0) {
		nums = mime_attachment_numbers(mm);
		if (natt == 0)
			tern_warnx("message %u has no attachments", m->uid);
		else
			tern_warnx("message %u has no attachment %s; its "
			           "attachment%s %s %s",
			    m->uid, n, natt == 1 ? "" : "s",
			    natt == 1 ? "is" : "are", nums);
		free(nums);
		return TERN_EXIT_USAGE; /* change the command: tern(1) */
	}
	if (mime_part_at(mm, v[k].part)->missing &&
	    core_view_part(t, r->account, m->id, mm, v[k].part, &cause) != 0) {
		tern_warnx("attachment %s of message %u: %s", n, m->uid,
		    cause ? cause : "failed");
		free(cause);
		return TERN_EXIT_FAIL;
	}
	if (mime_attachment_save(mm, v[k].part, ".", &path, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	printf("%s\n", path);
	free(path);
	return TERN_EXIT_OK;
}

static int
write_out(void *arg, const char *data, size_t len)
{
	(void)arg;
	return write_all(STDOUT_FILENO, data, len);
}

/*
 * An attachment number as shown: digits and dots, or a uu block's, or
 * one inside a decrypted part ("e1.2").
 */
static int
attachment_label(const char *s)
{
	size_t i;

	if (*s == 'e' && s[1] >= '1' && s[1] <= '9')
		s++;
	if (*s < '1' || *s > '9' || strlen(s) > 64)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		        s[i] == 'u'))
			return 0;
	}
	return 1;
}

/* What the command line asks for. */
struct cat_args {
	const char *spec; /* ACCOUNT/FOLDER */
	uint64_t uid;
	const char *save; /* --save N, or NULL */
	int raw, headers;
};

/* Read the command line into a: TERN_EXIT_OK, or the usage error's. */
static int
cat_parse(int argc, char **argv, struct cat_args *a)
{
	const char *uidarg = NULL;
	int i, opts = 1;

	memset(a, 0, sizeof *a);
	for (i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0)
			opts = 0;
		else if (opts && strcmp(argv[i], "--raw") == 0)
			a->raw = 1;
		else if (opts &&
		    (strcmp(argv[i], "--headers") == 0 ||
		        strcmp(argv[i], "-H") == 0))
			a->headers = 1;
		else if (opts && strcmp(argv[i], "--save") == 0 && i + 1 < argc)
			a->save = argv[++i];
		else if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
			tern_warnx("cat: unknown option '%s'", argv[i]);
			return cli_usage(cli_find("cat"));
		} else if (a->spec == NULL)
			a->spec = argv[i];
		else if (uidarg == NULL)
			uidarg = argv[i];
		else
			return cli_usage(cli_find("cat"));
	}
	if (a->spec == NULL || uidarg == NULL || (a->save != NULL && a->raw))
		return cli_usage(cli_find("cat"));
	if (parse_uint64(uidarg, strlen(uidarg), UINT32_MAX, &a->uid) != 0 ||
	    a->uid == 0) {
		tern_warnx("'%s' is not a UID", uidarg);
		return TERN_EXIT_USAGE;
	}
	if (a->save != NULL && !attachment_label(a->save)) {
		tern_warnx("'%s' is not an attachment number", a->save);
		return TERN_EXIT_USAGE;
	}
	return TERN_EXIT_OK;
}

/* Message uid of the folder r names into m, or why there is none. */
static int
cat_find(struct tern *t, const struct folder_ref *r, const char *spec,
    uint64_t uid, struct store_msg *m)
{
	char *cause = NULL;
	int found;

	if (r->folder == NULL) {
		tern_warnx("'%s': name a folder as ACCOUNT/FOLDER", spec);
		return TERN_EXIT_USAGE;
	}
	if (r->folder_id == 0) {
		tern_warnx(
		    "no folder '%s' in account %s", r->folder, r->account_name);
		return TERN_EXIT_USAGE;
	}
	found = store_msg_get(t->store, r->folder_id, (uint32_t)uid, m, &cause);
	if (found < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (found == 0) {
		tern_warnx(
		    "no message %llu in %s", (unsigned long long)uid, spec);
		return TERN_EXIT_USAGE;
	}
	return TERN_EXIT_OK;
}

/* --raw: the message's exact bytes to stdout, downloaded if need be. */
static int
cat_write_raw(struct tern *t, struct folder_ref *r, const char *spec,
    const struct store_msg *m)
{
	struct store_body b;
	struct buf raw;
	char *cause = NULL;
	int found, status;

	/* Stored: written from where it is, not copied. */
	if ((found = store_msg_body(t->store, m->id, &b, &cause)) < 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (found) {
		status = TERN_EXIT_OK;
		if (write_all(STDOUT_FILENO, b.data, b.len) != 0) {
			tern_warnx("cannot write the message to stdout");
			status = TERN_EXIT_FAIL;
		}
		store_body_release(&b);
		return status;
	}
	buf_init(&raw, 0);
	if ((status = cat_raw(t, r, spec, m, &raw)) == TERN_EXIT_OK &&
	    write_all(STDOUT_FILENO, raw.data ? raw.data : "", raw.len) != 0) {
		tern_warnx("cannot write the message to stdout");
		status = TERN_EXIT_FAIL;
	}
	buf_free(&raw);
	return status;
}

/* The message as the pager shows it (--headers: all of its header). */
static int
cat_write_shown(
    struct tern *t, const struct store_msg *m, struct mime_msg *mm, int headers)
{
	struct mime_render_opts o;

	memset(&o, 0, sizeof o);
	o.full_headers = headers;
	o.html_filter = t->rc != NULL ? t->rc->mailcap : NULL;
	o.width = out_width();
	o.keywords = m->keywords;
	o.crypto = crypto_mime_ops(tern_crypto(t));
	if (t->rc != NULL) {
		o.headers = t->rc->headers;
		o.nheaders = t->rc->nheaders;
	}
	/* Written as it is made visible: a big text is not held twice. */
	if (mime_render_to(mm, &o, write_out, NULL) != 0) {
		tern_warnx("cannot write the message to stdout");
		return TERN_EXIT_FAIL;
	}
	return TERN_EXIT_OK;
}

int
cmd_cat(struct tern *t, int argc, char **argv)
{
	struct cat_args a;
	struct folder_ref r;
	struct store_msg m;
	struct mime_msg *mm = NULL;
	char *cause = NULL;
	int status;

	if ((status = cat_parse(argc, argv, &a)) != TERN_EXIT_OK)
		return status;
	if ((status = folder_ref_parse(t, a.spec, &r, &cause)) != 0)
		return cli_fail(status, cause);
	memset(&m, 0, sizeof m);
	if ((status = cat_find(t, &r, a.spec, a.uid, &m)) != TERN_EXIT_OK)
		goto out;
	if (a.raw)
		status = cat_write_raw(t, &r, a.spec, &m);
	else if ((status = cat_view(t, &r, a.spec, &m, &mm)) == TERN_EXIT_OK)
		status = a.save != NULL ? cat_save(t, &r, &m, mm, a.save)
		                        : cat_write_shown(t, &m, mm, a.headers);
out:
	mime_free(&mm);
	store_msg_clear(&m);
	folder_ref_clear(&r);
	return status;
}
