/*
 * sam: the Shared Access Management pool state machine, pure logic.
 *
 * A group is an owner plus members (user IDs) handed out one at a time. Each member is in one
 * of five states:
 *   COLD      free, no session
 *   WARM      free, session live (released with reluid, or started by warmpool)
 *   BUSY      handed out by getuid (session live or not)
 *   MARKED    busy, and flushpool asked that its session end when it is released
 *   RESERVED  its holder logged out without reluid; held until reserved_until
 *
 * This module does no I/O and takes no locks: the caller serializes calls and carries out the
 * session actions each call reports (end a member's session, start one). Times are seconds on
 * a monotonic clock, passed in, so tests can drive the clock.
 *
 * Errors: functions return 0 or a negative GW_SAM_* code.
 */
#ifndef GW_SAM_H
#define GW_SAM_H

#include <stddef.h>

typedef enum {
  GW_SAM_COLD = 0,
  GW_SAM_WARM,
  GW_SAM_BUSY,
  GW_SAM_MARKED,
  GW_SAM_RESERVED,
} gw_sam_state;

enum {
  GW_SAM_ERR_BUSY = -1,   /* no free member: "System is busy" (rc 38) */
  GW_SAM_ERR_MEMBER = -2, /* not a member of this group */
  GW_SAM_ERR_NOMEM = -3,
};

typedef struct gw_sam_member {
  char *uid;
  gw_sam_state state;
  int has_session;        /* the member has a live platform session */
  double since;           /* when it entered this state */
  double last_used;       /* last request on its session, for the idle timeout */
  double reserved_until;  /* RESERVED only */
  unsigned long handouts; /* times getuid handed it out */
} gw_sam_member;

typedef struct gw_sam_group {
  char *gid;
  char *owner;
  size_t nmembers;
  gw_sam_member *members; /* uids are "<gid>_0" .. "<gid>_<n-1>" */
  double reserve_seconds;
  double idle_seconds;
} gw_sam_group;

/* What the caller must do to sessions after a call. */
typedef enum { GW_SAM_END_SESSION = 1, GW_SAM_START_SESSION, GW_SAM_INTERRUPT } gw_sam_action_kind;
typedef struct gw_sam_action {
  gw_sam_action_kind kind;
  size_t member; /* index into members */
} gw_sam_action;

/* Room for one action per member is always enough: pass an array of nmembers actions. */

int gw_sam_group_init(gw_sam_group *g, const char *gid, const char *owner, size_t nmembers,
                      double reserve_seconds, double idle_seconds);
void gw_sam_group_free(gw_sam_group *g);

/* Index of the member with this uid, or GW_SAM_ERR_MEMBER. */
int gw_sam_find(const gw_sam_group *g, const char *uid);

/* Hand out a free member: a WARM one if any (the one WARM longest), else a COLD one.
 * Asserts that the member it hands out is held by nobody. */
int gw_sam_getuid(gw_sam_group *g, double now, size_t *member);

/* Release: BUSY -> WARM (session live) or COLD; MARKED -> COLD and END_SESSION;
 * RESERVED -> COLD. A free member stays as it is (returns 0). */
int gw_sam_reluid(gw_sam_group *g, size_t member, double now, gw_sam_action *acts, size_t *nacts);

/* The member's session started (login) or ended (logout, kill, idle). A login on a COLD member
 * makes it WARM; on a RESERVED member, BUSY again (its holder came back). A logout of a BUSY or
 * MARKED member makes it RESERVED for reserve_seconds; of a WARM member, COLD. `by_logout` is 1
 * for an explicit logout, 0 for any other end. The END_SESSION and INTERRUPT actions clear
 * has_session at once, so the caller's later session_ended for them changes nothing. */
void gw_sam_session_started(gw_sam_group *g, size_t member, double now);
void gw_sam_session_ended(gw_sam_group *g, size_t member, double now, int by_logout);
void gw_sam_touch(gw_sam_group *g, size_t member, double now);

/* flushpool: WARM -> COLD with END_SESSION; BUSY -> MARKED; never interrupts. */
int gw_sam_flush(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts);
/* resetpool: every member -> COLD; one INTERRUPT per live session, which means: interrupt its
 * running work and end it. */
int gw_sam_reset(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts);
/* warmpool: START_SESSION for every COLD member (the caller reports success with
 * gw_sam_session_started); *count = how many were asked for. */
int gw_sam_warm(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts, size_t *count);
/* Time passes: WARM idle past idle_seconds -> COLD with END_SESSION; RESERVED past its hold ->
 * COLD. */
int gw_sam_tick(gw_sam_group *g, double now, gw_sam_action *acts, size_t *nacts);

size_t gw_sam_count_free(const gw_sam_group *g); /* COLD + WARM */
const char *gw_sam_state_name(gw_sam_state s);   /* "COLD", "WARM", ... */

/* Invariants (used in assert): every state valid, no RESERVED member has a session. */
int gw_sam_check(const gw_sam_group *g);

#endif
