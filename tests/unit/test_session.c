/* Unit tests: configuration loading, password checks, and the session table with its pool
 * bookkeeping. No HTTP: the gateway state is driven directly. */
#include "config.h"
#include "gateway.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (cond)                                                                                      \
      passed++;                                                                                    \
    else {                                                                                         \
      failed++;                                                                                    \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                              \
    }                                                                                              \
  } while (0)

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

static int load(const char *text, gw_config *cfg, char *err, size_t errlen)
{
  return gw_config_load(write_file("cfg.lua", text), cfg, err, errlen);
}

static void test_config(void)
{
  gw_config cfg;
  char err[512];
  int rc = load("return { database = 'x.db', users = {"
                "{ uid = 'owner1', password = 'secret1', company = 'acme' },"
                "{ uid = 'admin1', password = 'pw', company = 'acme', admin = true },"
                "{ uid = 'boss', password = 'pw', company = 'other', admin = true },"
                "{ uid = 'loner', password = 'pw' } },"
                "groups = { { gid = 'pool1', owner = 'owner1', size = 3 },"
                "           { gid = 'p2', owner = 'loner', size = 1, member_password = 'm' } },"
                "reserve_seconds = 5, idle_seconds = 7, page_rows = 100 }",
                &cfg, err, sizeof err);
  CHECK(rc == 0);
  if (rc) {
    fprintf(stderr, "config: %s\n", err);
    return;
  }
  CHECK(cfg.nusers == 4 + 3 + 1);
  CHECK(cfg.ngroups == 2);
  CHECK(cfg.reserve_seconds == 5 && cfg.idle_seconds == 7 && cfg.page_rows == 100);
  long m = gw_config_find_user(&cfg, "pool1_2");
  CHECK(m >= 0 && cfg.users[m].group == 0);
  CHECK(m >= 0 && gw_auth_check(&cfg.users[m], "secret1")); /* the owner's password */
  CHECK(m >= 0 && strcmp(cfg.users[m].company, "acme") == 0);
  long p = gw_config_find_user(&cfg, "p2_0");
  CHECK(p >= 0 && gw_auth_check(&cfg.users[p], "m") && !gw_auth_check(&cfg.users[p], "pw"));
  CHECK(gw_config_find_user(&cfg, "pool1_3") < 0);
  CHECK(gw_config_find_user(&cfg, "loner") >= 0 && cfg.users[3].company[0] == '\0');
  /* who may administer pool1: its owner and an admin of acme, not another company's admin */
  CHECK(gw_auth_may_admin(&cfg, 0, 0));
  CHECK(gw_auth_may_admin(&cfg, 1, 0));
  CHECK(!gw_auth_may_admin(&cfg, 2, 0));
  CHECK(!gw_auth_may_admin(&cfg, 3, 0));
  CHECK(!gw_auth_check(&cfg.users[0], "secret2"));
  CHECK(!gw_auth_check(&cfg.users[0], NULL));
  CHECK(!gw_auth_check(&cfg.users[0], "secret1x"));
  gw_config_free(&cfg);
  gw_config_free(&cfg); /* twice is fine */

  struct {
    const char *text, *expect;
  } bad[] = {
      {"return 1", "must return a table"},
      {"return {}", "'database' is required"},
      {"return { database = 'x', users = { { uid = 'a' } } }", "exactly one of 'password'"},
      {"return { database = 'x', users = { { uid = 'a b', password = 'p' } } }", "'uid' must be"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' }, { uid = 'a', password = "
       "'p' } } }",
       "duplicate uid 'a'"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' } }, groups = { { gid = "
       "'g', owner = 'z', size = 2 } } }",
       "groups[1]: 'owner' must name a user"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' } }, groups = { { gid = "
       "'g', owner = 'a', size = 0 } } }",
       "'size' must be a whole number"},
      {"return { database = 'x', users = {}, idle_seconds = 'soon' }",
       "'idle_seconds' must be a number"},
      {"return { database = 'x', users = { { uid = 'g_0', password = 'p' }, { uid = 'a', password "
       "= 'p' } }, groups = { { gid = 'g', owner = 'a', size = 1 } } }",
       "clashes with another user"},
      {"syntax error here", "syntax error"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    CHECK(load(bad[i].text, &cfg, err, sizeof err) == -1);
    CHECK(strstr(err, bad[i].expect) != NULL);
    if (!strstr(err, bad[i].expect)) fprintf(stderr, "  got: %s\n  want: %s\n", err, bad[i].expect);
  }
}

/* max_download_* at three levels (users[i] beats its group, the group the top level) and the
 * strict inject key. */
static void test_limits_and_inject(void)
{
  gw_config cfg;
  char err[512];
  int rc = load("return { database = 'x.db', max_download_cells = 1000,"
                "users = { { uid = 'a', password = 'p' },"
                "          { uid = 'b', password = 'p', max_download_rows = 5 },"
                "          { uid = 'c', password = 'p', max_download_cells = 7.0 } },"
                "groups = { { gid = 'g', owner = 'a', size = 2, max_download_rows = 9 },"
                "           { gid = 'h', owner = 'a', size = 1, max_download_cells = 3 } },"
                "inject = { login = { 45, 41 }, getuid = { 45 }, dir = {} } }",
                &cfg, err, sizeof err);
  CHECK(rc == 0);
  if (rc) {
    fprintf(stderr, "config: %s\n", err);
    return;
  }
  const gw_user *a = &cfg.users[0], *b = &cfg.users[1], *c = &cfg.users[2];
  CHECK(a->max_download_rows == 0 && a->max_download_cells == 1000);
  CHECK(b->max_download_rows == 5 && b->max_download_cells == 1000);
  CHECK(c->max_download_rows == 0 && c->max_download_cells == 7);
  long g1 = gw_config_find_user(&cfg, "g_1"), h0 = gw_config_find_user(&cfg, "h_0");
  CHECK(g1 >= 0 && cfg.users[g1].max_download_rows == 9 &&
        cfg.users[g1].max_download_cells == 1000);
  CHECK(h0 >= 0 && cfg.users[h0].max_download_rows == 0 && cfg.users[h0].max_download_cells == 3);
  CHECK(cfg.ninject == 3);
  /* in order, then 0 for ever; other transactions are never touched */
  CHECK(gw_config_injected(&cfg, "login") == 45);
  CHECK(gw_config_injected(&cfg, "query") == 0);
  CHECK(gw_config_injected(&cfg, "getuid") == 45);
  CHECK(gw_config_injected(&cfg, "login") == 41);
  CHECK(gw_config_injected(&cfg, "login") == 0);
  CHECK(gw_config_injected(&cfg, "login") == 0);
  CHECK(gw_config_injected(&cfg, "getuid") == 0);
  CHECK(gw_config_injected(&cfg, "dir") == 0);
  CHECK(gw_config_injected(&cfg, NULL) == 0);
  gw_config_free(&cfg);

  /* No limits anywhere: unlimited. */
  CHECK(load("return { database = 'x', users = { { uid = 'a', password = 'p' } } }", &cfg, err,
             sizeof err) == 0);
  CHECK(cfg.users[0].max_download_rows == 0 && cfg.users[0].max_download_cells == 0);
  CHECK(cfg.ninject == 0 && gw_config_injected(&cfg, "login") == 0);
  gw_config_free(&cfg);

  struct {
    const char *text, *expect;
  } bad[] = {
      {"return { database = 'x', users = {}, max_download_rows = 0 }",
       "config: 'max_download_rows' must be a whole number >= 1"},
      {"return { database = 'x', users = {}, max_download_cells = 2.5 }",
       "'max_download_cells' must be a whole number >= 1"},
      {"return { database = 'x', users = {}, max_download_cells = '100' }",
       "'max_download_cells' must be a whole number >= 1"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p', max_download_rows = -1 } } "
       "}",
       "config: users[1]: 'max_download_rows' must be"},
      {"return { database = 'x', users = { { uid = 'a', password = 'p' } }, groups = { { gid = "
       "'g', owner = 'a', size = 1, max_download_cells = true } } }",
       "config: groups[1]: 'max_download_cells' must be"},
      {"return { database = 'x', users = {}, inject = 45 }", "'inject' must be a table"},
      {"return { database = 'x', users = {}, inject = { logon = { 45 } } }",
       "inject: unknown transaction 'logon'"},
      {"return { database = 'x', users = {}, inject = { [1] = { 45 } } }",
       "inject: keys must be api names"},
      {"return { database = 'x', users = {}, inject = { login = 45 } }",
       "inject.login must be a list of rcs"},
      {"return { database = 'x', users = {}, inject = { login = { 45, x = 1 } } }",
       "inject.login must be a list of rcs"},
      {"return { database = 'x', users = {}, inject = { login = { 45, 0 } } }",
       "inject.login[2] must be a whole number from 1 to 99"},
      {"return { database = 'x', users = {}, inject = { getuid = { 100 } } }",
       "inject.getuid[1] must be a whole number from 1 to 99"},
      {"return { database = 'x', users = {}, inject = { getuid = { 4.5 } } }",
       "inject.getuid[1] must be a whole number from 1 to 99"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    CHECK(load(bad[i].text, &cfg, err, sizeof err) == -1);
    CHECK(strstr(err, bad[i].expect) != NULL);
    if (!strstr(err, bad[i].expect)) fprintf(stderr, "  got: %s\n  want: %s\n", err, bad[i].expect);
  }
}

/* Many threads take injected answers at once: each rc of the list goes out exactly once. */
#define INJECT_THREADS 8
#define INJECT_CALLS   50
static gw_config inject_cfg;
static int inject_got[INJECT_THREADS][100];

static void *take_injected(void *arg)
{
  int *got = arg;
  for (int i = 0; i < INJECT_CALLS; i++) got[gw_config_injected(&inject_cfg, "login")]++;
  return NULL;
}

static void test_inject_threads(void)
{
  char err[512], text[1024];
  size_t len = (size_t)snprintf(text, sizeof text,
                                "return { database = 'x', users = {}, inject "
                                "= { login = {");
  for (int i = 0; i < 99; i++) len += (size_t)snprintf(text + len, sizeof text - len, "%d,", i + 1);
  snprintf(text + len, sizeof text - len, "} } }");
  CHECK(load(text, &inject_cfg, err, sizeof err) == 0);
  pthread_t t[INJECT_THREADS];
  for (int i = 0; i < INJECT_THREADS; i++)
    pthread_create(&t[i], NULL, take_injected, inject_got[i]);
  for (int i = 0; i < INJECT_THREADS; i++) pthread_join(t[i], NULL);
  int total[100] = {0};
  for (int i = 0; i < INJECT_THREADS; i++)
    for (int k = 0; k < 100; k++) total[k] += inject_got[i][k];
  int once = 1;
  for (int k = 1; k < 100; k++) once &= total[k] == 1;
  CHECK(once);
  CHECK(total[0] == INJECT_THREADS * INJECT_CALLS - 99);
  gw_config_free(&inject_cfg);
}

static void test_crypt(void)
{
  struct crypt_data data;
  memset(&data, 0, sizeof data);
  const char *hash = crypt_r("s3cret", "$6$saltsalt$", &data);
  CHECK(hash && hash[0] == '$');
  gw_user u = {0};
  u.password_hash = (char *)hash;
  CHECK(gw_auth_check(&u, "s3cret"));
  CHECK(!gw_auth_check(&u, "s3cret "));
  CHECK(!gw_auth_check(&u, ""));
  u.password_hash = "*";
  CHECK(!gw_auth_check(&u, "*"));
}

static void test_sessions(void)
{
  char text[512], err[512] = "";
  snprintf(text, sizeof text,
           "return { database = '%s/s.db', users = { { uid = 'owner1', password = 'pw' } },"
           "groups = { { gid = 'g', owner = 'owner1', size = 2 } }, reserve_seconds = 60 }",
           dir);
  char dbpath[128];
  snprintf(dbpath, sizeof dbpath, "%s/s.db", dir);
  sqlite3 *db;
  CHECK(gw_store_open(dbpath, 1, &db, err, sizeof err) == 0); /* serve needs it to exist */
  sqlite3_close(db);
  gw_gateway gw;
  memset(&gw, 0, sizeof gw);
  CHECK(load(text, &gw.cfg, err, sizeof err) == 0);
  CHECK(gw_gateway_init(&gw, err, sizeof err) == 0);
  if (err[0]) fprintf(stderr, "init: %s\n", err);

  gw_session *s;
  CHECK(gw_sess_create(&gw, 0, &s, err, sizeof err) == 0);
  pthread_mutex_lock(&gw.lock);
  gw_sess_attach_locked(&gw, s);
  pthread_mutex_unlock(&gw.lock);
  gw_sess_release(&gw, s);
  CHECK(s->sid >= 1000000000 && strncmp(s->enc, "__", 2) == 0);

  int wrong;
  gw_session *a = gw_sess_acquire(&gw, 0, s->sid, s->enc, &wrong);
  CHECK(a == s && !wrong && s->refs == 2);
  CHECK(gw_sess_acquire(&gw, 0, s->sid, "__nope", &wrong) == NULL && wrong);
  CHECK(gw_sess_acquire(&gw, 0, s->sid + 1, s->enc, &wrong) == NULL && !wrong);
  CHECK(gw_sess_acquire(&gw, 1, s->sid, s->enc, &wrong) == NULL);

  /* Ending the session while a request holds it: the request's reference keeps it alive. */
  pthread_mutex_lock(&gw.lock);
  gw_sess_end_locked(&gw, 0, GW_END_KILLED);
  gw_sess_end_locked(&gw, 0, GW_END_KILLED); /* twice is fine */
  pthread_mutex_unlock(&gw.lock);
  CHECK(gw_sess_is_ended(a) && a->refs == 1);
  CHECK(gw_sess_acquire(&gw, 0, a->sid, a->enc, &wrong) == NULL);
  gw_sess_release(&gw, a);

  /* A member's login and logout drive its pool state. */
  long m0 = gw_config_find_user(&gw.cfg, "g_0");
  size_t idx;
  CHECK(m0 >= 0 && gw_member_pool(&gw, (size_t)m0, &idx) == &gw.pools[0] && idx == 0);
  CHECK(gw_member_pool(&gw, 0, &idx) == NULL);
  size_t got;
  CHECK(gw_sam_getuid(&gw.pools[0], gw_now(), &got) == 0 && got == 0);
  CHECK(gw_sess_create(&gw, (size_t)m0, &s, err, sizeof err) == 0);
  pthread_mutex_lock(&gw.lock);
  gw_sess_attach_locked(&gw, s);
  gw_sess_release_locked(&gw, s);
  CHECK(gw.pools[0].members[0].state == GW_SAM_BUSY && gw.pools[0].members[0].has_session);
  gw_sess_end_locked(&gw, (size_t)m0, GW_END_LOGOUT);
  CHECK(gw.pools[0].members[0].state == GW_SAM_RESERVED);
  CHECK(gw.sessions[m0] == NULL);
  pthread_mutex_unlock(&gw.lock);

  /* Two sessions never share a sid. */
  gw_session *x, *y;
  CHECK(gw_sess_create(&gw, 0, &x, err, sizeof err) == 0);
  CHECK(gw_sess_create(&gw, (size_t)m0 + 1, &y, err, sizeof err) == 0);
  pthread_mutex_lock(&gw.lock);
  gw_sess_attach_locked(&gw, x);
  gw_sess_attach_locked(&gw, y);
  gw_sess_release_locked(&gw, x);
  gw_sess_release_locked(&gw, y);
  CHECK(x->sid != y->sid && strcmp(x->enc, y->enc) != 0);
  pthread_mutex_unlock(&gw.lock);

  gw_gateway_tick(&gw);
  gw_gateway_free(&gw); /* ends the sessions left */
}

int main(void)
{
  snprintf(dir, sizeof dir, "/tmp/tt-unit.XXXXXX");
  if (!mkdtemp(dir)) return 1;
  test_config();
  printf("config: done\n");
  test_limits_and_inject();
  test_inject_threads();
  printf("limits and inject: done\n");
  test_crypt();
  printf("crypt: done\n");
  test_sessions();
  printf("sessions: done\n");
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
