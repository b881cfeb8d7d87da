/*
 * Logging in to IMAP and POP3 with the account's credential. With auth
 * oauth2 a refused token is fetched once more (refreshed, or the user's
 * command run again) and tried again: a token revoked or expired early
 * is thus replaced without the user; a second refusal is the server's
 * last word.
 */
#include <stdlib.h>
#include <string.h>

#include "oauth-private.h"

int
oauth_net_connect(const struct rc_account *a, struct net_params *p,
    struct net_conn **cp, char **cause)
{
	char *secret = NULL, *first = NULL;
	enum oauth_status st;
	int r;

	p->account = a->name;
	if (a->auth != RC_AUTH_OAUTH2) {
		if ((secret = rc_account_password(a, cause)) == NULL)
			return -1;
		p->password = secret;
		r = net_connect(p, cp, cause);
		p->password = NULL;
		oauth_token_free(&secret);
		return r;
	}
	if ((st = oauth_access_token(a, 0, &secret, cause)) != OAUTH_OK)
		return st;
	p->bearer = secret;
	r = net_connect(p, cp, cause);
	if (r == NET_ERR_AUTH) {
		first = *cause;
		*cause = NULL;
		oauth_token_free(&secret);
		st = oauth_access_token(a, 1, &secret, cause);
		if (st != OAUTH_OK) {
			p->bearer = NULL;
			free(first);
			return st;
		}
		p->bearer = secret;
		r = net_connect(p, cp, cause);
		free(first);
	}
	p->bearer = NULL;
	oauth_token_free(&secret);
	return r;
}
