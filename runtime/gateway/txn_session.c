/* txn_session: login and logout. */
#include "rc.h"
#include "txn.h"

#include <string.h>

#ifndef TT_VERSION
#error "TT_VERSION must be defined (CMake passes the project's version)"
#endif

static void reply_session(gw_reply *rp, const gw_session *s, const char *msg)
{
  gw_reply_set(rp, GW_RC_OK, "%s", msg);
  gw_buf_printf(&rp->body,
                "<sid>%lld</sid><pswd>%s</pswd><version>tt-gateway " TT_VERSION "</version>",
                (long long)s->sid, s->enc);
}

void gw_txn_login(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  const char *kill = rq->kill && *rq->kill ? rq->kill : "yes";
  if (strcmp(kill, "yes") && strcmp(kill, "no") && strcmp(kill, "possess") &&
      strcmp(kill, "auth")) {
    gw_reply_set(rp, GW_RC_BAD_VALUE, "Invalid value for kill: '%s' (yes, no, possess or auth)",
                 kill);
    return;
  }
  long u = gw_txn_clear_login(gw, rq, rp);
  if (u < 0) return;
  if (strcmp(kill, "auth") == 0) {
    gw_reply_set(rp, GW_RC_OK, "Authenticated");
    return;
  }

  pthread_mutex_lock(&gw->lock);
  gw_session *s = gw->sessions[u];
  if (s && strcmp(kill, "no") == 0) {
    pthread_mutex_unlock(&gw->lock);
    gw_reply_set(rp, GW_RC_ALREADY_LOGGED_IN, "Already logged in: %s has an active session",
                 rq->uid);
    return;
  }
  if (s && strcmp(kill, "possess") == 0) {
    s->refs++;
    pthread_mutex_unlock(&gw->lock);
    gw_sess_touch(gw, s);
    reply_session(rp, s, "Possessed the running session");
    gw_sess_release(gw, s);
    return;
  }
  if (s) gw_sess_end_locked(gw, (size_t)u, GW_END_KILLED);
  pthread_mutex_unlock(&gw->lock);

  for (int attempt = 0; attempt < 3; attempt++) {
    int created;
    s = gw_txn_start_session(gw, (size_t)u, rp, &created);
    if (!s) return;
    /* A concurrent login won the slot. possess shares it; no and yes must not. */
    if (created || strcmp(kill, "possess") == 0) break;
    if (strcmp(kill, "no") == 0) {
      gw_sess_release(gw, s);
      gw_reply_set(rp, GW_RC_ALREADY_LOGGED_IN, "Already logged in: %s has an active session",
                   rq->uid);
      return;
    }
    pthread_mutex_lock(&gw->lock);
    if (gw->sessions[u] == s) gw_sess_end_locked(gw, (size_t)u, GW_END_KILLED);
    gw_sess_release_locked(gw, s);
    pthread_mutex_unlock(&gw->lock);
    s = NULL;
  }
  if (!s) {
    gw_reply_set(rp, GW_RC_ALREADY_LOGGED_IN, "Already logged in: concurrent logins of %s",
                 rq->uid);
    return;
  }
  reply_session(rp, s, "Logged in");
  gw_sess_release(gw, s);
}

void gw_txn_logout(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  gw_session *s = gw_txn_session(gw, rq, rp);
  if (!s) return;
  pthread_mutex_lock(&gw->lock);
  if (gw->sessions[s->user] == s) gw_sess_end_locked(gw, s->user, GW_END_LOGOUT);
  gw_sess_release_locked(gw, s);
  pthread_mutex_unlock(&gw->lock);
  gw_reply_set(rp, GW_RC_OK, "Logged out");
}
