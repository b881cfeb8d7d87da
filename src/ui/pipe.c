/*
 * Piping mail to a shell command, as mutt's pipe-message: the message
 * under the cursor goes as its exact bytes; the tagged messages (';|')
 * go one after the other in mbox form (mboxrd: a From_ line before each,
 * ^>*From lines quoted, a blank line after), so that the command (git
 * am, formail, a script) can tell them apart. The client steps aside as
 * it does for the editor, the command writes to the terminal, and a key
 * brings the client back.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/archive.h"
#include "tern/compose.h"
#include "ui-private.h"

/*
 * The raw bytes of ids[0..n) into out (mbox form when mbox); 0, or -1
 * when one is not downloaded (its download asked for) or unreadable.
 */
static int
pipe_input(
    struct ui *u, const int64_t *ids, size_t n, int mbox, struct buf *out)
{
	struct buf raw;
	char *cause = NULL;
	size_t i, missing = 0;
	int ret = 0;

	buf_init(&raw, COMPOSE_MESSAGE_MAX);
	for (i = 0; i < n && ret == 0; i++) {
		int r;

		buf_reset(&raw);
		r = store_msg_raw(u->s, ids[i], &raw, &cause);
		if (r < 0) {
			ui_message(u, 1, "%s", cause);
			free(cause);
			ret = -1;
		} else if (r == 0) {
			if (u->nfolders > 0 &&
			    ui_worker_fetch(
			        u, u->folders[u->fcur].account, ids[i]) == 0)
				missing++;
			else {
				ui_message(u, 1,
				    "A message is not downloaded (offline)");
				ret = -1;
			}
		} else if (mbox) {
			char date[64];
			time_t now = time(NULL);
			struct tm tm;

			gmtime_r(&now, &tm);
			strftime(
			    date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
			buf_printf(out, "From tern %s\n", date);
			archive_mbox_quote(out, raw.data, raw.len);
			if (raw.len > 0 && raw.data[raw.len - 1] != '\n')
				buf_addc(out, '\n');
			buf_addc(out, '\n');
		} else
			buf_add(out, raw.data, raw.len);
	}
	if (ret == 0 && missing > 0) {
		ui_message(u, 0,
		    "Downloading %zu message%s; press the keys again when"
		    " %s here",
		    missing, missing == 1 ? "" : "s",
		    missing == 1 ? "it is" : "they are");
		ret = -1;
	}
	buf_free(&raw);
	return ret;
}

/* Wait for one key on the terminal the client has stepped away from. */
static void
any_key(void)
{
	struct termios old, raw;
	char c;

	fputs("Press any key to continue...", stdout);
	fflush(stdout);
	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return;
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	while (read(STDIN_FILENO, &c, 1) < 0 && errno == EINTR)
		;
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputs("\n", stdout);
}

/* Run cmd with the file fd as its standard input; its exit status. */
static int
run(const char *cmd, int fd, char **cause)
{
	pid_t pid;
	int status;

	if ((pid = fork()) < 0) {
		set_cause(
		    cause, "cannot start the command: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (dup2(fd, STDIN_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			set_cause(cause, "waiting for the command: %s",
			    strerror(errno));
			return -1;
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void
ui_pipe(struct ui *u, const int64_t *ids, size_t n)
{
	const char *t = getenv("TMPDIR");
	char *ans = NULL, *prompt, *path = NULL, *cause = NULL;
	struct buf in;
	int64_t one;
	int fd = -1, st;

	if (ids == NULL) {
		one = u->mode == UI_PAGER ? u->pager.id
		    : u->cur < u->nids    ? u->ids[u->cur]
		                          : 0;
		if (one == 0) {
			ui_message(u, 1, "No message here");
			return;
		}
		ids = &one;
		n = 1;
	}
	buf_init(&in, 0);
	if (pipe_input(u, ids, n, n > 1, &in) != 0)
		goto out;
	prompt = n > 1 ? xasprintf("Pipe %zu tagged messages to: ", n)
	               : xstrdup("Pipe to: ");
	st = ui_prompt(u, prompt, NULL, 0, &ans);
	free(prompt);
	if (st != 0 || *ans == '\0')
		goto out;
	/* A file, not a pipe: the command may read as little as it likes. */
	path = xasprintf("%s/tern-pipe-XXXXXX", t && *t == '/' ? t : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		ui_message(
		    u, 1, "Cannot make a temporary file: %s", strerror(errno));
		goto out;
	}
	unlink(path);
	if (write_all(fd, in.data, in.len) != 0 ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		ui_message(
		    u, 1, "Cannot write a temporary file: %s", strerror(errno));
		goto out;
	}
	ui_shell_begin(u);
	st = run(ans, fd, &cause);
	any_key();
	ui_shell_end(u);
	ui_log(u, "piped %zu message%s (%zu bytes): status %d", n,
	    n == 1 ? "" : "s", in.len, st);
	if (st < 0)
		ui_message(u, 1, "%s", cause);
	else if (st != 0)
		ui_message(u, 1, "The command failed (status %d)", st);
	else
		ui_message(u, 0, "Piped %zu message%s", n, n == 1 ? "" : "s");
	free(cause);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(ans);
	buf_free(&in);
}
