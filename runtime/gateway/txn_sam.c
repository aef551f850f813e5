/* txn_sam: the SAM pool transactions getuid, reluid, flushpool, resetpool, warmpool, samstatus. */
#include "auth.h"
#include "rc.h"
#include "txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The group named by gid, for a caller whose clear password is right. Owner-only calls pass
 * admin_ok = 0; the pool commands let an administrator of the owner's company in too. */
static long pool_for(gw_gateway *gw, const gw_request *rq, gw_reply *rp, int admin_ok)
{
  long u = gw_txn_clear_login(gw, rq, rp);
  if (u < 0) return -1;
  if (!rq->gid || !*rq->gid) {
    gw_reply_set(rp, GW_RC_MISSING_ELEMENT, "Missing group id (gid)");
    return -1;
  }
  long g = gw_config_find_group(&gw->cfg, rq->gid);
  int allowed = g >= 0 && (admin_ok ? gw_auth_may_admin(&gw->cfg, (size_t)u, (size_t)g)
                                    : gw->cfg.groups[g].owner == (size_t)u);
  if (!allowed) {
    gw_reply_set(rp, GW_RC_NOT_OWNER, "You do not own the specified group");
    return -1;
  }
  return g;
}

static size_t member_user(gw_gateway *gw, long g, size_t member)
{
  return gw->cfg.groups[g].first_member + member;
}

/* Carry out END_SESSION and INTERRUPT actions (gateway lock held). */
static size_t end_sessions_locked(gw_gateway *gw, long g, const gw_sam_action *acts, size_t n)
{
  size_t ended = 0;
  for (size_t i = 0; i < n; i++) {
    if (acts[i].kind != GW_SAM_END_SESSION && acts[i].kind != GW_SAM_INTERRUPT) continue;
    size_t user = member_user(gw, g, acts[i].member);
    if (gw->sessions[user]) ended++;
    gw_sess_end_locked(gw, user, GW_END_POOL);
  }
  return ended;
}

void gw_txn_getuid(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long g = pool_for(gw, rq, rp, 0);
  if (g < 0) return;
  size_t m;
  pthread_mutex_lock(&gw->lock);
  int e = gw_sam_getuid(&gw->pools[g], gw_now(), &m);
  pthread_mutex_unlock(&gw->lock);
  if (e == GW_SAM_ERR_BUSY) {
    gw_reply_set(rp, GW_RC_POOL_BUSY, "System is busy, please try again");
    return;
  }
  if (e) {
    gw_reply_set(rp, GW_RC_FAILED, "getuid failed");
    return;
  }
  gw_reply_set(rp, GW_RC_OK, "OK");
  gw_buf_puts(&rp->body, "<uid>");
  gw_buf_xmls(&rp->body, gw->cfg.users[member_user(gw, g, m)].uid);
  gw_buf_puts(&rp->body, "</uid>");
}

void gw_txn_reluid(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long u;
  gw_session *s = NULL;
  if (rq->sid && *rq->sid) {
    /* Best practice: the member's session credentials. */
    if (!(s = gw_txn_session(gw, rq, rp))) return;
    u = (long)s->user;
  } else if ((u = gw_txn_clear_login(gw, rq, rp)) < 0) {
    return; /* the session is gone: the member's clear password will do */
  }
  int g = gw->cfg.users[u].group;
  if (g < 0 || (rq->gid && *rq->gid && strcmp(rq->gid, gw->cfg.groups[g].gid) != 0)) {
    gw_sess_release(gw, s);
    gw_reply_set(rp, GW_RC_FAILED, "Error releasing uid: %s is not a member of %s", rq->uid,
                 rq->gid && *rq->gid ? rq->gid : "a SAM group");
    return;
  }
  gw_sam_group *pool = &gw->pools[g];
  gw_sam_action acts[pool->nmembers];
  size_t n = 0;
  size_t m = (size_t)u - gw->cfg.groups[g].first_member;
  pthread_mutex_lock(&gw->lock);
  gw_sam_state before = pool->members[m].state;
  gw_sam_reluid(pool, m, gw_now(), acts, &n);
  end_sessions_locked(gw, g, acts, n);
  gw_sess_release_locked(gw, s);
  pthread_mutex_unlock(&gw->lock);
  if (before == GW_SAM_COLD || before == GW_SAM_WARM)
    gw_reply_set(rp, GW_RC_OK, "ID was not in use");
  else
    gw_reply_set(rp, GW_RC_OK, "Released");
}

void gw_txn_flushpool(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long g = pool_for(gw, rq, rp, 1);
  if (g < 0) return;
  gw_sam_group *pool = &gw->pools[g];
  gw_sam_action acts[pool->nmembers];
  size_t n = 0, marked = 0;
  pthread_mutex_lock(&gw->lock);
  gw_sam_flush(pool, gw_now(), acts, &n);
  size_t ended = end_sessions_locked(gw, g, acts, n);
  for (size_t i = 0; i < pool->nmembers; i++) marked += pool->members[i].state == GW_SAM_MARKED;
  pthread_mutex_unlock(&gw->lock);
  gw_reply_set(rp, GW_RC_OK, "Pool flushed: %zu idle sessions ended, %zu busy IDs marked", ended,
               marked);
}

void gw_txn_resetpool(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long g = pool_for(gw, rq, rp, 1);
  if (g < 0) return;
  gw_sam_group *pool = &gw->pools[g];
  gw_sam_action acts[pool->nmembers];
  size_t n = 0;
  pthread_mutex_lock(&gw->lock);
  gw_sam_reset(pool, gw_now(), acts, &n);
  /* Sessions the pool did not know of (a member logged in directly) end too. */
  for (size_t m = 0; m < pool->nmembers; m++)
    gw_sess_end_locked(gw, member_user(gw, g, m), GW_END_POOL);
  pthread_mutex_unlock(&gw->lock);
  gw_reply_set(rp, GW_RC_OK, "Pool reset: %zu sessions ended, every ID released", n);
}

void gw_txn_warmpool(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long g = pool_for(gw, rq, rp, 1);
  if (g < 0) return;
  gw_sam_group *pool = &gw->pools[g];
  gw_sam_action acts[pool->nmembers];
  size_t n = 0, asked = 0, warmed = 0;
  pthread_mutex_lock(&gw->lock);
  gw_sam_warm(pool, gw_now(), acts, &n, &asked);
  pthread_mutex_unlock(&gw->lock);
  for (size_t i = 0; i < n; i++) {
    if (acts[i].kind != GW_SAM_START_SESSION) continue;
    int created;
    gw_reply scratch = {0};
    gw_session *s =
        gw_txn_start_session(gw, member_user(gw, g, acts[i].member), &scratch, &created);
    if (s && created) warmed++;
    gw_sess_release(gw, s);
    gw_reply_free(&scratch);
  }
  gw_reply_set(rp, GW_RC_OK, "%zu IDs warmed", warmed);
  gw_buf_printf(&rp->body, "<count>%zu</count>", warmed);
}

void gw_txn_samstatus(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long g = pool_for(gw, rq, rp, 1);
  if (g < 0) return;
  gw_sam_group *pool = &gw->pools[g];
  gw_buf *b = &rp->body;
  double now = gw_now();
  pthread_mutex_lock(&gw->lock);
  gw_buf_puts(b, "<samstatus gid=\"");
  gw_buf_xmls(b, pool->gid);
  gw_buf_puts(b, "\" owner=\"");
  gw_buf_xmls(b, pool->owner);
  gw_buf_printf(b, "\" size=\"%zu\" free=\"%zu\">", pool->nmembers, gw_sam_count_free(pool));
  for (size_t m = 0; m < pool->nmembers; m++) {
    const gw_sam_member *x = &pool->members[m];
    int free_id = x->state == GW_SAM_COLD || x->state == GW_SAM_WARM;
    gw_buf_puts(b, "<id uid=\"");
    gw_buf_xmls(b, x->uid);
    gw_buf_printf(b, "\" state=\"%s\" loggedin=\"%d\" free=\"%d\" marked=\"%d\" age=\"%.0f\"",
                  gw_sam_state_name(x->state), x->has_session, free_id, x->state == GW_SAM_MARKED,
                  now - x->since);
    if (x->state == GW_SAM_RESERVED)
      gw_buf_printf(b, " reserved=\"%.0f\"", x->reserved_until - now);
    gw_buf_printf(b, " handouts=\"%lu\"/>", x->handouts);
  }
  gw_buf_puts(b, "</samstatus>");
  /* Ours: the gateway's exchanges, for benchmarks that count a client's round trips. A sibling
   * of <samstatus>, whose children clients read as the members. */
  gw_stats_xml(&gw->stats, b);
  pthread_mutex_unlock(&gw->lock);
  gw_reply_set(rp, GW_RC_OK, "OK");
}
