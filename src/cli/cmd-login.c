/*
 * tern login ACCOUNT [--print-token]: sign in to the account's OAuth 2.0
 * provider and keep the tokens; or print a current access token, so that
 * tern can serve other programs as their token command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/oauth.h"
#include "tern/util.h"

/* What the person signing in must do: on stderr, stdout is for tokens. */
static void
login_show(void *arg, const char *text)
{
	(void)arg;
	fprintf(stderr, "%s\n", text);
	fflush(stderr);
}

int
cmd_login(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "print-token", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("login");
	struct oauth_login_ui ui = { login_show, NULL, NULL };
	struct rc_account *a;
	char *cause = NULL, *token = NULL;
	int ch, print = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'p')
			return cli_usage(cmd);
		print = 1;
	}
	if (optind + 1 != argc)
		return cli_usage(cmd);
	if ((a = rc_find_account(t->rc, argv[optind])) == NULL) {
		tern_warnx("no account '%s' in %s", argv[optind], t->rc_path);
		return TERN_EXIT_USAGE;
	}
	if (a->auth != RC_AUTH_OAUTH2 && a->smtp_auth != RC_AUTH_OAUTH2) {
		tern_warnx("account %s signs in with a password (auth "
		           "oauth2 in the rc for OAuth 2.0)",
		    a->name);
		return TERN_EXIT_USAGE;
	}
	if (print) {
		if (oauth_access_token(a, 0, &token, &cause) != OAUTH_OK)
			return cli_fail(TERN_EXIT_FAIL, cause);
		printf("%s\n", token);
		oauth_token_free(&token);
		return fflush(stdout) == 0 ? TERN_EXIT_OK : TERN_EXIT_FAIL;
	}
	if (oauth_login(a, &ui, &cause) != OAUTH_OK)
		return cli_fail(TERN_EXIT_FAIL, cause);
	fprintf(stderr, "tern: %s: signed in\n", a->name);
	return TERN_EXIT_OK;
}
