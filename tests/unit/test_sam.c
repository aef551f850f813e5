/*
 * test_sam: unit test of the SAM pool state machine (runtime/gateway/sam.c). A standalone
 * program: drives the machine with an explicit clock, checks every transition, then runs a
 * randomized property test. Prints one line per check group and "N passed, M failed".
 */
#include "check.h"
#include "sam.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void group_begin(void)
{
  group_failed = 0;
}

static void group_end(const char *name)
{
  printf("%-28s %s\n", name, group_failed ? "FAILED" : "ok");
}

enum { N = 4 };
static const double RESERVE = 60, IDLE = 300;

static void setup(gw_sam_group *g, size_t n)
{
  int rc = gw_sam_group_init(g, "g1", "owner1", n, RESERVE, IDLE);
  if (rc != 0) {
    fprintf(stderr, "gw_sam_group_init failed: %d\n", rc);
    exit(2);
  }
}

static gw_sam_state st(const gw_sam_group *g, size_t i)
{
  return g->members[i].state;
}

/* Hand out, log in and release: leaves some member WARM; returns which. */
static size_t make_warm(gw_sam_group *g, double now)
{
  size_t m = 99, nacts = 9;
  gw_sam_action acts[N];
  CHECK(gw_sam_getuid(g, now, &m) == 0);
  gw_sam_session_started(g, m, now);
  CHECK(gw_sam_reluid(g, m, now, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(g, m) == GW_SAM_WARM);
  return m;
}

static void test_init(void)
{
  gw_sam_group g;
  group_begin();
  setup(&g, N);
  CHECK(strcmp(g.gid, "g1") == 0 && strcmp(g.owner, "owner1") == 0);
  CHECK(g.nmembers == N && g.reserve_seconds == RESERVE && g.idle_seconds == IDLE);
  CHECK(strcmp(g.members[0].uid, "g1_0") == 0 && strcmp(g.members[3].uid, "g1_3") == 0);
  int all_cold = 1;
  for (size_t i = 0; i < N; i++)
    all_cold &= st(&g, i) == GW_SAM_COLD && !g.members[i].has_session && g.members[i].handouts == 0;
  CHECK(all_cold);
  CHECK(gw_sam_count_free(&g) == N);
  CHECK(gw_sam_check(&g) == 1);

  CHECK(gw_sam_find(&g, "g1_0") == 0);
  CHECK(gw_sam_find(&g, "g1_3") == 3);
  CHECK(gw_sam_find(&g, "g1_4") == GW_SAM_ERR_MEMBER);
  CHECK(gw_sam_find(&g, "owner1") == GW_SAM_ERR_MEMBER);
  CHECK(gw_sam_find(&g, "g1") == GW_SAM_ERR_MEMBER);

  CHECK(strcmp(gw_sam_state_name(GW_SAM_COLD), "COLD") == 0);
  CHECK(strcmp(gw_sam_state_name(GW_SAM_WARM), "WARM") == 0);
  CHECK(strcmp(gw_sam_state_name(GW_SAM_BUSY), "BUSY") == 0);
  CHECK(strcmp(gw_sam_state_name(GW_SAM_MARKED), "MARKED") == 0);
  CHECK(strcmp(gw_sam_state_name(GW_SAM_RESERVED), "RESERVED") == 0);

  /* gw_sam_check catches what it promises to. */
  g.members[1].state = GW_SAM_RESERVED;
  g.members[1].has_session = 1;
  CHECK(gw_sam_check(&g) == 0);
  g.members[1].has_session = 0;
  CHECK(gw_sam_check(&g) == 1);
  g.members[1].state = (gw_sam_state)42;
  CHECK(gw_sam_check(&g) == 0);
  g.members[1].state = GW_SAM_COLD;

  gw_sam_group_free(&g);
  CHECK(g.gid == NULL && g.owner == NULL && g.members == NULL && g.nmembers == 0);
  gw_sam_group_free(&g); /* twice is harmless */
  gw_sam_group z;
  memset(&z, 0, sizeof z);
  gw_sam_group_free(&z); /* so is a zeroed struct */

  /* An empty group is valid and always busy. */
  size_t m;
  setup(&g, 0);
  CHECK(gw_sam_getuid(&g, 1, &m) == GW_SAM_ERR_BUSY);
  gw_sam_group_free(&g);
  group_end("init/find/free/names");
}

static void test_getuid(void)
{
  gw_sam_group g;
  size_t m = 99;
  group_begin();
  setup(&g, N);

  /* All COLD with equal since: lowest index first. */
  CHECK(gw_sam_getuid(&g, 10, &m) == 0 && m == 0);
  CHECK(st(&g, 0) == GW_SAM_BUSY && g.members[0].handouts == 1);
  CHECK(g.members[0].since == 10 && g.members[0].last_used == 10);
  CHECK(gw_sam_count_free(&g) == N - 1);

  /* Make 2 WARM at t=20, then 1 WARM at t=30 (via the login path on a COLD member). */
  gw_sam_session_started(&g, 2, 20);
  CHECK(st(&g, 2) == GW_SAM_WARM && g.members[2].since == 20);
  gw_sam_session_started(&g, 1, 30);
  CHECK(st(&g, 1) == GW_SAM_WARM);

  /* WARM preferred over COLD (3 is COLD and has smaller since), the longest-WARM first. */
  CHECK(gw_sam_getuid(&g, 40, &m) == 0 && m == 2);
  CHECK(st(&g, 2) == GW_SAM_BUSY && g.members[2].has_session);
  CHECK(gw_sam_getuid(&g, 41, &m) == 0 && m == 1);
  CHECK(gw_sam_getuid(&g, 42, &m) == 0 && m == 3);
  CHECK(gw_sam_count_free(&g) == 0);

  /* COLD members: the one COLD longest first. */
  gw_sam_action acts[N];
  size_t nacts;
  gw_sam_reluid(&g, 3, 50, acts, &nacts); /* 3 COLD since 50 */
  gw_sam_reluid(&g, 0, 45, acts, &nacts); /* 0 COLD since 45 */
  CHECK(st(&g, 3) == GW_SAM_COLD && st(&g, 0) == GW_SAM_COLD);
  CHECK(gw_sam_getuid(&g, 60, &m) == 0 && m == 0);
  CHECK(g.members[0].handouts == 2);
  CHECK(gw_sam_check(&g));
  gw_sam_group_free(&g);
  group_end("getuid prefers WARM");
}

static void test_full(void)
{
  gw_sam_group g;
  size_t m, seen = 0;
  group_begin();
  setup(&g, N);
  for (size_t i = 0; i < N; i++) {
    CHECK(gw_sam_getuid(&g, 1, &m) == 0);
    seen |= (size_t)1 << m;
  }
  CHECK(seen == (1u << N) - 1); /* each handed out once */
  m = 77;
  CHECK(gw_sam_getuid(&g, 2, &m) == GW_SAM_ERR_BUSY);
  CHECK(m == 77); /* untouched on error */
  /* MARKED and RESERVED members are not free either. */
  gw_sam_action acts[N];
  size_t nacts;
  gw_sam_flush(&g, 3, acts, &nacts);
  CHECK(gw_sam_getuid(&g, 4, &m) == GW_SAM_ERR_BUSY);
  gw_sam_session_started(&g, 0, 5);
  gw_sam_session_ended(&g, 0, 6, 1);
  CHECK(st(&g, 0) == GW_SAM_RESERVED);
  CHECK(gw_sam_getuid(&g, 7, &m) == GW_SAM_ERR_BUSY);
  CHECK(gw_sam_count_free(&g) == 0);
  gw_sam_group_free(&g);
  group_end("pool full -> ERR_BUSY");
}

static void test_reluid(void)
{
  gw_sam_group g;
  gw_sam_action acts[N];
  size_t m, nacts;
  group_begin();
  setup(&g, N);

  /* BUSY without session -> COLD. */
  gw_sam_getuid(&g, 1, &m);
  nacts = 9;
  CHECK(gw_sam_reluid(&g, m, 2, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_COLD && g.members[m].since == 2);

  /* BUSY with session -> WARM. */
  gw_sam_getuid(&g, 3, &m);
  gw_sam_session_started(&g, m, 3);
  CHECK(st(&g, m) == GW_SAM_BUSY && g.members[m].has_session);
  CHECK(gw_sam_reluid(&g, m, 4, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_WARM && g.members[m].has_session);

  /* WARM and COLD: unchanged, no action. */
  CHECK(gw_sam_reluid(&g, m, 5, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_WARM && g.members[m].since == 4);
  CHECK(gw_sam_reluid(&g, 3, 5, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, 3) == GW_SAM_COLD);

  /* MARKED with session -> COLD + END_SESSION; the caller's session_ended is harmless. */
  size_t w = m;
  gw_sam_getuid(&g, 6, &m);
  CHECK(m == w);
  gw_sam_flush(&g, 7, acts, &nacts);
  CHECK(st(&g, m) == GW_SAM_MARKED);
  CHECK(gw_sam_reluid(&g, m, 8, acts, &nacts) == 0);
  CHECK(nacts == 1 && acts[0].kind == GW_SAM_END_SESSION && acts[0].member == m);
  CHECK(st(&g, m) == GW_SAM_COLD && !g.members[m].has_session);
  gw_sam_session_ended(&g, m, 9, 0);
  CHECK(st(&g, m) == GW_SAM_COLD && !g.members[m].has_session);
  gw_sam_session_ended(&g, m, 9, 1);
  CHECK(st(&g, m) == GW_SAM_COLD);

  /* MARKED without session -> COLD, no action. */
  gw_sam_getuid(&g, 10, &m);
  gw_sam_flush(&g, 11, acts, &nacts);
  CHECK(st(&g, m) == GW_SAM_MARKED);
  CHECK(gw_sam_reluid(&g, m, 12, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_COLD);

  /* RESERVED -> COLD. */
  gw_sam_getuid(&g, 13, &m);
  gw_sam_session_started(&g, m, 13);
  gw_sam_session_ended(&g, m, 14, 1);
  CHECK(st(&g, m) == GW_SAM_RESERVED);
  CHECK(gw_sam_reluid(&g, m, 15, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_COLD && g.members[m].reserved_until == 0);

  /* Not a member. */
  nacts = 9;
  CHECK(gw_sam_reluid(&g, N, 16, acts, &nacts) == GW_SAM_ERR_MEMBER && nacts == 0);
  CHECK(gw_sam_check(&g));
  gw_sam_group_free(&g);
  group_end("reluid");
}

static void test_sessions(void)
{
  gw_sam_group g;
  gw_sam_action acts[N];
  size_t m, nacts;
  group_begin();
  setup(&g, N);

  /* Login on COLD -> WARM. */
  gw_sam_session_started(&g, 0, 5);
  CHECK(st(&g, 0) == GW_SAM_WARM && g.members[0].has_session && g.members[0].last_used == 5);
  /* WARM session ends, either way -> COLD. */
  gw_sam_session_ended(&g, 0, 6, 0);
  CHECK(st(&g, 0) == GW_SAM_COLD && !g.members[0].has_session);
  gw_sam_session_started(&g, 0, 7);
  gw_sam_session_ended(&g, 0, 8, 1);
  CHECK(st(&g, 0) == GW_SAM_COLD && !g.members[0].has_session);

  /* BUSY: session ended not by logout keeps the ID with its holder. */
  gw_sam_getuid(&g, 10, &m);
  gw_sam_session_started(&g, m, 10);
  gw_sam_session_ended(&g, m, 11, 0);
  CHECK(st(&g, m) == GW_SAM_BUSY && !g.members[m].has_session);
  /* ... a new login keeps it BUSY. */
  gw_sam_session_started(&g, m, 12);
  CHECK(st(&g, m) == GW_SAM_BUSY && g.members[m].has_session && g.members[m].last_used == 12);

  /* Logout without reluid -> RESERVED until now + reserve_seconds. */
  gw_sam_session_ended(&g, m, 20, 1);
  CHECK(st(&g, m) == GW_SAM_RESERVED && !g.members[m].has_session);
  CHECK(g.members[m].reserved_until == 20 + RESERVE);
  CHECK(gw_sam_count_free(&g) == N - 1);
  /* tick before the hold ends: still RESERVED; at/after it: COLD, no action. */
  CHECK(gw_sam_tick(&g, 20 + RESERVE - 1, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_RESERVED);
  CHECK(gw_sam_tick(&g, 20 + RESERVE + 1, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, m) == GW_SAM_COLD && g.members[m].reserved_until == 0);

  /* MARKED: end not by logout stays MARKED; logout -> RESERVED. */
  gw_sam_getuid(&g, 100, &m);
  gw_sam_session_started(&g, m, 100);
  gw_sam_flush(&g, 101, acts, &nacts);
  gw_sam_session_ended(&g, m, 102, 0);
  CHECK(st(&g, m) == GW_SAM_MARKED && !g.members[m].has_session);
  gw_sam_session_started(&g, m, 103);
  gw_sam_session_ended(&g, m, 104, 1);
  CHECK(st(&g, m) == GW_SAM_RESERVED && g.members[m].reserved_until == 104 + RESERVE);

  /* The holder logs in again within the hold: BUSY again, same handouts. */
  unsigned long h = g.members[m].handouts;
  gw_sam_session_started(&g, m, 110);
  CHECK(st(&g, m) == GW_SAM_BUSY && g.members[m].has_session && g.members[m].handouts == h);
  CHECK(g.members[m].reserved_until == 0);

  /* touch updates last_used only. */
  gw_sam_touch(&g, m, 120);
  CHECK(g.members[m].last_used == 120 && st(&g, m) == GW_SAM_BUSY);

  /* Out-of-range indices are ignored. */
  gw_sam_session_started(&g, N, 1);
  gw_sam_session_ended(&g, N, 1, 1);
  gw_sam_touch(&g, N, 1);
  CHECK(gw_sam_check(&g));
  gw_sam_group_free(&g);
  group_end("session start/end/touch");
}

static void test_idle(void)
{
  gw_sam_group g;
  gw_sam_action acts[N];
  size_t nacts;
  group_begin();
  setup(&g, N);
  gw_sam_session_started(&g, 1, 0);
  gw_sam_session_started(&g, 2, 0);
  gw_sam_touch(&g, 2, 100);
  CHECK(gw_sam_tick(&g, IDLE - 1, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, 1) == GW_SAM_WARM);
  CHECK(gw_sam_tick(&g, IDLE, acts, &nacts) == 0);
  CHECK(nacts == 1 && acts[0].kind == GW_SAM_END_SESSION && acts[0].member == 1);
  CHECK(st(&g, 1) == GW_SAM_COLD && !g.members[1].has_session);
  CHECK(st(&g, 2) == GW_SAM_WARM);
  gw_sam_session_ended(&g, 1, IDLE, 0); /* the caller reports it: harmless */
  CHECK(st(&g, 1) == GW_SAM_COLD);
  CHECK(gw_sam_tick(&g, 100 + IDLE, acts, &nacts) == 0);
  CHECK(nacts == 1 && acts[0].member == 2 && st(&g, 2) == GW_SAM_COLD);

  /* BUSY members never time out here. */
  size_t m;
  gw_sam_getuid(&g, 1000, &m);
  gw_sam_session_started(&g, m, 1000);
  CHECK(gw_sam_tick(&g, 1e9, acts, &nacts) == 0 && nacts == 0 && st(&g, m) == GW_SAM_BUSY);
  gw_sam_group_free(&g);

  /* idle_seconds <= 0: never. */
  CHECK(gw_sam_group_init(&g, "g2", "o", 2, RESERVE, 0) == 0);
  gw_sam_session_started(&g, 0, 0);
  CHECK(gw_sam_tick(&g, 1e9, acts, &nacts) == 0 && nacts == 0 && st(&g, 0) == GW_SAM_WARM);
  g.idle_seconds = -5;
  CHECK(gw_sam_tick(&g, 1e9, acts, &nacts) == 0 && nacts == 0 && st(&g, 0) == GW_SAM_WARM);
  gw_sam_group_free(&g);
  group_end("idle timeout");
}

static void test_flush(void)
{
  gw_sam_group g;
  gw_sam_action acts[N];
  size_t m, nacts;
  group_begin();
  setup(&g, N);
  /* 0 BUSY with session, 1 BUSY without, 2 WARM, 3 RESERVED. */
  gw_sam_getuid(&g, 1, &m); /* 0 */
  gw_sam_getuid(&g, 1, &m); /* 1 */
  gw_sam_getuid(&g, 1, &m); /* 2 */
  gw_sam_getuid(&g, 1, &m); /* 3 */
  gw_sam_session_started(&g, 0, 2);
  gw_sam_session_started(&g, 2, 2);
  gw_sam_reluid(&g, 2, 3, acts, &nacts);
  gw_sam_session_started(&g, 3, 2);
  gw_sam_session_ended(&g, 3, 3, 1);
  CHECK(st(&g, 0) == GW_SAM_BUSY && st(&g, 1) == GW_SAM_BUSY && st(&g, 2) == GW_SAM_WARM &&
        st(&g, 3) == GW_SAM_RESERVED);

  CHECK(gw_sam_flush(&g, 5, acts, &nacts) == 0);
  CHECK(nacts == 1 && acts[0].kind == GW_SAM_END_SESSION && acts[0].member == 2);
  CHECK(st(&g, 0) == GW_SAM_MARKED && g.members[0].has_session);
  CHECK(st(&g, 1) == GW_SAM_MARKED);
  CHECK(st(&g, 2) == GW_SAM_COLD && !g.members[2].has_session);
  CHECK(st(&g, 3) == GW_SAM_RESERVED);

  /* Again: MARKED, COLD, RESERVED unchanged; never an INTERRUPT. */
  CHECK(gw_sam_flush(&g, 6, acts, &nacts) == 0 && nacts == 0);
  CHECK(st(&g, 0) == GW_SAM_MARKED && st(&g, 1) == GW_SAM_MARKED && st(&g, 2) == GW_SAM_COLD &&
        st(&g, 3) == GW_SAM_RESERVED);
  CHECK(gw_sam_check(&g));
  gw_sam_group_free(&g);
  group_end("flush");
}

static void test_reset(void)
{
  gw_sam_group g;
  gw_sam_action acts[N];
  size_t m, nacts;
  group_begin();
  setup(&g, N);
  /* 0 BUSY with session, 1 MARKED with session, 2 WARM, 3 RESERVED. */
  for (int i = 0; i < N; i++) gw_sam_getuid(&g, 1, &m);
  gw_sam_session_started(&g, 1, 2);
  gw_sam_flush(&g, 2, acts, &nacts);     /* all MARKED */
  gw_sam_reluid(&g, 0, 3, acts, &nacts); /* 0 COLD, the only free one */
  gw_sam_getuid(&g, 4, &m);
  CHECK(m == 0);
  gw_sam_session_started(&g, 0, 4);      /* 0 BUSY with session */
  gw_sam_reluid(&g, 2, 5, acts, &nacts); /* MARKED without session -> COLD */
  gw_sam_session_started(&g, 2, 5);      /* COLD -> WARM */
  gw_sam_session_started(&g, 3, 5);
  gw_sam_session_ended(&g, 3, 6, 1); /* MARKED logout -> RESERVED */
  CHECK(st(&g, 0) == GW_SAM_BUSY && st(&g, 1) == GW_SAM_MARKED && st(&g, 2) == GW_SAM_WARM &&
        st(&g, 3) == GW_SAM_RESERVED);

  CHECK(gw_sam_reset(&g, 10, acts, &nacts) == 0);
  CHECK(nacts == 3);
  int kinds_ok = 1;
  size_t seen = 0;
  for (size_t i = 0; i < nacts; i++) {
    kinds_ok &= acts[i].kind == GW_SAM_INTERRUPT;
    seen |= (size_t)1 << acts[i].member;
  }
  CHECK(kinds_ok && seen == 0x7); /* one INTERRUPT for each of 0, 1, 2 */
  int all_cold = 1;
  for (size_t i = 0; i < N; i++)
    all_cold &=
        st(&g, i) == GW_SAM_COLD && !g.members[i].has_session && g.members[i].reserved_until == 0;
  CHECK(all_cold);
  CHECK(gw_sam_count_free(&g) == N);
  /* The caller reports the sessions ended: harmless. */
  for (size_t i = 0; i < nacts; i++) gw_sam_session_ended(&g, acts[i].member, 11, 0);
  CHECK(gw_sam_count_free(&g) == N);
  /* Nothing live: no actions. */
  CHECK(gw_sam_reset(&g, 12, acts, &nacts) == 0 && nacts == 0);
  gw_sam_group_free(&g);
  group_end("reset");
}

static void test_warm(void)
{
  gw_sam_group g;
  gw_sam_action acts[N];
  size_t m, nacts, count = 99;
  group_begin();
  setup(&g, N);
  size_t w = make_warm(&g, 1); /* one WARM */
  gw_sam_getuid(&g, 2, &m);    /* takes the WARM one */
  CHECK(m == w);
  gw_sam_getuid(&g, 2, &m); /* and a COLD one: 2 BUSY, 2 COLD */
  CHECK(gw_sam_warm(&g, 3, acts, &nacts, &count) == 0);
  CHECK(count == 2 && nacts == 2);
  CHECK(acts[0].kind == GW_SAM_START_SESSION && acts[1].kind == GW_SAM_START_SESSION);
  CHECK(st(&g, acts[0].member) == GW_SAM_COLD && st(&g, acts[1].member) == GW_SAM_COLD);
  /* The first start succeeds, the second fails: that one stays COLD. */
  gw_sam_session_started(&g, acts[0].member, 4);
  CHECK(st(&g, acts[0].member) == GW_SAM_WARM);
  CHECK(st(&g, acts[1].member) == GW_SAM_COLD);
  CHECK(gw_sam_warm(&g, 5, acts, &nacts, &count) == 0 && count == 1 && nacts == 1);
  gw_sam_session_started(&g, acts[0].member, 6);
  CHECK(gw_sam_warm(&g, 7, acts, &nacts, &count) == 0 && count == 0 && nacts == 0);
  CHECK(gw_sam_count_free(&g) == 2);
  gw_sam_group_free(&g);
  group_end("warm");
}

/* The assertions must stop the process in every build: corrupt a group and watch it abort. */
static void test_asserts(void)
{
  group_begin();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stderr)) _exit(3);
    gw_sam_group g;
    setup(&g, 2);
    g.members[0].state = GW_SAM_RESERVED;
    g.members[0].has_session = 1;
    gw_sam_touch(&g, 1, 1); /* gw_sam_check fails -> abort */
    _exit(0);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  group_end("assertions abort");
}

/* xorshift64*: small, fixed-seed, the same sequence everywhere. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

enum { PN = 5, OPS = 200000 };
static int pfail;
#define PCHECK(cond)                                                                               \
  do {                                                                                             \
    if (!(cond) && pfail++ < 10)                                                                   \
      fprintf(stderr, "%s:%d: op %d: property failed: %s\n", __FILE__, __LINE__, op, #cond);       \
  } while (0)

/* Carry out the actions as the gateway would, checking they are well formed. */
static void perform(gw_sam_group *g, const gw_sam_action *acts, size_t nacts, double now, int op,
                    int *ends_seen)
{
  unsigned seen = 0;
  PCHECK(nacts <= g->nmembers);
  for (size_t i = 0; i < nacts; i++) {
    size_t m = acts[i].member;
    PCHECK(m < g->nmembers && !(seen & (1u << m)));
    seen |= 1u << m;
    PCHECK(acts[i].kind != GW_SAM_START_SESSION);
    if (m >= g->nmembers) continue;
    /* END_SESSION and INTERRUPT leave a free member with no session. */
    PCHECK(g->members[m].state == GW_SAM_COLD && !g->members[m].has_session);
    gw_sam_session_ended(g, m, now, 0);
    (*ends_seen)++;
  }
}

static void test_property(void)
{
  gw_sam_group g;
  gw_sam_action acts[PN];
  size_t nacts, count, m;
  int held[PN] = {0};
  int handouts = 0, busy_errs = 0, reserved_seen = 0, marked_ends = 0, ends = 0;
  double now = 0;
  group_begin();
  pfail = 0;
  CHECK(gw_sam_group_init(&g, "p", "o", PN, 30, 100) == 0);
  for (int op = 0; op < OPS; op++) {
    now += rnd(11);
    size_t r = rnd(PN);
    gw_sam_member before[PN];
    memcpy(before, g.members, sizeof before);
    switch (rnd(20)) {
    case 0:
    case 1:
    case 2:
    case 3: { /* getuid */
      size_t nfree = gw_sam_count_free(&g), nwarm = 0;
      double oldest_warm = 0;
      for (size_t i = 0; i < PN; i++)
        if (before[i].state == GW_SAM_WARM && (nwarm++ == 0 || before[i].since < oldest_warm))
          oldest_warm = before[i].since;
      m = 99;
      int rc = gw_sam_getuid(&g, now, &m);
      if (nfree == 0) {
        PCHECK(rc == GW_SAM_ERR_BUSY);
        busy_errs++;
        break;
      }
      PCHECK(rc == 0 && m < PN);
      if (rc != 0 || m >= PN) break;
      /* The point of it all: never hand out a member someone holds. */
      PCHECK(before[m].state == GW_SAM_COLD || before[m].state == GW_SAM_WARM);
      PCHECK(!held[m]);
      PCHECK(nwarm == 0 || (before[m].state == GW_SAM_WARM && before[m].since == oldest_warm));
      PCHECK(g.members[m].state == GW_SAM_BUSY);
      PCHECK(g.members[m].handouts == before[m].handouts + 1);
      held[m] = 1;
      handouts++;
      break;
    }
    case 4:
    case 5:
    case 6: /* reluid, mostly by the holder */
      if (rnd(4) && held[r] == 0)
        for (size_t i = 0; i < PN; i++)
          if (held[i]) r = i;
      PCHECK(gw_sam_reluid(&g, r, now, acts, &nacts) == 0);
      if (before[r].state == GW_SAM_MARKED && before[r].has_session) {
        PCHECK(nacts == 1 && acts[0].kind == GW_SAM_END_SESSION);
        marked_ends++;
      } else {
        PCHECK(nacts == 0);
      }
      perform(&g, acts, nacts, now, op, &ends);
      break;
    case 7:
    case 8:
    case 9: /* login */
      gw_sam_session_started(&g, r, now);
      PCHECK(g.members[r].has_session);
      break;
    case 10:
    case 11: { /* logout or kill */
      int by_logout = (int)rnd(2);
      gw_sam_session_ended(&g, r, now, by_logout);
      if (by_logout && (before[r].state == GW_SAM_BUSY || before[r].state == GW_SAM_MARKED)) {
        PCHECK(g.members[r].state == GW_SAM_RESERVED);
        reserved_seen++;
      }
      break;
    }
    case 12:
    case 13: /* a request on the session */
      gw_sam_touch(&g, r, now);
      break;
    case 14:
      PCHECK(gw_sam_flush(&g, now, acts, &nacts) == 0);
      for (size_t i = 0; i < nacts; i++) PCHECK(acts[i].kind == GW_SAM_END_SESSION);
      perform(&g, acts, nacts, now, op, &ends);
      break;
    case 15:
      if (rnd(10) == 0) { /* rare: it empties the pool */
        PCHECK(gw_sam_reset(&g, now, acts, &nacts) == 0);
        for (size_t i = 0; i < nacts; i++) PCHECK(acts[i].kind == GW_SAM_INTERRUPT);
        perform(&g, acts, nacts, now, op, &ends);
      }
      break;
    case 16:
    case 17: { /* warmpool, some starts fail */
      PCHECK(gw_sam_warm(&g, now, acts, &nacts, &count) == 0 && count == nacts);
      for (size_t i = 0; i < nacts; i++) {
        PCHECK(acts[i].kind == GW_SAM_START_SESSION && acts[i].member < PN);
        if (acts[i].member < PN && rnd(4)) gw_sam_session_started(&g, acts[i].member, now);
      }
      break;
    }
    default:
      PCHECK(gw_sam_tick(&g, now, acts, &nacts) == 0);
      for (size_t i = 0; i < nacts; i++) PCHECK(acts[i].kind == GW_SAM_END_SESSION);
      perform(&g, acts, nacts, now, op, &ends);
      break;
    }
    /* Invariants after every operation, including ones stronger than gw_sam_check. */
    PCHECK(gw_sam_check(&g));
    size_t nfree = 0;
    for (size_t i = 0; i < PN; i++) {
      const gw_sam_member *x = &g.members[i];
      if (x->state == GW_SAM_COLD || x->state == GW_SAM_WARM) {
        nfree++;
        held[i] = 0; /* released, reset or expired: nobody holds it any more */
      }
      PCHECK(x->state != GW_SAM_WARM || x->has_session);
      PCHECK(x->state != GW_SAM_COLD || !x->has_session);
      PCHECK(x->state == GW_SAM_RESERVED || x->reserved_until == 0);
      PCHECK(x->state != GW_SAM_RESERVED || x->reserved_until > x->since - 1e-9);
      PCHECK(x->handouts >= before[i].handouts);
    }
    PCHECK(nfree == gw_sam_count_free(&g));
  }
  CHECK(pfail == 0);
  /* The walk reached the interesting corners. */
  CHECK(handouts > 1000 && busy_errs > 100 && reserved_seen > 100 && marked_ends > 10 &&
        ends > 1000);
  unsigned long total = 0;
  for (size_t i = 0; i < PN; i++) total += g.members[i].handouts;
  CHECK(total == (unsigned long)handouts);
  gw_sam_group_free(&g);
  printf("  (%d ops: %d handouts, %d busy, %d reserved, %d marked ends, %d ends)\n", OPS, handouts,
         busy_errs, reserved_seen, marked_ends, ends);
  group_end("random 200k ops, group of 5");
}

int main(void)
{
  test_init();
  test_getuid();
  test_full();
  test_reluid();
  test_sessions();
  test_idle();
  test_flush();
  test_reset();
  test_warm();
  test_asserts();
  test_property();
  return check_report();
}
