/* util.c: owns the helpers that several modules used to copy (util.h): the monotonic clock in
 * milliseconds, string vectors, and the environment allowlists of the processes mcpgw starts, kept
 * side by side so that their differences are deliberate and visible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

long
util_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

long long
util_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void
util_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The variables Codex itself passes to its servers, and nothing that usually holds a secret. */
const char *const util_env_server[] = {
	"HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR",
	"TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", NULL
};

/* A credential helper: enough to run; it is told its server through MCPGW_SERVER. */
const char *const util_env_helper[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", NULL
};

/* A browser opener needs the desktop session to reach; it holds no secrets of ours either way, but
 * a narrow list keeps it so. */
const char *const util_env_opener[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR",
	"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR", "XDG_CURRENT_DESKTOP",
	"XDG_SESSION_TYPE", "XDG_DATA_DIRS", "XDG_CONFIG_DIRS", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
	"DBUS_SESSION_BUS_ADDRESS", "BROWSER", "DESKTOP_SESSION", NULL
};

_Static_assert(sizeof util_env_server / sizeof *util_env_server <= UTIL_ENV_MAX, "UTIL_ENV_MAX");
_Static_assert(sizeof util_env_helper / sizeof *util_env_helper <= UTIL_ENV_MAX, "UTIL_ENV_MAX");
_Static_assert(sizeof util_env_opener / sizeof *util_env_opener <= UTIL_ENV_MAX, "UTIL_ENV_MAX");

int
util_env_copy(char **env, size_t *n, size_t cap, const char *const *names, size_t nnames,
    int (*skip)(const char *, void *), void *arg)
{
	for (size_t i = 0; i < nnames && names[i] != NULL; i++) {
		const char *v = getenv(names[i]);

		if (v == NULL || (skip != NULL && skip(names[i], arg)))
			continue;
		if (*n >= cap)
			return -1;
		if (asprintf(&env[*n], "%s=%s", names[i], v) < 0) {
			env[*n] = NULL;		/* asprintf leaves it undefined */
			return -1;
		}
		(*n)++;
	}
	return 0;
}
