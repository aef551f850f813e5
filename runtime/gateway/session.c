/* session: the gateway's session registry, its clock and its housekeeping tick. */
#include "gateway.h"
#include "macro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

double gw_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double gw_wallclock(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_random(gw_gateway *gw)
{
  /* splitmix64 over a state seeded from the kernel: sids and tokens must not be guessable
   * from one another in a test, and need no more than that on a local gateway. */
  uint64_t z = (gw->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int gw_gateway_init(gw_gateway *gw, char *err, size_t errlen)
{
  pthread_mutex_init(&gw->lock, NULL);
  pthread_cond_init(&gw->gc_done, NULL);
  if (getrandom(&gw->rng, sizeof gw->rng, 0) != (ssize_t)sizeof gw->rng)
    gw->rng = (uint64_t)gw_wallclock() ^ (uint64_t)getpid();
  gw->sessions = calloc(gw->cfg.nusers ? gw->cfg.nusers : 1, sizeof *gw->sessions);
  gw->pools = calloc(gw->cfg.ngroups ? gw->cfg.ngroups : 1, sizeof *gw->pools);
  if (!gw->sessions || !gw->pools) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  double now = gw_now();
  for (size_t i = 0; i < gw->cfg.ngroups; i++) {
    const gw_group_config *g = &gw->cfg.groups[i];
    if (gw_sam_group_init(&gw->pools[i], g->gid, gw->cfg.users[g->owner].uid, g->size,
                          gw->cfg.reserve_seconds, gw->cfg.idle_seconds)) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    /* Every ID has been COLD since the gateway started. */
    for (size_t m = 0; m < g->size; m++) gw->pools[i].members[m].since = now;
  }
  /* A mistyped path must not quietly serve an empty database. */
  if (gw_store_open(gw->cfg.database, 0, &gw->db, err, errlen)) {
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, " (create it with tt-gateway demo or tt-gateway import)");
    return -1;
  }
  if (gw_macro_new(&gw->macro, err, errlen)) return -1;
  return 0;
}

void gw_gateway_free(gw_gateway *gw)
{
  if (gw->sessions) {
    pthread_mutex_lock(&gw->lock);
    for (size_t u = 0; u < gw->cfg.nusers; u++) gw_sess_end_locked(gw, u, GW_END_SHUTDOWN);
    pthread_mutex_unlock(&gw->lock);
    gw_sess_reap(gw);
  }
  free(gw->sessions);
  for (size_t i = 0; gw->pools && i < gw->cfg.ngroups; i++) gw_sam_group_free(&gw->pools[i]);
  free(gw->pools);
  gw_macro_free(gw->macro);
  sqlite3_close(gw->db);
  gw_config_free(&gw->cfg);
  pthread_mutex_destroy(&gw->lock);
  pthread_cond_destroy(&gw->gc_done);
  memset(gw, 0, sizeof *gw);
}

gw_sam_group *gw_member_pool(gw_gateway *gw, size_t user, size_t *member)
{
  int g = gw->cfg.users[user].group;
  if (g < 0) return NULL;
  *member = user - gw->cfg.groups[g].first_member;
  return &gw->pools[g];
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
  if (gw_store_open(gw->cfg.database, 0, &s->db, err, errlen) || gw_macro_register_sql(s->db)) {
    if (!*err) snprintf(err, errlen, "cannot open the session's database");
    session_free(s);
    return -1;
  }
  sqlite3_progress_handler(s->db, 10000, stop_if_ended, s);
  pthread_mutex_lock(&gw->lock);
  for (;;) {
    s->sid = 1000000000 + (int64_t)(next_random(gw) % 9000000000ULL);
    int clash = 0;
    for (size_t u = 0; u < gw->cfg.nusers && !clash; u++)
      clash = gw->sessions[u] && gw->sessions[u]->sid == s->sid;
    if (!clash) break;
  }
  snprintf(s->enc, sizeof s->enc, "__%016llx%016llx", (unsigned long long)next_random(gw),
           (unsigned long long)next_random(gw));
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
    if (enc && strcmp(enc, s->enc) == 0)
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

void gw_gateway_tick(gw_gateway *gw)
{
  double now = gw_now();
  int64_t *live = NULL;
  size_t nlive = 0;
  int gc = 0;

  pthread_mutex_lock(&gw->lock);
  for (size_t i = 0; i < gw->cfg.ngroups; i++) {
    gw_sam_group *g = &gw->pools[i];
    gw_sam_action acts[g->nmembers ? g->nmembers : 1];
    size_t n = 0;
    gw_sam_tick(g, now, acts, &n);
    for (size_t a = 0; a < n; a++)
      if (acts[a].kind == GW_SAM_END_SESSION)
        gw_sess_end_locked(gw, gw->cfg.groups[i].first_member + acts[a].member, GW_END_IDLE);
  }
  if (gw->gc_wanted) {
    gw->gc_wanted = 0;
    gw->gc_running = 1;
    gc = 1;
    live = malloc((gw->cfg.nusers + 1) * sizeof *live);
    for (size_t u = 0; live && u < gw->cfg.nusers; u++)
      if (gw->sessions[u]) live[nlive++] = gw->sessions[u]->gen;
  }
  pthread_mutex_unlock(&gw->lock);

  /* Sessions attaching meanwhile wait for gc_running to clear before they take a generation,
   * so the list taken above is complete while gc runs without the lock. */
  if (gc && live) {
    char err[256] = "";
    int n = gw_store_gc(gw->db, live, nlive, err, sizeof err);
    if (n < 0)
      fprintf(stderr, "tt-gateway: dropping old table versions failed: %s\n", err);
    else if (n > 0)
      fprintf(stderr, "tt-gateway: dropped %d old table version(s)\n", n);
  }
  free(live);
  if (gc) {
    pthread_mutex_lock(&gw->lock);
    gw->gc_running = 0;
    pthread_cond_broadcast(&gw->gc_done);
    pthread_mutex_unlock(&gw->lock);
  }
  gw_sess_reap(gw);
}
