/*
 * test_buf: unit tests of the gateway's text buffer (buf.c), here the number formatting every
 * page goes through: gw_buf_double (runtime/common/number.c's tt_double_text, which the
 * client's JSON writer uses too) must print, fast path for values with few decimals or not,
 * exactly what the library's shortest %.15g/%.16g/%.17g form prints, for every kind of double.
 * Standalone: prints a line per group and ends with "N passed, M failed".
 */
#include "buf.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference: the shortest of %.15g/%.16g/%.17g that reads back as v. */
static void reference(double v, char *out, size_t cap)
{
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec, v);
    if (strtod(out, NULL) == v) return;
  }
}

static uint64_t seed = 12345;
static uint64_t next(void)
{
  seed = seed * 6364136223846793005ull + 1442695040888963407ull;
  return seed >> 11;
}

/* One value: formatted both ways, and read back. Counts a check only on a mismatch (or every
 * 1000th value), so a run of millions stays quiet. */
static int mismatches;
static void one(gw_buf *b, double v)
{
  char want[40];
  gw_buf_reset(b);
  gw_buf_double(b, v);
  reference(v, want, sizeof want);
  int ok = b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
  if (!ok && mismatches++ < 10)
    fprintf(stderr, "    %.17g: got '%.*s', want '%s'\n", v, (int)b->len, b->data, want);
  if (!ok) CHECK(ok);
}

static void test_doubles(void)
{
  int p0 = passed, f0 = failed;
  gw_buf b = {0};
  static const double fixed[] = {0.0,
                                 -0.0,
                                 1.0,
                                 -1.0,
                                 0.5,
                                 0.1,
                                 0.3,
                                 23.4,
                                 -0.25,
                                 100.0,
                                 1e14,
                                 1e15,
                                 1e16,
                                 9.5e14,
                                 999999999999999.9,
                                 0.0001,
                                 0.00001,
                                 1e-5,
                                 1e300,
                                 -1e300,
                                 5e-324,
                                 0.1 + 0.2,
                                 2.675,
                                 1.005,
                                 4503599627370496.5,
                                 9007199254740993.0,
                                 123456789012345.6,
                                 -99999.9999,
                                 0.30000000000000004,
                                 1e22,
                                 2.5e-5};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) one(&b, fixed[i]);
  /* values with 0 to 6 decimals and up to 16 digits: the fast path's ground and its edges */
  for (int i = 0; i < 2000000; i++) {
    int k = (int)(next() % 7);
    int digits = 1 + (int)(next() % 16);
    double m = (double)(next() % (uint64_t)pow(10, digits));
    double v = m / pow(10, k);
    if (next() & 1) v = -v;
    one(&b, v);
  }
  /* any bit pattern that is a finite double */
  for (int i = 0; i < 300000; i++) {
    uint64_t bits = next() << 11 ^ next();
    double v;
    memcpy(&v, &bits, sizeof v);
    if (isfinite(v)) one(&b, v);
  }
  CHECK(mismatches == 0);
  gw_buf_free(&b);
  printf("%-28s %3d checks, %s\n", "doubles", passed + failed - p0 - f0,
         failed == f0 ? "ok" : "FAILED");
}

int main(void)
{
  test_doubles();
  return check_report();
}
