/* number: see number.h. */
#include "number.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t tt_double_text(double v, char *buf)
{
  /* Most values have a few decimals (a temperature, a price): m = v x 10^k is a whole number
   * for a small k. The text "m with k decimals" then reads back as m / 10^k, an exact
   * division correctly rounded, so when that equals v it is what %.15g would print (v is
   * within half an ulp of that text, far inside %.15g's rounding), without snprintf and
   * strtod, which were a third of the gateway's cost for a page. */
  static const double scale[] = {1, 10, 100, 1000, 10000};
  char tmp[TT_DOUBLE_TEXT];
  for (int k = 0; k < 5; k++) {
    double m = v * scale[k];
    if (fabs(m) >= 1e15 || m != floor(m) || m / scale[k] != v) continue;
    char *p = tmp + sizeof tmp;
    uint64_t u = (uint64_t)fabs(m);
    int decimals = k;
    while (decimals && u % 10 == 0) { /* 23.40 is 23.4, as %g prints it */
      u /= 10;
      decimals--;
    }
    for (int d = 0; d < decimals; d++) {
      *--p = (char)('0' + u % 10);
      u /= 10;
    }
    if (decimals) *--p = '.';
    do {
      *--p = (char)('0' + u % 10);
      u /= 10;
    } while (u);
    if (signbit(v)) *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return n;
  }
  int len = 0;
  for (int prec = 15; prec <= 17; prec++) {
    len = snprintf(buf, TT_DOUBLE_TEXT, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return len > 0 ? (size_t)len : 0;
}
