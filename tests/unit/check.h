/* check: the checks of the C unit tests, shared so that every test counts and reports alike.
 * Each test program includes it once; it keeps the counts in statics of that program. A check
 * that fails prints where and what, and counts; the program goes on, then ends with
 * check_report(). */
#ifndef TT_TEST_CHECK_H
#define TT_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int passed, failed;
static int group_failed; /* failures since the last group_failed = 0, for per-group lines */

/* Count one check; detail (may be NULL) is printed under a failure, e.g. an error message. */
static inline int check_detail(int ok, const char *what, const char *file, int line,
                               const char *detail)
{
  if (ok) {
    passed++;
  } else {
    failed++;
    group_failed++;
    fprintf(stderr, "%s:%d: FAILED: %s%s%s\n", file, line, what, detail ? "\n    " : "",
            detail ? detail : "");
  }
  return ok;
}

static inline int check(int ok, const char *what, const char *file, int line)
{
  return check_detail(ok, what, file, line, NULL);
}

#define CHECK(c) check(!!(c), #c, __FILE__, __LINE__)
#define CHECK_STR(a, b)                                                                            \
  do {                                                                                             \
    const char *a_ = (a), *b_ = (b);                                                               \
    if (!check(a_ && b_ && strcmp(a_, b_) == 0, #a " == " #b, __FILE__, __LINE__))                 \
      fprintf(stderr, "    got '%s'\n    want '%s'\n", a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
  } while (0)

/* "N passed, M failed" on stdout; the exit status for main. */
static inline int check_report(void)
{
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

#endif
