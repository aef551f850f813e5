/* auth: password checks and who may administer a pool. */
#include "config.h"

#include <crypt.h>
#include <string.h>

/* Compare without an early exit so timing does not tell how much of a password matched. */
static int same(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  unsigned char diff = (unsigned char)(la != lb);
  for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
  return diff == 0;
}

int gw_auth_check(const gw_user *u, const char *clear)
{
  if (!u || !clear) return 0;
  if (u->password) return same(u->password, clear);
  if (!u->password_hash) return 0;
  struct crypt_data data;
  memset(&data, 0, sizeof data);
  const char *h = crypt_r(clear, u->password_hash, &data);
  return h && h[0] != '*' && same(h, u->password_hash);
}

int gw_auth_may_admin(const gw_config *cfg, size_t user, size_t group)
{
  const gw_group_config *g = &cfg->groups[group];
  if (user == g->owner) return 1;
  const gw_user *u = &cfg->users[user];
  return u->admin && strcmp(u->company, cfg->users[g->owner].company) == 0;
}
