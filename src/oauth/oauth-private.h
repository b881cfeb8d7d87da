/*
 * What the files of the oauth module share.
 */
#ifndef TERN_OAUTH_PRIVATE_H
#define TERN_OAUTH_PRIVATE_H

#include <stdint.h>

#include "tern/oauth.h"
#include "tern/util.h"

/* Append "key=value" (value URL-encoded) to a form, with '&' between. */
void oauth_form_add(struct buf *form, const char *key, const char *value);

/*
 * POST form to url (https, or http to a loopback address) and read the
 * answer, at most OAUTH_MAX_RESPONSE bytes, into body; *status gets the
 * HTTP status. Returns 0, or -1 with cause (cannot connect, certificate,
 * too large). The form is never logged.
 */
int oauth_http_post(const struct rc_account *a, const char *url,
    const struct buf *form, long *status, struct buf *body, char **cause);

/*
 * Ask the token endpoint with form (a grant) and read its answer: 0 with
 * *tok, 1 with *error (the endpoint's error code and description), -1
 * with cause.
 */
int oauth_token_request(const struct rc_account *a, const char *url,
    const struct buf *form, struct oauth_token *tok, char **error,
    char **cause);

/* Keep what a token endpoint gave (the old refresh token when it gave
 * none); -1 with cause. */
int oauth_state_keep(const struct rc_account *a, const struct oauth_token *tok,
    const char *old_refresh, char **cause);

/* Whether an error answer's code is code ("invalid_grant: ..."). */
int oauth_error_is(const char *error, const char *code);

#endif
