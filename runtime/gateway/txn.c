/* txn: the table of transactions by api name, and the checks every transaction shares. */
#include "auth.h"
#include "rc.h"
#include "txn.h"

#include <math.h>
#include <string.h>

static const struct {
  const char *api;
  gw_txn_fn fn;
} txns[] = {
    {"login", gw_txn_login},
    {"logout", gw_txn_logout},
    {"query", gw_txn_query},
    {"getdata", gw_txn_getdata},
    {"querydata", gw_txn_querydata},
    {"tabinfo", gw_txn_tabinfo},
    {"dir", gw_txn_dir},
    {"getuid", gw_txn_getuid},
    {"reluid", gw_txn_reluid},
    {"flushpool", gw_txn_flushpool},
    {"resetpool", gw_txn_resetpool},
    {"warmpool", gw_txn_warmpool},
    {"samstatus", gw_txn_samstatus},
};

gw_txn_fn gw_txn_find(const char *api)
{
  for (size_t i = 0; i < sizeof txns / sizeof txns[0]; i++)
    if (strcmp(txns[i].api, api) == 0) return txns[i].fn;
  return NULL;
}

long gw_txn_user(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  if (!rq->uid || !*rq->uid) {
    gw_reply_set(rp, GW_RC_NO_USER, "Missing user id (uid)");
    return -1;
  }
  long u = gw_config_find_user(&gw->cfg, rq->uid);
  if (u < 0) gw_reply_set(rp, GW_RC_INVALID_USER, "Invalid user id or password");
  return u;
}

long gw_txn_clear_login(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  if (!rq->uid || !*rq->uid) {
    gw_reply_set(rp, GW_RC_NO_USER, "Missing user id (uid)");
    return -1;
  }
  /* A held uid or address is refused before its password is looked at, so that holding it
   * tells nothing about the password; unknown uids are held like known ones. */
  double now = gw_now();
  double wait = gw_throttle_held(gw->throttle, rq->uid, rq->peer, now);
  if (wait > 0) {
    gw_reply_set(rp, GW_RC_THROTTLED, "Login throttled: too many failed logins; retry in %.0f s",
                 ceil(wait));
    return -1;
  }
  long u = gw_config_find_user(&gw->cfg, rq->uid);
  if (!gw_auth_login(&gw->cfg, u, rq->pswd)) {
    gw_throttle_failed(gw->throttle, rq->uid, rq->peer, now);
    gw_reply_set(rp, GW_RC_INVALID_USER, "Invalid user id or password");
    return -1;
  }
  gw_throttle_succeeded(gw->throttle, rq->uid, rq->peer, now);
  return u;
}

/* A sid as the gateway writes it: decimal digits, no sign or blanks, no leading zero, within
 * 64 bits. Anything else is refused rather than read as some other number. */
static int canonical_sid(const char *s, long long *out)
{
  size_t n = strlen(s);
  if (n == 0 || n > 19 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1)) return 0;
  unsigned long long v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (9223372036854775807ULL - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = (long long)v;
  return 1;
}

gw_session *gw_txn_session(gw_gateway *gw, const gw_request *rq, gw_reply *rp)
{
  long u = gw_txn_user(gw, rq, rp);
  if (u < 0) return NULL;
  if (!rq->sid || !*rq->sid) {
    gw_reply_set(rp, GW_RC_NOT_LOGGED_IN, "Not logged in (no sid)");
    return NULL;
  }
  long long sid;
  if (!canonical_sid(rq->sid, &sid)) {
    gw_reply_set(rp, GW_RC_BAD_VALUE,
                 "Invalid value for sid: '%.24s' (the decimal number login gave)", rq->sid);
    return NULL;
  }
  int wrong_password = 0;
  gw_session *s = gw_sess_acquire(gw, (size_t)u, sid, rq->pswd, &wrong_password);
  if (!s) {
    if (wrong_password)
      gw_reply_set(rp, GW_RC_INVALID_USER, "Invalid user id or password for this session");
    else
      gw_reply_set(rp, GW_RC_NOT_LOGGED_IN, "Not logged in (session %lld is not active)", sid);
    return NULL;
  }
  gw_sess_touch(gw, s);
  return s;
}

gw_session *gw_txn_start_session(gw_gateway *gw, size_t user, gw_reply *rp, int *created)
{
  *created = 0;
  char err[256] = "";
  gw_session *fresh;
  if (gw_sess_create(gw, user, &fresh, err, sizeof err)) {
    gw_reply_set(rp, GW_RC_UNAVAILABLE, "Cannot start a session: %s", err);
    return NULL;
  }
  pthread_mutex_lock(&gw->lock);
  gw_sess_wait_gc_locked(gw);
  gw_session *s = gw->sessions[user];
  if (s) {
    s->refs++; /* another request logged the ID in meanwhile: share that session */
  } else if (gw_sess_attach_locked(gw, fresh) == 0) {
    s = fresh;
    fresh = NULL;
    *created = 1;
  }
  pthread_mutex_unlock(&gw->lock);
  if (fresh) {
    fresh->refs = 1;
    gw_sess_release(gw, fresh);
  }
  if (!s) gw_reply_set(rp, GW_RC_UNAVAILABLE, "Cannot start a session: the catalog cannot be read");
  return s;
}
