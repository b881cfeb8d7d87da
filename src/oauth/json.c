/*
 * Reading what token and device endpoints answer, and the kept state,
 * with jansson. Every field is checked for its type and bounded in
 * length; a token must be printable ASCII, since it goes into a SASL
 * string and an HTTP form. Anything else is an error with a message,
 * never a guess.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tern/oauth.h"
#include "tern/util.h"

/* Parse len bytes as one JSON object; NULL with cause. */
static json_t *
load_object(const char *body, size_t len, const char *what, char **cause)
{
	json_error_t jerr;
	json_t *root;

	if (len > OAUTH_MAX_RESPONSE) {
		set_cause(cause, "%s is too large (%zu bytes)", what, len);
		return NULL;
	}
	/* Depth is bounded by jansson (JSON_PARSER_MAX_DEPTH). */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		set_cause(cause, "%s is not JSON (line %d: %s)", what,
		    jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		set_cause(cause, "%s is not a JSON object", what);
		return NULL;
	}
	return root;
}

/* A token: 1 to OAUTH_MAX_TOKEN characters from 0x21..0x7e. */
static int
token_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > OAUTH_MAX_TOKEN)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	}
	return 1;
}

/*
 * A string member: 0 with *out (malloc'd; NULL when absent and !need),
 * or -1 with cause when it is missing (need), not a string, or not a
 * token (tokenish).
 */
static int
get_str(json_t *o, const char *key, int need, int tokenish, size_t max,
    char **out, const char *what, char **cause)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t len;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (need)
			return set_cause(cause, "%s has no %s", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return set_cause(cause, "%s: %s is not a string", what, key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (tokenish && !token_ok(s, len))
		return set_cause(cause,
		    "%s: %s is empty, too long or not printable", what, key);
	if (!tokenish && (len > max || memchr(s, '\0', len) != NULL))
		return set_cause(
		    cause, "%s: %s is too long or holds a NUL", what, key);
	*out = xstrndup(s, len);
	return 0;
}

/*
 * A number of seconds: 0 with *out (dflt when absent), or -1 with cause.
 * Some providers send it as a string of digits: that is taken too.
 */
static int
get_secs(json_t *o, const char *key, int64_t max, int64_t dflt, int64_t *out,
    const char *what, char **cause)
{
	json_t *v = json_object_get(o, key);
	uint64_t n;

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > max)
			return set_cause(
			    cause, "%s: %s is out of range", what, key);
		*out = (int64_t)i;
		return 0;
	}
	if (json_is_string(v) &&
	    parse_uint64(json_string_value(v), json_string_length(v),
	        (uint64_t)max, &n) == 0) {
		*out = (int64_t)n;
		return 0;
	}
	return set_cause(cause, "%s: %s is not a number of seconds", what, key);
}

/*
 * An error answer (RFC 6749 5.2): 1 with *error, 0 when o is not one, -1
 * when it is a malformed one.
 */
static int
error_answer(json_t *o, char **error, const char *what, char **cause)
{
	char *code = NULL, *desc = NULL;
	struct buf b;

	if (json_object_get(o, "error") == NULL)
		return 0;
	if (get_str(o, "error", 1, 0, 256, &code, what, cause) != 0)
		return -1;
	if (get_str(o, "error_description", 0, 0, 1024, &desc, what, NULL) != 0)
		desc = NULL; /* a description of the wrong type: ignored */
	buf_init(&b, 0);
	text_visible(&b, code, strlen(code), 0);
	if (desc != NULL && *desc != '\0') {
		buf_adds(&b, ": ");
		text_visible(
		    &b, desc, strlen(desc) > 200 ? 200 : strlen(desc), 0);
	}
	*error = buf_steal(&b, NULL);
	free(code);
	free(desc);
	return 1;
}

int
oauth_token_parse(const char *body, size_t len, struct oauth_token *tok,
    char **error, char **cause)
{
	static const char what[] = "the token endpoint's answer";
	json_t *o;
	char *type = NULL;
	int ret = -1, e;

	memset(tok, 0, sizeof *tok);
	*error = NULL;
	if ((o = load_object(body, len, what, cause)) == NULL)
		return -1;
	if ((e = error_answer(o, error, what, cause)) != 0) {
		ret = e;
		goto out;
	}
	if (get_str(o, "access_token", 1, 1, 0, &tok->access_token, what,
	        cause) != 0 ||
	    get_str(o, "refresh_token", 0, 1, 0, &tok->refresh_token, what,
	        cause) != 0 ||
	    get_str(o, "token_type", 1, 0, 64, &type, what, cause) != 0 ||
	    get_secs(o, "expires_in", 10LL * 365 * 86400, 0, &tok->expires_in,
	        what, cause) != 0)
		goto out;
	/* Only bearer tokens go into OAUTHBEARER and XOAUTH2. */
	if (ascii_strcasecmp(type, "bearer") != 0) {
		set_cause(cause, "%s: token_type is not Bearer", what);
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		oauth_token_clear(tok);
	free(type);
	json_decref(o);
	return ret;
}

void
oauth_token_clear(struct oauth_token *tok)
{
	oauth_token_free(&tok->access_token);
	oauth_token_free(&tok->refresh_token);
	memset(tok, 0, sizeof *tok);
}

int
oauth_device_parse(const char *body, size_t len, struct oauth_device *dev,
    char **error, char **cause)
{
	static const char what[] = "the device endpoint's answer";
	json_t *o;
	int ret = -1, e;

	memset(dev, 0, sizeof *dev);
	*error = NULL;
	if ((o = load_object(body, len, what, cause)) == NULL)
		return -1;
	if ((e = error_answer(o, error, what, cause)) != 0) {
		ret = e;
		goto out;
	}
	if (get_str(o, "device_code", 1, 1, 0, &dev->device_code, what,
	        cause) != 0 ||
	    get_str(o, "user_code", 1, 1, 0, &dev->user_code, what, cause) !=
	        0 ||
	    get_str(o, "verification_uri_complete", 0, 1, 0,
	        &dev->verification_uri_complete, what, cause) != 0 ||
	    get_secs(o, "expires_in", 86400, 1800, &dev->expires_in, what,
	        cause) != 0 ||
	    get_secs(o, "interval", 3600, 5, &dev->interval, what, cause) != 0)
		goto out;
	/* Google says verification_url, RFC 8628 verification_uri. */
	if (get_str(o, "verification_uri", 0, 1, 0, &dev->verification_uri,
	        what, cause) != 0)
		goto out;
	if (dev->verification_uri == NULL &&
	    get_str(o, "verification_url", 0, 1, 0, &dev->verification_uri,
	        what, cause) != 0)
		goto out;
	if (dev->verification_uri == NULL) {
		set_cause(cause, "%s has no verification_uri", what);
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		oauth_device_clear(dev);
	json_decref(o);
	return ret;
}

void
oauth_device_clear(struct oauth_device *dev)
{
	free(dev->device_code);
	free(dev->user_code);
	free(dev->verification_uri);
	free(dev->verification_uri_complete);
	memset(dev, 0, sizeof *dev);
}

int
oauth_state_parse(
    const char *body, size_t len, struct oauth_state *st, char **cause)
{
	static const char what[] = "the kept sign-in";
	json_t *o;
	int ret = -1;

	memset(st, 0, sizeof *st);
	if ((o = load_object(body, len, what, cause)) == NULL)
		return -1;
	if (get_str(o, "refresh_token", 0, 1, 0, &st->refresh_token, what,
	        cause) != 0 ||
	    get_str(o, "access_token", 0, 1, 0, &st->access_token, what,
	        cause) != 0 ||
	    get_secs(o, "expires_at", INT64_MAX / 2, 0, &st->expires_at, what,
	        cause) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		oauth_state_clear(st);
	json_decref(o);
	return ret;
}

void
oauth_state_clear(struct oauth_state *st)
{
	oauth_token_free(&st->refresh_token);
	oauth_token_free(&st->access_token);
	memset(st, 0, sizeof *st);
}

void
oauth_token_free(char **token)
{
	if (*token == NULL)
		return;
	explicit_bzero(*token, strlen(*token));
	free(*token);
	*token = NULL;
}
