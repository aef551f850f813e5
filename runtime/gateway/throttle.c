/* throttle: holds on logins after repeated failures, per user id and per client address. */
#include "throttle.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NSLOTS 4096 /* a power of two */
#define WINDOW 16   /* slots probed from a key's home slot */
#define KEYLEN 96   /* longer uids share their first bytes' key: stricter, never looser */

typedef struct slot {
  uint64_t hash; /* 0 = free */
  char key[KEYLEN];
  int fails;    /* failures in a row */
  double until; /* held until then */
  double last;  /* last failure */
} slot;

struct gw_throttle {
  pthread_mutex_t lock;
  int failures;
  double first; /* the first hold */
  double hold;
  uint64_t seed; /* secret, so nobody can aim many keys at one window */
  slot slots[NSLOTS];
};

gw_throttle *gw_throttle_new(int failures, double first, double hold)
{
  gw_throttle *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  if (getrandom(&t->seed, sizeof t->seed, 0) != (ssize_t)sizeof t->seed) {
    free(t);
    return NULL;
  }
  pthread_mutex_init(&t->lock, NULL);
  t->failures = failures;
  t->first = first;
  t->hold = hold;
  return t;
}

void gw_throttle_free(gw_throttle *t)
{
  if (!t) return;
  pthread_mutex_destroy(&t->lock);
  free(t);
}

/* FNV-1a over the kind and the key, started from the secret seed; never 0. */
static uint64_t hash_key(const gw_throttle *t, char kind, const char *key)
{
  uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
  h = (h ^ (unsigned char)kind) * 0x100000001b3ULL;
  for (size_t i = 0; key[i] && i < KEYLEN - 2; i++)
    h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
  h ^= h >> 29;
  return h ? h : 1;
}

static void make_key(char *out, char kind, const char *key)
{
  out[0] = kind;
  size_t n = strnlen(key, KEYLEN - 2);
  memcpy(out + 1, key, n);
  out[n + 1] = '\0';
}

/* The slot of a key, or NULL. */
static slot *find(gw_throttle *t, char kind, const char *key)
{
  char k[KEYLEN];
  make_key(k, kind, key);
  uint64_t h = hash_key(t, kind, key);
  for (size_t i = 0; i < WINDOW; i++) {
    slot *s = &t->slots[(h + i) & (NSLOTS - 1)];
    if (s->hash == h && strcmp(s->key, k) == 0) return s;
  }
  return NULL;
}

/* The slot of a key, taking a free one or the stalest of its window when it has none. */
static slot *find_or_add(gw_throttle *t, char kind, const char *key)
{
  slot *s = find(t, kind, key);
  if (s) return s;
  uint64_t h = hash_key(t, kind, key);
  slot *victim = NULL;
  for (size_t i = 0; i < WINDOW; i++) {
    slot *c = &t->slots[(h + i) & (NSLOTS - 1)];
    if (!c->hash) {
      victim = c;
      break;
    }
    double age = c->until > c->last ? c->until : c->last;
    double vage = victim ? (victim->until > victim->last ? victim->until : victim->last) : 0;
    if (!victim || age < vage) victim = c;
  }
  memset(victim, 0, sizeof *victim);
  victim->hash = h;
  make_key(victim->key, kind, key);
  return victim;
}

static double left(const slot *s, double now)
{
  return s && s->until > now ? s->until - now : 0;
}

double gw_throttle_held(gw_throttle *t, const char *uid, const char *addr, double now)
{
  if (!t) return 0;
  pthread_mutex_lock(&t->lock);
  double a = uid ? left(find(t, 'u', uid), now) : 0;
  double b = addr ? left(find(t, 'a', addr), now) : 0;
  pthread_mutex_unlock(&t->lock);
  return a > b ? a : b;
}

static void fail(gw_throttle *t, slot *s, double now)
{
  double quiet = s->until > s->last ? s->until : s->last;
  if (s->fails && now - quiet > t->hold) s->fails = 0; /* forgotten */
  s->fails++;
  s->last = now;
  if (s->fails >= t->failures) {
    int doublings = s->fails - t->failures;
    double wait = doublings >= 30 ? t->hold : t->first * (double)(1L << doublings);
    s->until = now + (wait < t->hold ? wait : t->hold);
  }
}

void gw_throttle_failed(gw_throttle *t, const char *uid, const char *addr, double now)
{
  if (!t) return;
  pthread_mutex_lock(&t->lock);
  if (uid) fail(t, find_or_add(t, 'u', uid), now);
  if (addr) fail(t, find_or_add(t, 'a', addr), now);
  pthread_mutex_unlock(&t->lock);
}

void gw_throttle_succeeded(gw_throttle *t, const char *uid, const char *addr, double now)
{
  (void)now;
  if (!t) return;
  pthread_mutex_lock(&t->lock);
  slot *s = uid ? find(t, 'u', uid) : NULL;
  if (s) memset(s, 0, sizeof *s);
  s = addr ? find(t, 'a', addr) : NULL;
  if (s) memset(s, 0, sizeof *s);
  pthread_mutex_unlock(&t->lock);
}
