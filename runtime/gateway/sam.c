/*
 * sam: the SAM pool state machine (see sam.h). Pure logic: no I/O, no locks, the clock is
 * passed in.
 *
 * Choices beyond the header:
 *  - Whenever this module reports END_SESSION or INTERRUPT for a member it clears has_session
 *    at once, so COLD always means "no session" (warmpool must not start a second session on
 *    a member whose old one is still being ended) and the caller's later
 *    gw_sam_session_ended for that member is harmless.
 *  - resetpool reports ONE action per live session, of kind INTERRUPT, meaning "interrupt
 *    running work and end the session": the action array has room for one action per member
 *    only, so INTERRUPT + END_SESSION pairs would not fit.
 *  - A login on a RESERVED member makes it BUSY again: the holder who logged out without
 *    reluid came back within its hold, and the hold existed to keep the ID for that holder.
 *  - Functions taking a member index ignore (void) or reject (GW_SAM_ERR_MEMBER) an index out
 *    of range, since indices may come from a stale lookup in the caller.
 */
#include "sam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Active in every build: a pool handing one ID to two holders must stop, not carry on. */
#define SAM_ASSERT(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", __FILE__, __LINE__, __func__, #cond);   \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static int is_free(gw_sam_state s)
{
  return s == GW_SAM_COLD || s == GW_SAM_WARM;
}

/* Move to a state; `since` only changes when the state does, so it stays "when it entered". */
static void enter(gw_sam_member *m, gw_sam_state s, double now)
{
  if (m->state != s) {
    m->state = s;
    m->since = now;
  }
  if (s != GW_SAM_RESERVED) m->reserved_until = 0;
}

static void emit(gw_sam_action *acts, size_t *nacts, gw_sam_action_kind kind, size_t member)
{
  acts[*nacts].kind = kind;
  acts[*nacts].member = member;
  (*nacts)++;
}

/* Report END_SESSION (or INTERRUPT) and forget the session: see the note at the top. */
static void end_session(gw_sam_member *m, gw_sam_action *acts, size_t *nacts,
                        gw_sam_action_kind kind, size_t member)
{
  emit(acts, nacts, kind, member);
  m->has_session = 0;
}

int gw_sam_group_init(gw_sam_group *g, const char *gid, const char *owner, size_t nmembers,
                      double reserve_seconds, double idle_seconds)
{
  memset(g, 0, sizeof *g);
  g->reserve_seconds = reserve_seconds;
  g->idle_seconds = idle_seconds;
  g->gid = strdup(gid);
  g->owner = strdup(owner);
  if (!g->gid || !g->owner) goto nomem;
  if (nmembers > 0) {
    g->members = calloc(nmembers, sizeof *g->members);
    if (!g->members) goto nomem;
  }
  /* Count members as their uids are made, so gw_sam_group_free frees just those. */
  for (size_t i = 0; i < nmembers; i++) {
    gw_sam_member *m = &g->members[i];
    int len = snprintf(NULL, 0, "%s_%zu", gid, i);
    if (len < 0 || !(m->uid = malloc((size_t)len + 1))) goto nomem;
    snprintf(m->uid, (size_t)len + 1, "%s_%zu", gid, i);
    m->state = GW_SAM_COLD;
    g->nmembers = i + 1;
  }
  SAM_ASSERT(gw_sam_check(g));
  return 0;
nomem:
  gw_sam_group_free(g);
  return GW_SAM_ERR_NOMEM;
}

void gw_sam_group_free(gw_sam_group *g)
{
  if (!g) return;
  if (g->members)
    for (size_t i = 0; i < g->nmembers; i++) free(g->members[i].uid);
  free(g->members);
  free(g->gid);
  free(g->owner);
  memset(g, 0, sizeof *g); /* makes a second call harmless */
}

int gw_sam_find(const gw_sam_group *g, const char *uid)
{
  if (!uid) return GW_SAM_ERR_MEMBER;
  for (size_t i = 0; i < g->nmembers; i++)
    if (strcmp(g->members[i].uid, uid) == 0) return (int)i;
  return GW_SAM_ERR_MEMBER;
}

/* Index of the member in state s with the smallest `since` (ties: lowest index), or nmembers. */
static size_t oldest_in(const gw_sam_group *g, gw_sam_state s)
{
  size_t best = g->nmembers;
  for (size_t i = 0; i < g->nmembers; i++) {
    const gw_sam_member *m = &g->members[i];
    if (m->state == s && (best == g->nmembers || m->since < g->members[best].since)) best = i;
  }
  return best;
}

int gw_sam_getuid(gw_sam_group *g, double now, size_t *member)
{
  /* A WARM member saves the caller a login; the longest-WARM one spreads the idle timeouts. */
  size_t i = oldest_in(g, GW_SAM_WARM);
  if (i == g->nmembers) i = oldest_in(g, GW_SAM_COLD);
  if (i == g->nmembers) return GW_SAM_ERR_BUSY;
  gw_sam_member *m = &g->members[i];
  SAM_ASSERT(is_free(m->state)); /* never handed to two holders */
  enter(m, GW_SAM_BUSY, now);
  m->handouts++;
  m->last_used = now;
  *member = i;
  SAM_ASSERT(gw_sam_check(g));
  return 0;
}

int gw_sam_reluid(gw_sam_group *g, size_t member, double now, gw_sam_action *acts, size_t *nacts)
{
  *nacts = 0;
  if (member >= g->nmembers) return GW_SAM_ERR_MEMBER;
  gw_sam_member *m = &g->members[member];
  switch (m->state) {
  case GW_SAM_BUSY:
    enter(m, m->has_session ? GW_SAM_WARM : GW_SAM_COLD, now);
    break;
  case GW_SAM_MARKED:
    if (m->has_session) end_session(m, acts, nacts, GW_SAM_END_SESSION, member);
    enter(m, GW_SAM_COLD, now);
    break;
  case GW_SAM_RESERVED:
    enter(m, GW_SAM_COLD, now);
    break;
  case GW_SAM_COLD:
  case GW_SAM_WARM:
    break; /* releasing a free member is not an error: reluid may be sent twice */
  }
  SAM_ASSERT(gw_sam_check(g));
  return 0;
}

void gw_sam_session_started(gw_sam_group *g, size_t member, double now)
{
  if (member >= g->nmembers) return;
  gw_sam_member *m = &g->members[member];
  m->has_session = 1;
  m->last_used = now;
  if (m->state == GW_SAM_COLD)
    enter(m, GW_SAM_WARM, now); /* login without getuid, or warmpool's start */
  else if (m->state == GW_SAM_RESERVED)
    enter(m, GW_SAM_BUSY, now); /* its holder came back within the hold: give it back */
  SAM_ASSERT(gw_sam_check(g));
}

void gw_sam_session_ended(gw_sam_group *g, size_t member, double now, int by_logout)
{
  if (member >= g->nmembers) return;
  gw_sam_member *m = &g->members[member];
  m->has_session = 0;
  switch (m->state) {
  case GW_SAM_BUSY:
  case GW_SAM_MARKED:
    /* Logout without reluid: hold the ID for the holder a while. Any other end (kill, idle)
     * leaves the ID with its holder. */
    if (by_logout) {
      enter(m, GW_SAM_RESERVED, now);
      m->reserved_until = now + g->reserve_seconds;
    }
    break;
  case GW_SAM_WARM:
    enter(m, GW_SAM_COLD, now);
    break;
  case GW_SAM_COLD:
  case GW_SAM_RESERVED:
    break; /* e.g. the caller reporting an END_SESSION this module already asked for */
  }
  SAM_ASSERT(gw_sam_check(g));
}

void gw_sam_touch(gw_sam_group *g, size_t member, double now)
{
  if (member >= g->nmembers) return;
  g->members[member].last_used = now;
  SAM_ASSERT(gw_sam_check(g));
}

int gw_sam_flush(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts)
{
  *nacts = 0;
  for (size_t i = 0; i < g->nmembers; i++) {
    gw_sam_member *m = &g->members[i];
    if (m->state == GW_SAM_WARM) {
      end_session(m, acts, nacts, GW_SAM_END_SESSION, i);
      enter(m, GW_SAM_COLD, now);
    } else if (m->state == GW_SAM_BUSY) {
      enter(m, GW_SAM_MARKED, now); /* its session ends at reluid, not under its holder */
    }
  }
  SAM_ASSERT(gw_sam_check(g));
  return 0;
}

int gw_sam_reset(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts)
{
  *nacts = 0;
  for (size_t i = 0; i < g->nmembers; i++) {
    gw_sam_member *m = &g->members[i];
    /* One INTERRUPT per live session, meaning "interrupt running work and end the session". */
    if (m->has_session) end_session(m, acts, nacts, GW_SAM_INTERRUPT, i);
    enter(m, GW_SAM_COLD, now); /* also clears reserved_until */
  }
  SAM_ASSERT(gw_sam_check(g));
  return 0;
}

int gw_sam_warm(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts, size_t *count)
{
  (void)now;
  *nacts = 0;
  /* The member stays COLD until the caller reports the login, so a failed start costs nothing. */
  for (size_t i = 0; i < g->nmembers; i++)
    if (g->members[i].state == GW_SAM_COLD) emit(acts, nacts, GW_SAM_START_SESSION, i);
  *count = *nacts;
  SAM_ASSERT(gw_sam_check(g));
  return 0;
}

int gw_sam_tick(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts)
{
  *nacts = 0;
  for (size_t i = 0; i < g->nmembers; i++) {
    gw_sam_member *m = &g->members[i];
    if (m->state == GW_SAM_WARM && g->idle_seconds > 0 && now - m->last_used >= g->idle_seconds) {
      end_session(m, acts, nacts, GW_SAM_END_SESSION, i);
      enter(m, GW_SAM_COLD, now);
    } else if (m->state == GW_SAM_RESERVED && now >= m->reserved_until) {
      enter(m, GW_SAM_COLD, now);
    }
  }
  SAM_ASSERT(gw_sam_check(g));
  return 0;
}

size_t gw_sam_count_free(const gw_sam_group *g)
{
  size_t n = 0;
  for (size_t i = 0; i < g->nmembers; i++) n += is_free(g->members[i].state);
  return n;
}

const char *gw_sam_state_name(gw_sam_state s)
{
  switch (s) {
  case GW_SAM_COLD:
    return "COLD";
  case GW_SAM_WARM:
    return "WARM";
  case GW_SAM_BUSY:
    return "BUSY";
  case GW_SAM_MARKED:
    return "MARKED";
  case GW_SAM_RESERVED:
    return "RESERVED";
  }
  return "?";
}

int gw_sam_check(const gw_sam_group *g)
{
  if (!g || (g->nmembers > 0 && !g->members)) return 0;
  for (size_t i = 0; i < g->nmembers; i++) {
    const gw_sam_member *m = &g->members[i];
    /* Compare as unsigned so a corrupted negative enum value is caught too. */
    if ((unsigned)m->state > (unsigned)GW_SAM_RESERVED) return 0;
    if (m->state == GW_SAM_RESERVED && m->has_session) return 0;
  }
  return 1;
}
