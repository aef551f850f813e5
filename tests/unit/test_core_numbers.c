/*
 * test_core_numbers: the number readers of page.c (tt_page_cell_double, tt_page_cell_int),
 * which read a cell's text without strtod where that is provably exact. Their answers must be
 * strtod's and strtoll's: fixed edge cases and 200,000 random decimals.
 * Prints a line per group and "N passed, M failed"; exits nonzero when anything failed.
 */
#include "check.h"
#include "page.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void group(const char *name, int p0, int f0)
{
  printf("%-28s %4d checks, %s\n", name, passed + failed - p0 - f0, failed == f0 ? "ok" : "FAILED");
}

/* A fixed-seed generator: the same numbers every run. */
static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return (uint32_t)(seed % n);
}

static int strtod_way(const char *s, size_t n, double *v)
{
  char tmp[64];
  if (n == 0 || n >= sizeof tmp || s[0] == ' ') return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  *v = strtod(tmp, &end);
  return *end == '\0';
}

static void test_numbers(void)
{
  int p0 = passed, f0 = failed;
  static const char *const fixed[] = {
      "0",
      "-0",
      "+0",
      "1.5",
      "-4.6",
      "1e-05",
      "1E5",
      "1e22",
      "1e23",
      "1e-22",
      "1e-23",
      ".5",
      "5.",
      ".",
      "-",
      "+",
      "1e",
      "1e+",
      "0x10",
      "inf",
      "nan",
      "-inf",
      "9007199254740992",
      "9007199254740993",
      "0.30000000000000004",
      "123456789012345678",
      "1,5",
      "1.5 ",
      "1..5",
      "1e5.5",
      "00012.50",
      "-0.0",
      "1e0000",
      "1e00001",
      "4.35",
      "0.1",
      "0.7",
      "2.675",
      "1.005",
      "99999999999999.99",
      "-12345678901234.5",
  };
  int bad = 0;
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
    double a = 0, b = 0;
    int ra = tt_page_cell_double(fixed[k], strlen(fixed[k]), &a);
    int rb = strtod_way(fixed[k], strlen(fixed[k]), &b);
    int same = ra == rb && (!ra || memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)));
    if (!CHECK(same)) fprintf(stderr, "    '%s': %d %.17g vs %d %.17g\n", fixed[k], ra, a, rb, b);
  }
  /* random decimals of every length, point and exponent */
  for (int k = 0; k < 200000 && bad < 5; k++) {
    char s[40];
    int n = 0;
    if (rnd(3) == 0) s[n++] = '-';
    int digits = 1 + (int)rnd(19), point = (int)rnd((uint32_t)digits + 2);
    for (int d = 0; d < digits; d++) {
      if (d == point) s[n++] = '.';
      s[n++] = (char)('0' + rnd(10));
    }
    if (rnd(5) == 0) n += snprintf(s + n, sizeof s - (size_t)n, "e%d", (int)rnd(60) - 30);
    s[n] = '\0';
    double a = 0, b = 0;
    int ra = tt_page_cell_double(s, (size_t)n, &a), rb = strtod_way(s, (size_t)n, &b);
    if (!(ra == rb && (!ra || memcmp(&a, &b, sizeof a) == 0))) {
      bad++;
      fprintf(stderr, "    '%s': %d %.17g vs strtod %d %.17g\n", s, ra, a, rb, b);
    }
  }
  CHECK(bad == 0);
  /* integers: strtoll's answer, range included */
  static const char *const ints[] = {"0",
                                     "-0",
                                     "7",
                                     "-42",
                                     "+5",
                                     "1.0",
                                     "",
                                     "-",
                                     "123456789012345678",
                                     "999999999999999999",
                                     "9223372036854775807",
                                     "9223372036854775808",
                                     "-9223372036854775808",
                                     "-9223372036854775809",
                                     "00000000000000000001"};
  for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
    long long a = 0, b = 0;
    int ra = tt_page_cell_int(ints[k], strlen(ints[k]), &a);
    const char *s = ints[k];
    size_t n = strlen(s), i = s[0] == '-';
    int rb = n > i && n < 32;
    for (size_t j = i; j < n && rb; j++) rb = s[j] >= '0' && s[j] <= '9';
    if (rb) {
      errno = 0;
      b = strtoll(s, NULL, 10);
      rb = errno == 0;
    }
    if (!CHECK(ra == rb && (!ra || a == b)))
      fprintf(stderr, "    '%s': %d %lld vs %d %lld\n", s, ra, a, rb, b);
  }
  group("numbers without strtod", p0, f0);
}

int main(void)
{
  test_numbers();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
