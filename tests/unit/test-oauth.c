/*
 * Unit tests of the oauth module's readers: token and device endpoint
 * answers as providers send them, error answers, and what must be
 * refused (wrong types, missing fields, tokens that are not tokens).
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/test.h"
#include "tern/oauth.h"
#include "tern/util.h"

static int
token(const char *json, struct oauth_token *tok, char **error, char **cause)
{
	*error = *cause = NULL;
	return oauth_token_parse(json, strlen(json), tok, error, cause);
}

static void
test_token_answers(void)
{
	struct oauth_token tok;
	char *error, *cause;

	CHECK(
	    token("{\"access_token\":\"ya29.a0-_~+/=\",\"token_type\":"
	          "\"Bearer\",\"expires_in\":3599,\"refresh_token\":\"1//0g\","
	          "\"scope\":\"https://mail.google.com/\"}",
	        &tok, &error, &cause) == 0);
	CHECK(strcmp(tok.access_token, "ya29.a0-_~+/=") == 0);
	CHECK(
	    strcmp(tok.refresh_token, "1//0g") == 0 && tok.expires_in == 3599);
	oauth_token_clear(&tok);

	/* Microsoft's token_type is "Bearer", some send "bearer"; an
	 * expires_in as a string of digits is taken too. */
	CHECK(token("{\"access_token\":\"x\",\"token_type\":\"bearer\","
	            "\"expires_in\":\"60\"}",
	          &tok, &error, &cause) == 0);
	CHECK(tok.refresh_token == NULL && tok.expires_in == 60);
	oauth_token_clear(&tok);

	CHECK(token("{\"error\":\"invalid_grant\",\"error_description\":"
	            "\"Token has been expired or revoked.\"}",
	          &tok, &error, &cause) == 1);
	CHECK(error != NULL &&
	    strcmp(error,
	        "invalid_grant: Token has been expired or revoked.") == 0);
	free(error);

	/* The description is the provider's text: made visible. */
	CHECK(token("{\"error\":\"x\",\"error_description\":\"a\\u001b[2Jb\"}",
	          &tok, &error, &cause) == 1);
	CHECK(error != NULL && strchr(error, '\033') == NULL);
	free(error);
}

static void
test_token_refused(void)
{
	static const char *bad[] = {
		"",
		"<html><body>502 Bad Gateway</body></html>",
		"[\"access_token\"]",
		"{\"access_token\":\"abc\",",
		"{\"access_token\":123,\"token_type\":\"Bearer\"}",
		"{\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"abc\"}",
		"{\"access_token\":\"abc\",\"token_type\":\"mac\"}",
		"{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"a\\u0000b\",\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\","
		"\"expires_in\":-5}",
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\","
		"\"expires_in\":\"soon\"}",
		"{\"access_token\":\"a\",\"access_token\":\"b\","
		"\"token_type\":\"Bearer\"}",
		"{\"error\":42}",
		"\xff\xfe{}",
	};
	struct oauth_token tok;
	char *error, *cause;
	size_t i;

	for (i = 0; i < TERN_NELEM(bad); i++) {
		int r = token(bad[i], &tok, &error, &cause);

		if (r != -1)
			printf("# case %zu: %d\n", i, r);
		CHECK(r == -1 && cause != NULL && error == NULL);
		CHECK(tok.access_token == NULL);
		free(cause);
	}
}

static void
test_device_and_state(void)
{
	static const char ms[] =
	    "{\"user_code\":\"F7XK9QZ2L\",\"device_code\":\"DAQABAAEAAAD\","
	    "\"verification_uri\":\"https://microsoft.com/devicelogin\","
	    "\"expires_in\":900,\"interval\":5,\"message\":\"To sign in\"}";
	static const char google[] =
	    "{\"device_code\":\"AH-1Ng\",\"user_code\":\"GQVQ-JKEC\","
	    "\"verification_url\":\"https://www.google.com/device\","
	    "\"expires_in\":1800,\"interval\":5}";
	struct oauth_device dev;
	struct oauth_state st;
	char *error = NULL, *cause = NULL;

	CHECK(oauth_device_parse(ms, strlen(ms), &dev, &error, &cause) == 0);
	CHECK(strcmp(dev.verification_uri,
	          "https://microsoft.com/devicelogin") == 0 &&
	    dev.interval == 5 && dev.expires_in == 900);
	oauth_device_clear(&dev);
	CHECK(oauth_device_parse(
	          google, strlen(google), &dev, &error, &cause) == 0);
	CHECK(
	    strcmp(dev.verification_uri, "https://www.google.com/device") == 0);
	oauth_device_clear(&dev);
	CHECK(oauth_device_parse(
	          "{\"device_code\":\"d\"}", 19, &dev, &error, &cause) == -1);
	free(cause);
	cause = NULL;

	CHECK(oauth_state_parse("{\"refresh_token\":\"r\",\"expires_at\":7}",
	          36, &st, &cause) == 0);
	CHECK(strcmp(st.refresh_token, "r") == 0 && st.access_token == NULL &&
	    st.expires_at == 7);
	oauth_state_clear(&st);
	CHECK(
	    oauth_state_parse("{\"refresh_token\":[]}", 20, &st, &cause) == -1);
	free(cause);
}

int
main(void)
{
	test_token_answers();
	test_token_refused();
	test_device_and_state();
	return test_done();
}
