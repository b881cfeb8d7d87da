/*
 * Attachments of the message in the pager: save one into a directory,
 * or open one with the desktop's opener. Names come from the message and
 * are made safe by mime_attachment_save (last path component, no control
 * characters, never overwriting); nothing from the message reaches a
 * shell: the opener is run with execvp and the path as its argument.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/crypto.h"
#include "tern/mime.h"
#include "ui-private.h"

/*
 * Ask which attachment (when there are several), by the number the pager
 * shows for it; its index in v, or -1 if none.
 */
static long
pick(struct ui *u, const struct mime_attachment *v, size_t n, char **inner)
{
	char *ans = NULL, *q, *nums;
	/* A decrypted part's attachments are numbered eK.N: ask. */
	int secure = mime_has_security(u->pager.mm);
	long k;

	*inner = NULL;
	if (n == 1 && !secure)
		return 0;
	nums = mime_attachment_numbers(u->pager.mm);
	/* Many: the first and the last say enough on one line. */
	if (strlen(nums) > 40)
		q = xasprintf("Attachment (%s ... %s%s): ", v[0].section,
		    v[n - 1].section, secure ? ", e1.1 ..." : "");
	else
		q = xasprintf(
		    "Attachment (%s%s): ", nums, secure ? ", e1.1 ..." : "");
	free(nums);
	k = -1;
	if (ui_prompt(u, q, NULL, 0, &ans) == 0 && *ans != '\0') {
		if (secure && ans[0] == 'e') {
			*inner = ans;
			ans = NULL;
		} else if ((k = mime_attachment_find(u->pager.mm, ans)) < 0)
			ui_message(
			    u, 1, "No attachment %s in this message", ans);
	}
	free(q);
	free(ans);
	return k;
}

/*
 * Save attachment label (eK.N) of a decrypted part: decrypted again and
 * written from memory. It is never opened: that would leave the clear
 * text in a temporary file.
 */
static void
save_inner(struct ui *u, const char *label, int open)
{
	struct mime_render_opts o;
	struct mime_msg *inner = NULL;
	char *dir = NULL, *path = NULL, *cause = NULL, cwd[4096];
	size_t part;

	if (open) {
		ui_message(u, 1,
		    "An attachment of an encrypted message is not opened "
		    "(it would be left decrypted in a temporary file): save it "
		    "with S");
		return;
	}
	memset(&o, 0, sizeof o);
	ui_crypto_setup(u);
	o.crypto = crypto_mime_ops(tern_crypto(u->t));
	if (mime_secure_attachment(u->pager.mm, &o, label, &inner, &part) !=
	    1) {
		ui_message(u, 1, "No attachment %s in this message", label);
		return;
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		snprintf(cwd, sizeof cwd, "%s", ".");
	if (ui_prompt(
	        u, "Save into directory: ", cwd, UI_COMPLETE_PATH, &dir) == 0 &&
	    *dir != '\0') {
		if (mime_attachment_save(inner, part, dir, &path, &cause) !=
		    0) {
			ui_message(u, 1, "%s", cause);
			free(cause);
		} else
			ui_message(u, 0, "Saved to %s", path);
	}
	free(path);
	free(dir);
	mime_free(&inner);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
ui_attach_cleanup(struct ui *u)
{
	if (u->tmpdir != NULL)
		nftw(u->tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(u->tmpdir);
	u->tmpdir = NULL;
}

/* Run the opener on path with the terminal given back meanwhile. */
static void
run_opener(struct ui *u, const char *path)
{
	const char *op = getenv("TERN_OPENER");
	pid_t pid;
	int status = 0;

	if (op == NULL || *op == '\0')
		op = "xdg-open";
	ui_shell_begin(u);
	if ((pid = fork()) == 0) {
		execlp(op, op, path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	ui_shell_end(u);
	if (pid < 0)
		ui_message(u, 1, "cannot start %s: %s", op, strerror(errno));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ui_message(u, 1, "%s %s failed (status %d)", op, path,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	else
		ui_message(u, 0, "Opened %s", path);
}

/* The directory attachments opened this session go to; NULL if none. */
static char *
open_dir(struct ui *u)
{
	if (u->tmpdir == NULL) {
		const char *t = getenv("TMPDIR");
		char *tmpl =
		    xasprintf("%s/tern-XXXXXX", t && *t == '/' ? t : "/tmp");

		if (mkdtemp(tmpl) == NULL) {
			ui_message(u, 1, "%s: %s", tmpl, strerror(errno));
			free(tmpl);
			return NULL;
		}
		u->tmpdir = tmpl;
	}
	return xstrdup(u->tmpdir);
}

char *
ui_tmp_subdir(struct ui *u, const char *what)
{
	char *top = open_dir(u), *dir;

	if (top == NULL)
		return NULL;
	dir = xasprintf("%s/%s-XXXXXX", top, what);
	free(top);
	if (mkdtemp(dir) == NULL) {
		ui_message(u, 1, "%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

void
ui_tmp_remove(char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Save part into dir, and open it when asked. */
static void
save_or_open(struct ui *u, size_t part, const char *dir, int open)
{
	char *path = NULL, *cause = NULL;

	if (mime_attachment_save(u->pager.mm, part, dir, &path, &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
	} else if (open)
		run_opener(u, path);
	else
		ui_message(u, 0, "Saved to %s", path);
	free(path);
}

/* The account (index) of the pager's message; -1 if none. */
static ssize_t
pager_account(struct ui *u)
{
	struct store_msg m;
	ssize_t a = -1;

	memset(&m, 0, sizeof m);
	if (store_msg_get_id(u->s, u->pager.id, &m, NULL) == 1) {
		for (size_t i = 0; i < u->nfolders; i++) {
			if (u->folders[i].id == m.folder_id)
				a = (ssize_t)u->folders[i].account;
		}
	}
	store_msg_clear(&m);
	return a;
}

void
ui_attachment(struct ui *u, int open)
{
	const struct mime_attachment *v = NULL;
	const struct mime_part *mp;
	size_t n;
	long i;
	ssize_t acct;
	char *dir = NULL, *inner = NULL, cwd[4096];

	if (u->pager.mm == NULL ||
	    (n = mime_attachments(u->pager.mm, &v)) == 0) {
		ui_message(u, 0, "This message has no attachments");
		return;
	}
	i = pick(u, v, n, &inner);
	if (inner != NULL) {
		save_inner(u, inner, open);
		free(inner);
		return;
	}
	if (i < 0)
		return;
	if (open) {
		if ((dir = open_dir(u)) == NULL)
			return;
	} else {
		if (getcwd(cwd, sizeof cwd) == NULL)
			snprintf(cwd, sizeof cwd, "%s", ".");
		if (ui_prompt(u, "Save into directory: ", cwd, UI_COMPLETE_PATH,
		        &dir) != 0 ||
		    *dir == '\0') {
			free(dir);
			return;
		}
	}
	mp = mime_part_at(u->pager.mm, v[i].part);
	if (!mp->missing) {
		save_or_open(u, v[i].part, dir, open);
		free(dir);
		return;
	}
	/* Not downloaded: the worker fetches it, then it is saved. */
	if (mp->remote_section == NULL || (acct = pager_account(u)) < 0 ||
	    ui_worker_fetch_part(
	        u, (size_t)acct, u->pager.id, mp->remote_section) != 0) {
		ui_message(u, 1,
		    "The attachment is not downloaded, and the account is "
		    "offline");
		free(dir);
		return;
	}
	free(u->pager.pend_section);
	free(u->pager.pend_dir);
	u->pager.pend_section = xstrdup(mp->remote_section);
	u->pager.pend_dir = dir;
	u->pager.pend_open = open;
	ui_message(u, 0, "Downloading the attachment…");
}

void
ui_attachment_fetched(
    struct ui *u, int64_t msg_id, const char *section, const char *error)
{
	struct ui_pager *p = &u->pager;
	char *dir;
	size_t i;
	int open;

	if (u->mode != UI_PAGER || p->id != msg_id || p->pend_section == NULL ||
	    section == NULL || strcmp(p->pend_section, section) != 0)
		return;
	dir = p->pend_dir;
	open = p->pend_open;
	free(p->pend_section);
	p->pend_section = NULL;
	p->pend_dir = NULL;
	if (error != NULL) {
		ui_message(
		    u, 1, "The attachment was not downloaded: %s", error);
		free(dir);
		return;
	}
	/* The view again, with this part from the store now. */
	ui_pager_reload(u);
	for (i = 0; p->mm != NULL && i < mime_part_count(p->mm); i++) {
		const struct mime_part *mp = mime_part_at(p->mm, i);

		if (mp->remote_section != NULL && !mp->missing &&
		    strcmp(mp->remote_section, section) == 0)
			break;
	}
	if (p->mm == NULL || i == mime_part_count(p->mm))
		ui_message(u, 1, "The attachment is not in the store");
	else
		save_or_open(u, i, dir, open);
	free(dir);
}
