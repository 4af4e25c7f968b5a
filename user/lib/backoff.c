// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* backoff.c - exponential backoff with jitter, Retry-After (backoff.h). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "backoff.h"

void backoff_init(struct backoff *b, enum backoff_jitter jitter,
		  uint32_t base_ms, uint32_t cap_ms)
{
	memset(b, 0, sizeof(*b));
	b->jitter = jitter;
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	backoff_reset(b);
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
	b->prev_ms = b->base_ms;
}

uint32_t backoff_ceiling_ms(const struct backoff *b)
{
	uint64_t ceil = b->base_ms;
	uint32_t i;

	for (i = 0; i < b->attempt && ceil < b->cap_ms; i++)
		ceil *= 2;
	return ceil < b->cap_ms ? ceil : b->cap_ms;
}

/* Uniform in [lo, hi] from one 32-bit draw (hi - lo < 2^32). */
static uint32_t uniform(uint32_t lo, uint32_t hi, backoff_rand_fn rand_fn,
			void *rand_ctx)
{
	uint64_t span = (uint64_t)hi - lo + 1;

	return lo + (uint32_t)((span * rand_fn(rand_ctx)) >> 32);
}

uint32_t backoff_next_ms(struct backoff *b, backoff_rand_fn rand_fn,
			 void *rand_ctx)
{
	uint32_t delay;

	if (b->jitter == BACKOFF_DECORRELATED) {
		uint64_t hi = (uint64_t)b->prev_ms * 3;

		if (hi > b->cap_ms)
			hi = b->cap_ms;
		delay = uniform(b->base_ms, hi, rand_fn, rand_ctx);
	} else {
		delay = uniform(0, backoff_ceiling_ms(b), rand_fn, rand_ctx);
	}
	b->prev_ms = delay;
	if (b->attempt < UINT32_MAX)
		b->attempt++;
	return delay;
}

uint32_t backoff_rand_splitmix(void *ctx)
{
	uint64_t *state = ctx, z;

	z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Exactly n digits at *p; advances *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n))
		return -EINVAL;
	*p += n;
	return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" -> seconds since the epoch. */
static int parse_imf_fixdate(const char *p, const char *end, time_t *out)
{
	static const char days[7][4] = { "Mon", "Tue", "Wed", "Thu",
					 "Fri", "Sat", "Sun" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec" };
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30,
				       31, 31, 30, 31, 30, 31 };
	int day, year, hour, min, sec, mon, i;
	struct tm tm;
	time_t t;

	if (end - p != 29)
		return -EINVAL;
	for (i = 0; i < 7 && strncmp(p, days[i], 3); i++)
		;
	if (i == 7)
		return -EINVAL;
	p += 3;
	if (expect(&p, ", ") || digits(&p, 2, &day) || expect(&p, " "))
		return -EINVAL;
	for (mon = 0; mon < 12 && strncmp(p, months[mon], 3); mon++)
		;
	if (mon == 12)
		return -EINVAL;
	p += 3;
	if (expect(&p, " ") || digits(&p, 4, &year) || expect(&p, " ") ||
	    digits(&p, 2, &hour) || expect(&p, ":") || digits(&p, 2, &min) ||
	    expect(&p, ":") || digits(&p, 2, &sec) || expect(&p, " GMT"))
		return -EINVAL;
	/* 60: a leap second, as RFC 5322 allows */
	if (day < 1 || day > mdays[mon] || hour > 23 || min > 59 || sec > 60)
		return -EINVAL;
	if (mon == 1 && day == 29 &&
	    !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}

int retry_after_ms(const char *value, time_t now)
{
	const char *p, *end;
	uint64_t secs = 0;
	time_t t;

	if (!value)
		return -EINVAL;
	for (p = value; *p == ' ' || *p == '\t'; p++)
		;
	for (end = p + strlen(p);
	     end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
			 end[-1] == '\n');
	     end--)
		;
	if (p == end)
		return -EINVAL;
	if (isdigit((unsigned char)*p)) {
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			if (secs < RETRY_AFTER_MAX_MS / 1000)
				secs = secs * 10 + (*p - '0');
		}
	} else {
		if (parse_imf_fixdate(p, end, &t))
			return -EINVAL;
		secs = t > now ? (uint64_t)(t - now) : 0;
	}
	if (secs > RETRY_AFTER_MAX_MS / 1000)
		return RETRY_AFTER_MAX_MS;
	return (int)(secs * 1000);
}
