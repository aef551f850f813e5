/* auth: password checks, password hashes, and who may administer a pool. */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long hashes; /* atomic */

int gw_auth_same(const char *a, const char *b)
{
  /* No early exit: the loop runs over the longer string whatever the bytes are. */
  size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
  unsigned char diff = (unsigned char)(la != lb);
  for (size_t i = 0; i < n; i++) {
    unsigned char x = i < la ? (unsigned char)a[i] : 0, y = i < lb ? (unsigned char)b[i] : 0;
    diff |= (unsigned char)(x ^ y);
  }
  return diff == 0;
}

/* crypt(3) of clear with the setting of hash; 1 when it gives hash back. */
static int crypt_matches(const char *clear, const char *hash)
{
  struct crypt_data data;
  memset(&data, 0, sizeof data);
  __atomic_fetch_add(&hashes, 1, __ATOMIC_RELAXED);
  const char *h = crypt_r(clear, hash, &data);
  return h && h[0] != '*' && gw_auth_same(h, hash);
}

int gw_auth_check(const gw_user *u, const char *clear)
{
  if (!u || !clear) return 0;
  if (u->password) return gw_auth_same(u->password, clear);
  if (!u->password_hash) return 0;
  return crypt_matches(clear, u->password_hash);
}

int gw_auth_login(const gw_config *cfg, long user, const char *clear)
{
  if (user >= 0 && (size_t)user < cfg->nusers) return gw_auth_check(&cfg->users[user], clear);
  /* Without any hashed user, the real checks are plain compares: match those instead. */
  if (cfg->dummy_hash)
    crypt_matches(clear ? clear : "", cfg->dummy_hash);
  else
    gw_auth_same(clear ? clear : "", "no user has this password");
  return 0;
}

unsigned long gw_auth_hashes(void)
{
  return __atomic_load_n(&hashes, __ATOMIC_RELAXED);
}

const char *gw_auth_hash_problem(const char *hash)
{
  static const char *const good[] = {"$y$", "$2b$", "$2y$", "$6$", NULL};
  if (strncmp(hash, "$1$", 3) == 0)
    return "is an MD5 crypt hash ($1$), which is too weak to keep: make a new one with "
           "tt-gateway passwd";
  if (hash[0] != '$')
    return "is not a modern crypt hash (a DES hash is too weak to keep): make a new one with "
           "tt-gateway passwd";
  int known = 0;
  for (const char *const *g = good; *g && !known; g++) known = strncmp(hash, *g, strlen(*g)) == 0;
  if (!known)
    return "must be a yescrypt ($y$), bcrypt ($2b$, $2y$) or SHA-512 crypt ($6$) hash: make one "
           "with tt-gateway passwd";
  struct crypt_data data;
  memset(&data, 0, sizeof data);
  const char *h = crypt_r("", hash, &data);
  if (!h || h[0] == '*' || strlen(h) != strlen(hash))
    return "is not a valid hash of its scheme (or this libcrypt cannot check it)";
  return NULL;
}

char *gw_auth_make_hash(const char *clear, char *err, size_t errlen)
{
  static const char *const schemes[] = {"$y$", "$6$"};
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL random bytes: libcrypt takes them from the kernel. Cost 0: its default. */
    if (!crypt_gensalt_rn(schemes[i], 0, NULL, 0, setting, sizeof setting)) continue;
    struct crypt_data data;
    memset(&data, 0, sizeof data);
    const char *h = crypt_r(clear, setting, &data);
    if (h && h[0] == '$') return strdup(h);
  }
  snprintf(err, errlen, "libcrypt makes neither yescrypt nor SHA-512 hashes: %s", strerror(errno));
  return NULL;
}

int gw_auth_may_admin(const gw_config *cfg, size_t user, size_t group)
{
  const gw_group_config *g = &cfg->groups[group];
  if (user == g->owner) return 1;
  const gw_user *u = &cfg->users[user];
  return u->admin && strcmp(u->company, cfg->users[g->owner].company) == 0;
}
