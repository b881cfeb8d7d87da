/*
 * Writing mail from the client: reply, reply to all, forward, and a new
 * message. The draft is made by the compose module and edited in the
 * user's editor with the terminal handed over; then the send screen shows
 * its fields and attachments to change before it is sent, postponed or
 * cancelled. The built message goes to the account's outbox, and the
 * account's worker sends it (never the ui thread: the network does not
 * block the keyboard); a postponed draft is kept in the store, and the
 * worker uploads it to the server's Drafts. A draft that cannot be built or queued is kept in
 * a file, and the message line says where.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/compose.h"
#include "tern/crypto.h"
#include "tern/smtp.h"
#include "ui-private.h"

void
ui_shell_begin(struct ui *u)
{
	def_prog_mode();
	endwin();
	/* The program may have something to say on stderr. */
	if (u->saved_stderr >= 0) {
		fflush(stderr);
		u->log_stderr = dup(STDERR_FILENO);
		dup2(u->saved_stderr, STDERR_FILENO);
	}
}

void
ui_shell_end(struct ui *u)
{
	if (u->log_stderr >= 0) {
		fflush(stderr);
		dup2(u->log_stderr, STDERR_FILENO);
		close(u->log_stderr);
		u->log_stderr = -1;
	}
	reset_prog_mode();
	clearok(curscr, TRUE);
	refresh();
	u->dirty = 1;
}

ssize_t
ui_account_of_rc(struct ui *u, const struct rc_account *a)
{
	for (size_t i = 0; i < u->naccts; i++) {
		if (u->accts[i].rc == a)
			return (ssize_t)i;
	}
	return -1;
}

/* The account to send from: the open folder's, else the one whose
 * address the original was sent to, else the first that can send. */
static struct rc_account *
send_account(struct ui *u, const char *raw, size_t len)
{
	struct rc *rc = u->t->rc;
	struct rc_account *a = NULL;

	if (u->demo)
		return &u->demo_from;
	if (u->nfolders > 0)
		a = u->accts[u->folders[u->fcur].account].rc;
	if ((a == NULL || a->smtp == NULL) && raw != NULL)
		a = smtp_account_for(rc, raw, len);
	for (size_t i = 0; (a == NULL || a->smtp == NULL) && i < rc->naccounts;
	     i++) {
		if (rc->accounts[i].smtp != NULL)
			a = &rc->accounts[i];
	}
	return a != NULL && a->smtp != NULL ? a : NULL;
}

static void
keep(struct ui *u, const struct compose *c, char *cause)
{
	char *why = NULL, *path = compose_draft_keep(c, &why);

	if (path != NULL)
		ui_message(u, 1, "%s; the draft is kept in %s", cause, path);
	else
		ui_message(
		    u, 1, "%s; the draft could not be kept: %s", cause, why);
	free(cause);
	free(why);
	free(path);
}

/* What the send screen ends with. */
enum send_end { SEND_QUEUE, SEND_POSTPONE, SEND_CANCEL };

static void
send_field(struct ui *u, int y, const char *label, const char *value)
{
	ui_put(y, 0, 10, label, u->attr[UI_C_HEADER]);
	if (COLS > 10)
		ui_put(y, 10, COLS - 10, value ? value : "", A_NORMAL);
}

/*
 * What will be done to the message: the draft's Sign: and Encrypt: lines,
 * else the account's pgp_sign and pgp_encrypt (crypto_message decides
 * the same way when it is queued).
 */
static void
security_wanted(const struct rc_account *a, const struct compose *c, int *sign,
    int *encrypt)
{
	struct buf h;
	size_t i;

	buf_init(&h, 0);
	for (i = 0; i < c->nextra; i++)
		buf_printf(&h, "%s\r\n", c->extra[i]);
	buf_adds(&h, "\r\n");
	crypto_wanted(a, h.data, h.len, sign, encrypt);
	buf_free(&h);
}

/* Set the draft's header line name to value, replacing any. */
static void
extra_set(struct compose *c, const char *name, const char *value)
{
	size_t i, o = 0, n = strlen(name);

	for (i = 0; i < c->nextra; i++) {
		if (ascii_strncasecmp(c->extra[i], name, n) == 0 &&
		    c->extra[i][n] == ':')
			free(c->extra[i]);
		else
			c->extra[o++] = c->extra[i];
	}
	c->extra = xreallocarray(c->extra, o + 1, sizeof *c->extra);
	c->extra[o++] = xasprintf("%s: %s", name, value);
	c->nextra = o;
}

/* The next of neither, sign, encrypt, both. */
static void
security_toggle(const struct rc_account *a, struct compose *c)
{
	int sign, enc;

	security_wanted(a, c, &sign, &enc);
	enc = enc == 1;
	if (!sign && !enc)
		sign = 1;
	else if (sign && !enc) {
		sign = 0;
		enc = 1;
	} else if (!sign)
		sign = 1;
	else
		sign = enc = 0;
	extra_set(c, "Sign", sign ? "yes" : "no");
	extra_set(c, "Encrypt", enc ? "yes" : "no");
}

static char *
security_line(const struct rc_account *a, const struct compose *c)
{
	const char *proto = a != NULL && a->smime ? "S/MIME" : "OpenPGP";
	int sign, enc;

	security_wanted(a, c, &sign, &enc);
	if (!sign && enc == 0)
		return xstrdup("none (p: sign, encrypt)");
	return xasprintf("%s%s%s (%s)", sign ? "sign" : "",
	    sign && enc ? ", " : "",
	    enc == 1  ? "encrypt"
	        : enc ? "encrypt if every recipient has a key"
	              : "",
	    proto);
}

static void
send_draw(struct ui *u, const struct rc_account *a, const struct compose *c,
    size_t sel)
{
	size_t i, first = 0;
	int y = 1, rows;
	char *sec;

	erase();
	ui_put(0, 0, COLS,
	    " tern  send  y:Send  q:Cancel  ?:Help  t:To  c:Cc  b:Bcc  "
	    "s:Subject  a:Attach  D:Detach  e:Edit  P:Postpone  p:Security",
	    u->attr[UI_C_TITLE]);
	send_field(u, y++, "From:", c->from);
	send_field(u, y++, "To:", c->to);
	send_field(u, y++, "Cc:", c->cc);
	send_field(u, y++, "Bcc:", c->bcc);
	send_field(u, y++, "Subject:", c->subject);
	sec = security_line(a, c);
	send_field(u, y++, "Security:", sec);
	free(sec);
	y++;
	ui_put(y++, 0, COLS,
	    c->nattach || c->fwd_raw ? "Attachments:" : "No attachments",
	    u->attr[UI_C_HEADER]);
	if (c->fwd_raw != NULL && c->nfwd_more > 0) {
		char *l =
		    xasprintf("  the %zu forwarded messages", c->nfwd_more + 1);

		ui_put(y++, 0, COLS, l, u->attr[UI_C_ATTACHMENT]);
		free(l);
	} else if (c->fwd_raw != NULL)
		ui_put(y++, 0, COLS, "  the forwarded message",
		    u->attr[UI_C_ATTACHMENT]);
	rows = LINES - 1 - y;
	if (rows > 0 && sel >= (size_t)rows)
		first = sel - (size_t)rows + 1;
	for (i = first; i < c->nattach && y < LINES - 1; i++) {
		struct stat st;
		char *line;

		if (stat(c->attach[i], &st) == 0)
			line = xasprintf("%s %zu  %s  (%jd bytes)",
			    i == sel ? ">" : " ", i + 1, c->attach[i],
			    (intmax_t)st.st_size);
		else
			line = xasprintf("%s %zu  %s  (missing)",
			    i == sel ? ">" : " ", i + 1, c->attach[i]);
		ui_put(y++, 0, COLS, line,
		    i == sel ? u->attr[UI_C_CURSOR] : u->attr[UI_C_ATTACHMENT]);
		free(line);
	}
	ui_put(LINES - 1, 0, COLS, u->msg ? u->msg : "",
	    u->msg_error ? u->attr[UI_C_ERROR] : (int)A_NORMAL);
	refresh();
}

/* The help screen over the send screen, until q or ?. */
static void
send_help(struct ui *u)
{
	/* The compose keys come last: open the screen at the end. */
	u->help_top = (size_t)-1 / 2;
	for (;;) {
		enum ui_fn fn;
		int key;

		erase();
		ui_put(0, 0, COLS, " tern  help  q:Back  j/k:Scroll",
		    u->attr[UI_C_TITLE]);
		ui_help_draw(u, 1, LINES - 1, COLS);
		refresh();
		if ((key = ui_getkey()) == -1)
			continue;
		fn = ui_key_fn(u, UI_MAP_INDEX, key);
		if (fn == UI_FN_QUIT || fn == UI_FN_HELP ||
		    ui_key_fn(u, UI_MAP_COMPOSE, key) == UI_FN_QUIT)
			break;
		ui_help_key(u, fn);
	}
}

/* Edit one field in the prompt; an empty answer empties it. */
static void
send_edit(struct ui *u, const char *label, char **field, int complete)
{
	char *prompt, *ans = NULL;

	if (*field != NULL && mbstowcs(NULL, *field, 0) >= 999) {
		ui_message(u, 1,
		    "%s is too long to edit here: press e to edit the message",
		    label);
		return;
	}
	prompt = xasprintf("%s%s: ", label,
	    complete == UI_COMPLETE_ADDRESS ? " (Tab completes)" : "");
	if (ui_prompt(u, prompt, *field, complete, &ans) == 0) {
		free(*field);
		*field = *ans != '\0' ? ans : NULL;
		if (*field != NULL)
			ans = NULL;
	}
	free(ans);
	free(prompt);
}

/* Ask for a file and attach it if it can be read. */
static void
send_attach(struct ui *u, struct compose *c)
{
	char *ans = NULL, *path = NULL, cwd[4096];
	const char *home = getenv("HOME");
	struct stat st;
	int fd = -1;

	if (ui_prompt(u, "Attach file: ", NULL, UI_COMPLETE_PATH, &ans) != 0 ||
	    *ans == '\0')
		goto out;
	if (ans[0] == '~' && ans[1] == '/' && home != NULL)
		path = xasprintf("%s%s", home, ans + 1);
	else if (ans[0] != '/' && getcwd(cwd, sizeof cwd) != NULL)
		path = xasprintf("%s/%s", cwd, ans);
	else
		path = xstrdup(ans);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		ui_message(u, 1, "Cannot attach %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ui_message(u, 1, "Cannot attach %s: not a regular file", path);
		goto out;
	}
	if ((uintmax_t)st.st_size > COMPOSE_ATTACH_MAX) {
		ui_message(u, 1, "Cannot attach %s: larger than %u MB", path,
		    COMPOSE_ATTACH_MAX / (1024 * 1024));
		goto out;
	}
	compose_attach_add(c, path);
	ui_message(u, 0, "Attached %s", path);
out:
	if (fd != -1)
		close(fd);
	free(path);
	free(ans);
}

/* Say where a postponed draft went, and have a queued one uploaded. */
static void
postponed(struct ui *u, struct rc_account *a, int queued, const char *where)
{
	ssize_t acct = ui_account_of_rc(u, a);

	if (!queued)
		ui_message(u, 0, "Postponed to %s", where);
	else if (acct >= 0 && u->accts[acct].w != NULL) {
		ui_message(u, 0, "Postponed to %s (uploading)", where);
		ui_worker_sync_now(u, (size_t)acct);
	} else
		ui_message(
		    u, 0, "Postponed to %s (tern sync uploads it)", where);
	ui_log(u, "postponed for %s (%s)", where, queued ? "queued" : "stored");
}

/* The body in the editor again. */
static void
send_edit_body(struct ui *u, struct compose *c)
{
	char *cause = NULL;

	ui_shell_begin(u);
	if (compose_edit(c, compose_editor(u->t->rc->editor), &cause) != 0) {
		ui_message(u, 1, "Not changed: %s", cause);
		free(cause);
	}
	ui_shell_end(u);
}

/* Only a message that builds leaves the screen to be sent: 0, or -1 with
 * why on the message line. */
static int
send_builds(struct ui *u, struct compose *c)
{
	struct buf out;
	char *cause = NULL;
	int rc;

	buf_init(&out, 0);
	if ((rc = compose_build(c, 0, COMPOSE_KEEP_BCC, &out, NULL, &cause)) !=
	    0) {
		ui_message(u, 1, "Not sent: %s", cause);
		free(cause);
	}
	buf_free(&out);
	return rc == 0 ? 0 : -1;
}

/*
 * Postpone c: kept in the store now, and the worker uploads it (the
 * demo's stays in local/Drafts). 0, or -1 with why on the message line.
 */
static int
send_postpone(struct ui *u, struct rc_account *a, struct compose *c)
{
	struct buf out;
	char *cause = NULL, *where = NULL;
	int queued, ret = -1;

	buf_init(&out, 0);
	if (compose_build(c, 0, COMPOSE_DRAFT, &out, NULL, &cause) != 0)
		goto out;
	if (u->demo) {
		if (ui_demo_keep(u, "Drafts", out.data, out.len, &cause) != 0)
			goto out;
		ui_message(u, 0, "Postponed to local/Drafts");
	} else {
		if (smtp_draft_postpone(u->t, a, out.data, out.len, &queued,
		        &where, &cause) != 0)
			goto out;
		postponed(u, a, queued, where);
	}
	ret = 0;
out:
	if (ret != 0) {
		ui_message(u, 1, "Not postponed: %s", cause);
		free(cause);
	}
	free(where);
	buf_free(&out);
	return ret;
}

/*
 * The send screen: the draft's fields and attachments, changed here until
 * the user sends (the message built from c is then what is sent),
 * postpones or cancels.
 */
static enum send_end
send_screen(struct ui *u, struct rc_account *a, struct compose *c)
{
	enum send_end end = SEND_CANCEL;
	size_t sel = 0;

	nodelay(stdscr, FALSE);
	for (;;) {
		int key;

		if (c->nattach > 0 && sel >= c->nattach)
			sel = c->nattach - 1;
		send_draw(u, a, c, sel);
		key = ui_getkey();
		if (key == -1)
			continue;
		switch (ui_key_fn(u, UI_MAP_COMPOSE, key)) {
		case UI_FN_NEXT:
			if (sel + 1 < c->nattach)
				sel++;
			break;
		case UI_FN_PREV:
			if (sel > 0)
				sel--;
			break;
		case UI_FN_EDIT_TO:
			send_edit(u, "To", &c->to, UI_COMPLETE_ADDRESS);
			break;
		case UI_FN_EDIT_CC:
			send_edit(u, "Cc", &c->cc, UI_COMPLETE_ADDRESS);
			break;
		case UI_FN_EDIT_BCC:
			send_edit(u, "Bcc", &c->bcc, UI_COMPLETE_ADDRESS);
			break;
		case UI_FN_EDIT_SUBJECT:
			send_edit(u, "Subject", &c->subject, 0);
			break;
		case UI_FN_ATTACH_FILE:
			send_attach(u, c);
			break;
		case UI_FN_DETACH_FILE:
			if (compose_attach_remove(c, sel) != 0)
				ui_message(u, 1, "No attachment to remove");
			break;
		case UI_FN_EDIT_MESSAGE:
			send_edit_body(u, c);
			break;
		case UI_FN_SEND_MESSAGE:
			if (send_builds(u, c) == 0) {
				end = SEND_QUEUE;
				goto out;
			}
			break;
		case UI_FN_SECURITY:
			security_toggle(a, c);
			break;
		case UI_FN_POSTPONE_MESSAGE:
			if (send_postpone(u, a, c) == 0) {
				end = SEND_POSTPONE;
				goto out;
			}
			break;
		case UI_FN_QUIT:
			if (ui_confirm(u, "Cancel this message?")) {
				ui_message(u, 0, "Cancelled; nothing was sent");
				goto out;
			}
			break;
		case UI_FN_REDRAW:
			clearok(curscr, TRUE);
			break;
		case UI_FN_HELP:
			send_help(u);
			break;
		default:
			break;
		}
		/* The prompt and the editor give the keyboard back. */
		nodelay(stdscr, FALSE);
	}
out:
	nodelay(stdscr, TRUE);
	u->dirty = 1;
	return end;
}

/*
 * Are all of ids[0..n) downloaded? If not, the downloads of those that
 * are not are asked for at once, and the message line says so: 0 all
 * here, -1 not.
 */
static int
forward_all_here(struct ui *u, const int64_t *ids, size_t n)
{
	size_t i, missing = 0, failed = 0;
	int64_t folder;
	uint32_t uid, uidvalidity;
	int has_body;

	for (i = 0; i < n; i++) {
		if (store_msg_where(u->s, ids[i], &folder, &uid, &uidvalidity,
		        &has_body, NULL) != 1 ||
		    has_body)
			continue;
		if (u->nfolders > 0 &&
		    ui_worker_fetch(u, u->folders[u->fcur].account, ids[i]) ==
		        0)
			missing++;
		else
			failed++;
	}
	if (failed > 0)
		ui_message(u, 1,
		    "%zu of the messages are not downloaded"
		    " (offline)",
		    failed);
	else if (missing > 0)
		ui_message(u, 0,
		    "Downloading %zu of the messages; press the keys again"
		    " when they are here",
		    missing);
	return failed + missing > 0 ? -1 : 0;
}

/* The further originals of a forward as attachments (ids[1..n)). */
static int
forward_more(struct ui *u, struct compose *c, const int64_t *ids, size_t n)
{
	struct buf raw;
	char *cause = NULL;
	size_t i;
	int ret = 0;

	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	for (i = 1; i < n && ret == 0; i++) {
		buf_reset(&raw);
		if (store_msg_raw(u->s, ids[i], &raw, &cause) == 1)
			compose_forward_add(c, raw.data, raw.len);
		else {
			ui_message(u, 1, "%s",
			    cause ? cause : "A message is not downloaded");
			ret = -1;
		}
		free(cause);
		cause = NULL;
	}
	buf_free(&raw);
	return ret;
}

/* compose_reply_list's is_list: a list of the rc's lists or subscribe. */
static int
known_list(const char *addr, void *arg)
{
	return rc_is_list(arg, addr, 0);
}

/* Drop the recalled draft from its Drafts: it was sent or postponed anew. */
static void
recalled_drop(struct ui *u, const struct ui_recalled *rec)
{
	struct folder_ref ref;
	char *cause = NULL;
	ssize_t acct = ui_account_of_rc(u, rec->account);

	memset(&ref, 0, sizeof ref);
	if (folder_ref_parse(u->t, rec->spec, &ref, &cause) != 0 ||
	    core_flag(u->t, &ref, &rec->uid, 1, STORE_F_DELETED, 0, &cause) !=
	        0 ||
	    core_purge(u->t, &ref, &cause) != 0)
		ui_message(u, 1, "The recalled draft stays in %s: %s",
		    rec->spec, cause);
	else if (acct >= 0 && u->accts[acct].w != NULL)
		ui_worker_sync_now(u, (size_t)acct);
	ui_log(u, "recalled draft %u removed from %s", (unsigned)rec->uid,
	    rec->spec);
	free(cause);
	folder_ref_clear(&ref);
	u->changes = 1;
	ui_index_load(u, 1);
}

/*
 * The raw original the action works on into raw: 0, or -1 with the
 * reason on the message line (a download asked for counts as one).
 */
static int
original_raw(struct ui *u, const int64_t *ids, size_t nids, struct buf *raw)
{
	char *cause = NULL;
	int64_t id = nids > 0     ? ids[0]
	    : u->mode == UI_PAGER ? u->pager.id
	    : u->cur < u->nids    ? u->ids[u->cur]
	                          : 0;
	int r = id ? store_msg_raw(u->s, id, raw, &cause) : 0;

	if (r == 0 && id != 0 && u->nfolders > 0 &&
	    ui_worker_fetch(u, u->folders[u->fcur].account, id) == 0) {
		ui_message(u, 0,
		    "Downloading the message; press the key again when"
		    " it is here");
		return -1;
	}
	if (r == 1)
		return 0;
	if (r < 0)
		ui_message(u, 1, "%s", cause);
	else
		ui_message(u, 1, "%s",
		    id ? "The message is not downloaded (offline)"
		       : "No message here");
	free(cause);
	return -1;
}

/*
 * The draft fn starts from raw (the original), from a's address; a
 * recalled draft's attachments go into a new *tmpdir. 0, or -1 with the
 * reason on the message line.
 */
static int
compose_start(struct ui *u, enum ui_fn fn, struct compose *c,
    const struct buf *raw, const struct rc_account *a, const int64_t *ids,
    size_t nids, char **tmpdir)
{
	char *cause = NULL;

	switch (fn) {
	case UI_FN_REPLY:
	case UI_FN_GROUP_REPLY:
		compose_reply(
		    c, raw->data, raw->len, a->from, fn == UI_FN_GROUP_REPLY);
		break;
	case UI_FN_LIST_REPLY:
		if (compose_reply_list(c, raw->data, raw->len, a->from,
		        known_list, u->t->rc) != 0) {
			ui_message(u, 1,
			    "No mailing list: the message has no List-Post and"
			    " no address of 'lists' or 'subscribe'");
			return -1;
		}
		break;
	case UI_FN_FORWARD:
	case UI_FN_FORWARD_ATTACH:
		compose_forward(c, raw->data, raw->len, a->from,
		    fn == UI_FN_FORWARD_ATTACH);
		if (nids > 1 && forward_more(u, c, ids, nids) != 0)
			return -1;
		break;
	case UI_FN_RECALL:
		compose_recall(c, raw->data, raw->len);
		/* Its attachments come back as files of a private directory,
		 * removed once the message is queued or given up. */
		if ((*tmpdir = ui_tmp_subdir(u, "recall")) == NULL ||
		    compose_recall_attachments(
		        c, raw->data, raw->len, *tmpdir, &cause) < 0) {
			ui_message(u, 1, "The draft's attachments: %s",
			    cause ? cause : "no directory for them");
			free(cause);
			return -1;
		}
		break;
	default:
		compose_new(c, a->from);
		break;
	}
	/* A recalled draft has its signature already. */
	if (fn != UI_FN_RECALL &&
	    compose_signature_file(c, a->signature, &cause) != 0) {
		ui_message(u, 1, "Signature not added: %s", cause);
		free(cause);
	}
	return 0;
}

/* Queue c, sent from a (the demo keeps it in its Sent), and say so. */
static void
compose_queue(struct ui *u, enum ui_fn fn, struct rc_account *a,
    struct compose *c, const struct ui_recalled *rec)
{
	struct buf out;
	char *cause = NULL;
	ssize_t acct;

	buf_init(&out, 0);
	/* Bcc stays in the queued copy; it is removed when sent. Signing
	 * may ask for a passphrase on the terminal. */
	ui_crypto_setup(u);
	if (u->demo) {
		/* The demo's outbox never leaves the machine. */
		if (compose_build(c, 0, 0, &out, NULL, &cause) != 0 ||
		    ui_demo_keep(u, "Sent", out.data, out.len, &cause) != 0) {
			keep(u, c, cause);
			goto out;
		}
		if (fn == UI_FN_REPLY || fn == UI_FN_GROUP_REPLY)
			ui_flag_current(u, STORE_F_REPLIED, 0);
		ui_message(u, 0,
		    "Sent (demo): nothing left this machine; the message is "
		    "in local/Sent");
		ui_log(u, "demo sent %zu bytes", out.len);
		goto out;
	}
	if (compose_build(c, 0, COMPOSE_KEEP_BCC, &out, NULL, &cause) != 0 ||
	    smtp_outbox_queue(u->t, a, out.data, out.len, &cause) < 0) {
		keep(u, c, cause);
		goto out;
	}
	ui_log(u, "queued %zu bytes for %s", out.len, a->name);
	if (rec != NULL)
		recalled_drop(u, rec);
	if (fn == UI_FN_REPLY || fn == UI_FN_GROUP_REPLY ||
	    fn == UI_FN_LIST_REPLY)
		ui_flag_current(u, STORE_F_REPLIED, 0);
	if ((acct = ui_account_of_rc(u, a)) >= 0 && u->accts[acct].w != NULL) {
		ui_message(u, 0, "Queued; sending from %s", a->name);
		ui_worker_sync_now(u, (size_t)acct);
	} else
		ui_message(u, 0,
		    "Queued in the outbox of %s (tern sync sends it)", a->name);
out:
	buf_free(&out);
}

static void
compose_run(struct ui *u, enum ui_fn fn, const int64_t *ids, size_t nids,
    const struct ui_recalled *rec)
{
	enum send_end end;
	struct rc_account *a;
	struct compose c;
	struct buf raw;
	char *cause = NULL, *tmpdir = NULL;
	int r;

	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	compose_init(&c);
	if (nids > 1 && forward_all_here(u, ids, nids) != 0)
		goto out;
	if (fn != UI_FN_COMPOSE && original_raw(u, ids, nids, &raw) != 0)
		goto out;
	a = rec != NULL ? rec->account : send_account(u, raw.data, raw.len);
	/* The demo's account sends nowhere: its outbox is its Sent. */
	if (a == NULL || (a->smtp == NULL && !u->demo)) {
		ui_message(u, 1,
		    "No account can send: add 'smtp smtps://HOST' and 'from' to"
		    " an account in %s",
		    u->t->rc_path);
		goto out;
	}
	if (compose_start(u, fn, &c, &raw, a, ids, nids, &tmpdir) != 0)
		goto out;
	ui_shell_begin(u);
	r = compose_edit(&c, compose_editor(u->t->rc->editor), &cause);
	ui_shell_end(u);
	if (r != 0) {
		ui_message(u, 0, "Not sent: %s", cause);
		free(cause);
		goto out;
	}
	if ((end = send_screen(u, a, &c)) == SEND_POSTPONE && rec != NULL)
		recalled_drop(u, rec);
	if (end == SEND_QUEUE)
		compose_queue(u, fn, a, &c, rec);
out:
	compose_clear(&c);
	ui_tmp_remove(tmpdir);
	buf_free(&raw);
}

void
ui_compose(struct ui *u, enum ui_fn fn)
{
	compose_run(u, fn, NULL, 0, NULL);
}

void
ui_compose_recalled(struct ui *u, int64_t id, const struct ui_recalled *rec)
{
	compose_run(u, UI_FN_RECALL, &id, 1, rec);
}

void
ui_compose_forward_many(struct ui *u, const int64_t *ids, size_t n)
{
	compose_run(u, UI_FN_FORWARD_ATTACH, ids, n, NULL);
}
