/* gateway: the process-wide state (gateway.h): start-up and shut-down, the clock, and the
 * housekeeping tick. */
#include "gateway.h"
#include "macro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int gw_gateway_init(gw_gateway *gw, char *err, size_t errlen)
{
  pthread_mutex_init(&gw->lock, NULL);
  pthread_cond_init(&gw->gc_done, NULL);
  gw->sessions = calloc(gw->cfg.nusers ? gw->cfg.nusers : 1, sizeof *gw->sessions);
  gw->pools = calloc(gw->cfg.ngroups ? gw->cfg.ngroups : 1, sizeof *gw->pools);
  if (gw->cfg.throttle_failures > 0)
    gw->throttle =
        gw_throttle_new(gw->cfg.throttle_failures, gw->cfg.throttle_first, gw->cfg.throttle_hold);
  if (!gw->sessions || !gw->pools || (gw->cfg.throttle_failures > 0 && !gw->throttle)) {
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
  gw_throttle_free(gw->throttle);
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
