/*
 * Writing mail from the client: reply, reply to all, forward, and a new
 * message. The draft is made by the compose module and edited in the
 * user's editor with the terminal handed over; the built message goes to
 * the account's outbox, and the account's worker sends it (never the ui
 * thread: the network does not block the keyboard). A draft that cannot
 * be built or queued is kept in a file, and the message line says where.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/compose.h"
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

void
ui_compose(struct ui *u, enum ui_fn fn)
{
	struct rc_account *a;
	struct compose c;
	struct buf raw, out;
	char *cause = NULL;
	int64_t id = 0;
	ssize_t acct;
	int r;

	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	buf_init(&out, 0);
	compose_init(&c);
	if (fn != UI_FN_COMPOSE) {
		id = u->mode == UI_PAGER ? u->pager.id
		    : u->cur < u->nids   ? u->ids[u->cur]
		                         : 0;
		r = id ? store_msg_raw(u->s, id, &raw, &cause) : 0;
		if (r == 0 && id != 0 && u->nfolders > 0 &&
		    ui_worker_fetch(u, u->folders[u->fcur].account, id) == 0) {
			ui_message(u, 0,
			    "Downloading the message; press the key again when"
			    " it is here");
			goto out;
		}
		if (r != 1) {
			if (r < 0)
				ui_message(u, 1, "%s", cause);
			else
				ui_message(u, 1, "%s",
				    id ? "The message is not downloaded"
				         " (offline)"
				       : "No message here");
			free(cause);
			goto out;
		}
	}
	if ((a = send_account(u, raw.data, raw.len)) == NULL) {
		ui_message(u, 1,
		    "No account can send: add 'smtp smtps://HOST' and 'from' to"
		    " an account in %s",
		    u->t->rc_path);
		goto out;
	}
	switch (fn) {
	case UI_FN_REPLY:
	case UI_FN_GROUP_REPLY:
		compose_reply(
		    &c, raw.data, raw.len, a->from, fn == UI_FN_GROUP_REPLY);
		break;
	case UI_FN_FORWARD:
		compose_forward(&c, raw.data, raw.len, a->from, 0);
		break;
	default:
		compose_new(&c, a->from);
		break;
	}
	ui_shell_begin(u);
	r = compose_edit(&c, compose_editor(u->t->rc->editor), &cause);
	ui_shell_end(u);
	if (r != 0) {
		ui_message(u, 0, "Not sent: %s", cause);
		free(cause);
		goto out;
	}
	/* Bcc stays in the queued copy; it is removed when sent. */
	if (compose_build(&c, 0, COMPOSE_KEEP_BCC, &out, NULL, &cause) != 0 ||
	    smtp_outbox_queue(u->t, a, out.data, out.len, &cause) < 0) {
		keep(u, &c, cause);
		goto out;
	}
	ui_log(u, "queued %zu bytes for %s", out.len, a->name);
	if (fn == UI_FN_REPLY || fn == UI_FN_GROUP_REPLY)
		ui_flag_current(u, STORE_F_REPLIED, 0);
	if ((acct = ui_account_of_rc(u, a)) >= 0 && u->accts[acct].w != NULL) {
		ui_message(u, 0, "Queued; sending from %s", a->name);
		ui_worker_sync_now(u, (size_t)acct);
	} else
		ui_message(u, 0,
		    "Queued in the outbox of %s (tern sync sends it)", a->name);
out:
	compose_clear(&c);
	buf_free(&raw);
	buf_free(&out);
}
