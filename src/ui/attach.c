/*
 * Attachments of the message in the pager: save one into a directory,
 * or open one with the desktop's opener. Names come from the message and
 * are made safe by mime_attachment_save (last path component, no control
 * characters, never overwriting); nothing from the message reaches a
 * shell: the opener is run with execvp and the path as its argument.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/mime.h"
#include "ui-private.h"

/* Ask which attachment (when there are several); -1 if none. */
static long
pick(struct ui *u, const struct mime_attachment *v, size_t n)
{
	char *ans = NULL, *q;
	uint64_t k;

	if (n == 1)
		return 0;
	q = xasprintf("Attachment (1-%zu): ", n);
	if (ui_prompt(u, q, NULL, 0, &ans) != 0 || *ans == '\0' ||
	    parse_uint64(ans, strlen(ans), n, &k) != 0 || k == 0) {
		free(q);
		free(ans);
		return -1;
	}
	free(q);
	free(ans);
	(void)v;
	return (long)k - 1;
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

void
ui_attachment(struct ui *u, int open)
{
	const struct mime_attachment *v = NULL;
	size_t n;
	long i;
	char *dir = NULL, *path = NULL, *cause = NULL, cwd[4096];

	if (u->pager.mm == NULL ||
	    (n = mime_attachments(u->pager.mm, &v)) == 0) {
		ui_message(u, 0, "This message has no attachments");
		return;
	}
	if ((i = pick(u, v, n)) < 0)
		return;
	if (open) {
		if (u->tmpdir == NULL) {
			const char *t = getenv("TMPDIR");
			char *tmpl = xasprintf(
			    "%s/tern-XXXXXX", t && *t == '/' ? t : "/tmp");

			if (mkdtemp(tmpl) == NULL) {
				ui_message(
				    u, 1, "%s: %s", tmpl, strerror(errno));
				free(tmpl);
				return;
			}
			u->tmpdir = tmpl;
		}
		dir = xstrdup(u->tmpdir);
	} else {
		if (getcwd(cwd, sizeof cwd) == NULL)
			snprintf(cwd, sizeof cwd, "%s", ".");
		if (ui_prompt(u, "Save into directory: ", cwd, 0, &dir) != 0 ||
		    *dir == '\0') {
			free(dir);
			return;
		}
	}
	if (mime_attachment_save(u->pager.mm, v[i].part, dir, &path, &cause) !=
	    0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
	} else if (open)
		run_opener(u, path);
	else
		ui_message(u, 0, "Saved to %s", path);
	free(path);
	free(dir);
}
