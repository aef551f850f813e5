/* session: the gateway's session registry (session.h). */
#include "auth.h"
#include "gateway.h"
#include "macro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Fill buf from the kernel's cryptographic source. Tokens are the only thing between one
 * client and another's session, so there is no weaker fallback: failing is the safe answer. */
static int random_bytes(void *buf, size_t n)
{
  unsigned char *p = buf;
  while (n) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

/* A sid: 10 decimal digits, uniform over 1000000000..9999999999 (rejection sampling, so no
 * value is likelier than another). */
static int random_sid(int64_t *sid)
{
  const uint64_t span = 9000000000ULL, limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t v;
  do {
    if (random_bytes(&v, sizeof v)) return -1;
  } while (v >= limit);
  *sid = 1000000000 + (int64_t)(v % span);
  return 0;
}

/* The session password: "__" and 32 lowercase hex digits, 128 bits straight from the kernel. */
static int random_enc(char *out, size_t len)
{
  unsigned char raw[16];
  static const char hex[] = "0123456789abcdef";
  if (len < 2 + 2 * sizeof raw + 1 || random_bytes(raw, sizeof raw)) return -1;
  out[0] = out[1] = '_';
  for (size_t i = 0; i < sizeof raw; i++) {
    out[2 + 2 * i] = hex[raw[i] >> 4];
    out[3 + 2 * i] = hex[raw[i] & 15];
  }
  out[2 + 2 * sizeof raw] = '\0';
  return 0;
}

static void session_free(gw_session *s)
{
  gw_sess_clear_result(s);
  sqlite3_close_v2(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* sqlite3_interrupt stops only statements already running; this catches a session that ended
 * just before its statement started. */
static int stop_if_ended(void *ud)
{
  return gw_sess_is_ended(ud);
}

int gw_sess_create(gw_gateway *gw, size_t user, gw_session **out, char *err, size_t errlen)
{
  gw_session *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  pthread_mutex_init(&s->lock, NULL);
  s->user = user;
  /* Private: every use is under s->lock, or before the session is shared (attach), or the
   * sqlite3_interrupt of an ending, which SQLite allows from any thread. */
  if (gw_store_open(gw->cfg.database, GW_STORE_PRIVATE, &s->db, err, errlen) ||
      gw_macro_register_sql(s->db)) {
    if (!*err) snprintf(err, errlen, "cannot open the session's database");
    session_free(s);
    return -1;
  }
  sqlite3_progress_handler(s->db, 10000, stop_if_ended, s);
  /* Drawn before the lock: getrandom may block (never after boot) and needs no state. */
  if (random_enc(s->enc, sizeof s->enc)) {
    snprintf(err, errlen, "no random bytes from the kernel: %s", strerror(errno));
    session_free(s);
    return -1;
  }
  pthread_mutex_lock(&gw->lock);
  for (;;) {
    if (random_sid(&s->sid)) {
      pthread_mutex_unlock(&gw->lock);
      snprintf(err, errlen, "no random bytes from the kernel: %s", strerror(errno));
      session_free(s);
      return -1;
    }
    int clash = 0;
    for (size_t u = 0; u < gw->cfg.nusers && !clash; u++)
      clash = gw->sessions[u] && gw->sessions[u]->sid == s->sid;
    if (!clash) break;
  }
  pthread_mutex_unlock(&gw->lock);
  s->last_used = gw_now();
  *out = s;
  return 0;
}

int gw_sess_attach_locked(gw_gateway *gw, gw_session *s)
{
  size_t m;
  /* One indexed read; under the lock so that the gc, which collects the generations in use
   * under the same lock, cannot miss this one. */
  if (gw_store_generation(s->db, &s->gen)) return -1;
  s->refs = 2; /* the slot and the caller */
  gw->sessions[s->user] = s;
  gw_sam_group *g = gw_member_pool(gw, s->user, &m);
  if (g) gw_sam_session_started(g, m, gw_now());
  return 0;
}

gw_session *gw_sess_acquire(gw_gateway *gw, size_t user, int64_t sid, const char *enc,
                            int *wrong_password)
{
  *wrong_password = 0;
  pthread_mutex_lock(&gw->lock);
  gw_session *s = gw->sessions[user];
  if (s && s->sid == sid) {
    if (enc && gw_auth_same(enc, s->enc))
      s->refs++;
    else {
      *wrong_password = 1;
      s = NULL;
    }
  } else {
    s = NULL;
  }
  pthread_mutex_unlock(&gw->lock);
  return s;
}

void gw_sess_release_locked(gw_gateway *gw, gw_session *s)
{
  /* Closing a connection drops its temp tables, which takes time for a large result: that
   * happens in gw_sess_reap, outside the lock. */
  if (s && --s->refs == 0) {
    s->next_dead = gw->graveyard;
    gw->graveyard = s;
  }
}

void gw_sess_wait_gc_locked(gw_gateway *gw)
{
  while (gw->gc_running) pthread_cond_wait(&gw->gc_done, &gw->lock);
}

void gw_sess_reap(gw_gateway *gw)
{
  pthread_mutex_lock(&gw->lock);
  gw_session *dead = gw->graveyard;
  gw->graveyard = NULL;
  pthread_mutex_unlock(&gw->lock);
  while (dead) {
    gw_session *next = dead->next_dead;
    session_free(dead);
    dead = next;
  }
}

void gw_sess_release(gw_gateway *gw, gw_session *s)
{
  if (!s) return;
  pthread_mutex_lock(&gw->lock);
  gw_sess_release_locked(gw, s);
  pthread_mutex_unlock(&gw->lock);
  gw_sess_reap(gw);
}

int gw_sess_is_ended(gw_session *s)
{
  return __atomic_load_n(&s->ended, __ATOMIC_ACQUIRE);
}

void gw_sess_end_locked(gw_gateway *gw, size_t user, gw_end_reason why)
{
  gw_session *s = gw->sessions[user];
  if (!s) return;
  gw->sessions[user] = NULL;
  __atomic_store_n(&s->ended, 1, __ATOMIC_RELEASE);
  /* Safe from another thread while we hold a reference; stops a running query. */
  sqlite3_interrupt(s->db);
  size_t m;
  gw_sam_group *g = gw_member_pool(gw, user, &m);
  if (g) gw_sam_session_ended(g, m, gw_now(), why == GW_END_LOGOUT);
  gw->gc_wanted = 1;
  gw_sess_release_locked(gw, s);
}

void gw_sess_touch(gw_gateway *gw, gw_session *s)
{
  double now = gw_now();
  size_t m;
  pthread_mutex_lock(&gw->lock);
  s->last_used = now;
  gw_sam_group *g = gw_member_pool(gw, s->user, &m);
  if (g && gw->sessions[s->user] == s) gw_sam_touch(g, m, now);
  pthread_mutex_unlock(&gw->lock);
}

void gw_sess_clear_result(gw_session *s)
{
  if (s->has_result && s->db) sqlite3_exec(s->db, "DROP TABLE IF EXISTS temp.res", 0, 0, 0);
  gw_columns_free(s->res_cols, s->res_ncols);
  free(s->res_table);
  s->res_cols = NULL;
  s->res_table = NULL;
  s->res_ncols = 0;
  s->res_rows = 0;
  s->cursor = 0;
  s->has_result = 0;
}
