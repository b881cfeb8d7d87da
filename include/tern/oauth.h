/*
 * oauth: signing in with OAuth 2.0 instead of a password.
 *
 * An account with "auth oauth2" logs in with an access token (SASL
 * OAUTHBEARER, RFC 7628, else XOAUTH2, both done by libcurl). The token
 * comes from the user's own command (oauth_token_cmd), or from tern's
 * own sign-in: `tern login` runs the device authorization grant (RFC
 * 8628) or the authorization code grant with PKCE (RFC 7636) on a
 * loopback redirect (RFC 8252), and keeps the refresh token; an access
 * token is refreshed before it expires and once more after a login the
 * server refused.
 *
 * The tokens are kept as a small JSON object (refresh_token,
 * access_token, expires_at) in $XDG_DATA_HOME/tern/oauth/ACCOUNT, mode
 * 0600, written atomically; or handed to oauth_store_cmd on its standard
 * input and read back from oauth_load_cmd. A token is never logged,
 * never in argv, never in a message.
 *
 * HTTP goes through libcurl: https with certificates verified, or plain
 * http to a loopback address only (127.0.0.0/8, ::1, localhost), as RFC
 * 8252 allows for a server on the same machine. Responses are bounded
 * (OAUTH_MAX_RESPONSE) and read with jansson.
 */
#ifndef TERN_OAUTH_H
#define TERN_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "tern/net.h"
#include "tern/rc.h"

/* The largest response of a token or device endpoint that is read. */
#define OAUTH_MAX_RESPONSE (64 * 1024)
/* The longest token (access or refresh) that is accepted. */
#define OAUTH_MAX_TOKEN 8192

/* What getting a token came to. */
enum oauth_status {
	OAUTH_OK = 0,
	OAUTH_FAIL = -1, /* network, endpoint or command failure */
	OAUTH_LOGIN = -2, /* the user must run `tern login ACCOUNT` */
};

/* A token endpoint's answer (RFC 6749 5.1). All malloc'd. */
struct oauth_token {
	char *access_token;
	char *refresh_token; /* NULL when the answer had none */
	int64_t expires_in; /* seconds; 0 when the answer did not say */
};

/* A device endpoint's answer (RFC 8628 3.2). All malloc'd. */
struct oauth_device {
	char *device_code;
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete; /* NULL when not given */
	int64_t expires_in;
	int64_t interval; /* seconds between polls (5 when not given) */
};

/*
 * Read a token endpoint's answer. Returns 0 with *tok filled; 1 for an
 * error answer (RFC 6749 5.2) with *error (malloc'd, made visible: the
 * "error" code, and its description when there is one); -1 with cause
 * when the body is not a well-formed answer of either kind (not JSON,
 * wrong types, missing fields, a token too long or not printable).
 */
int oauth_token_parse(const char *body, size_t len, struct oauth_token *tok,
    char **error, char **cause);
void oauth_token_clear(struct oauth_token *tok);
/* The same for a device endpoint's answer. */
int oauth_device_parse(const char *body, size_t len, struct oauth_device *dev,
    char **error, char **cause);
void oauth_device_clear(struct oauth_device *dev);

/* The kept state of an account's sign-in. All malloc'd. */
struct oauth_state {
	char *refresh_token;
	char *access_token;
	int64_t expires_at; /* Unix time; 0 unknown */
};

/* Read a kept state (the JSON object); -1 with cause. */
int oauth_state_parse(
    const char *body, size_t len, struct oauth_state *st, char **cause);
void oauth_state_clear(struct oauth_state *st);

/* The endpoints an account signs in with: the preset, then the rc. */
struct oauth_endpoints {
	const char *device_url; /* NULL: no device grant */
	const char *auth_url;
	const char *token_url;
	const char *scope;
	int google; /* ask for a refresh token Google's way */
};
void oauth_endpoints(const struct rc_account *a, struct oauth_endpoints *e);

/*
 * The account's access token for a login: from oauth_token_cmd, or the
 * kept one while it has more than a minute left, else a refreshed one
 * (refresh set: refreshed whatever its expiry, after a refused login).
 * Returns OAUTH_OK with *token (malloc'd; free with oauth_token_free), or
 * OAUTH_FAIL / OAUTH_LOGIN with cause.
 */
enum oauth_status oauth_access_token(
    const struct rc_account *a, int refresh, char **token, char **cause);
/* Wipe and free a token. */
void oauth_token_free(char **token);

/* How `tern login` talks to the person signing in. */
struct oauth_login_ui {
	/* Show text (a line or a few, without a final newline). */
	void (*show)(void *arg, const char *text);
	/* Non-zero when the person gave up; NULL: never. */
	int (*stop)(void *arg);
	void *arg;
};

/*
 * Sign in to the account's provider (the device grant when it has a
 * device endpoint, else the loopback redirect) and keep the tokens.
 * Returns OAUTH_OK, or OAUTH_FAIL with cause.
 */
enum oauth_status oauth_login(
    const struct rc_account *a, const struct oauth_login_ui *ui, char **cause);

/*
 * Connect with p (its user set) and log in with the account's
 * credential: the password as before, or for auth oauth2 an access
 * token, fetched again (refreshed) once when the server refuses the
 * first. Returns 0, NET_ERR_AUTH when the login was refused, OAUTH_LOGIN
 * when the user must run `tern login`, or -1, each with cause.
 */
int oauth_net_connect(const struct rc_account *a, struct net_params *p,
    struct net_conn **cp, char **cause);

#endif
