/*
 * set new_mail_command: a command of the user's run when new mail comes
 * in, with the account, the folder and the count as its arguments ($1 $2
 * $3 of /bin/sh -c) and in TERN_ACCOUNT, TERN_FOLDER and TERN_COUNT.
 * Nothing from a message or a server is put into the shell's text: the
 * folder's name is an argument, never a word to parse.
 *
 * The client never waits for it: a child forks the command and exits at
 * once, so the one wait is for that child, and the command itself, its
 * parent gone, is reaped by init. It runs in a session of its own with
 * /dev/null for input and output, away from the screen and the keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ui-private.h"

extern char **environ;

/* environ without our three variables, then them; malloc'd. */
static char **
command_env(const char *account, const char *folder, int64_t count)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = xreallocarray(NULL, n + 4, sizeof *env);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "TERN_ACCOUNT=", 13) == 0 ||
		    strncmp(environ[i], "TERN_FOLDER=", 12) == 0 ||
		    strncmp(environ[i], "TERN_COUNT=", 11) == 0)
			continue;
		env[k++] = xstrdup(environ[i]);
	}
	env[k++] = xasprintf("TERN_ACCOUNT=%s", account);
	env[k++] = xasprintf("TERN_FOLDER=%s", folder);
	env[k++] = xasprintf("TERN_COUNT=%lld", (long long)count);
	env[k] = NULL;
	return env;
}

void
ui_new_mail_command(
    struct ui *u, const char *account, const char *folder, int64_t count)
{
	const char *cmd = u->t->rc->new_mail_command;
	char **env, num[32], *shown;
	char *argv[] = { "sh", "-c", NULL, "tern-new-mail", NULL, NULL, NULL,
		NULL };
	pid_t pid;
	int status;

	if (cmd == NULL)
		return;
	snprintf(num, sizeof num, "%lld", (long long)count);
	argv[2] = (char *)cmd;
	argv[4] = (char *)account;
	argv[5] = (char *)folder;
	argv[6] = num;
	env = command_env(account, folder, count);
	/* Only async-signal-safe calls between fork and exec: the workers'
	 * threads may hold locks the child would never see released. */
	pid = fork();
	if (pid == 0) {
		int fd;

		if (fork() != 0)
			_exit(0);
		setsid();
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
	shown = text_visible_dup(folder);
	if (pid < 0) {
		ui_log(u, "new-mail-command failed: fork: %s", strerror(errno));
		free(shown);
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* The command's text stays out of the log: it is the user's. */
	ui_log(u, "new-mail-command account=%s folder=%s count=%lld", account,
	    shown, (long long)count);
	free(shown);
}
