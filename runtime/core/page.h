/* page: the rows of one reply, stored compactly: every cell's bytes back to back in one
 * arena, one end offset per cell, one first-cell index per row. No per-cell allocation. */
#ifndef TT_PAGE_H
#define TT_PAGE_H

#include <stddef.h>
#include <string.h>

/* An empty cell is N/A (the wire format has no other spelling for it). Rows may be ragged.
 * The zero value is an empty page; tt_page_free returns a page to it. */
typedef struct tt_page {
  char *text;      /* cell bytes, not NUL-separated */
  size_t len, cap; /* bytes used / allocated in text */
  size_t *ends;    /* ends[k]: offset in text just past cell k */
  size_t ncells, cellcap;
  size_t *rows; /* rows[i]: index of the first cell of row i */
  size_t nrows, rowcap;
  int open_row; /* a row was begun; cells go into it */
} tt_page;

void tt_page_free(tt_page *p);
/* Forget the rows but keep the memory for reuse. */
void tt_page_clear(tt_page *p);

/* Make room for at least this many rows, cells and bytes (an estimate: building still grows
 * the page past it). Untouched room costs address space only. 0 or TT_E_NOMEM. */
int tt_page_reserve(tt_page *p, size_t rows, size_t cells, size_t bytes);

/* Building, in order: begin_row, then per cell any number of add_text and one end_cell. Each
 * returns 0 or TT_E_NOMEM. */
int tt_page_begin_row(tt_page *p);
int tt_page_add_text(tt_page *p, const char *s, size_t n);
int tt_page_end_cell(tt_page *p);
/* The bytes of the cell being built (for callers that must trim them). */
size_t tt_page_open_len(const tt_page *p);
void tt_page_trim_open(tt_page *p, size_t n);

static inline size_t tt_page_nrows(const tt_page *p)
{
  return p->nrows;
}

/* Number of cells in row i and, in *first, the index of its first cell. */
static inline size_t tt_page_row(const tt_page *p, size_t i, size_t *first)
{
  size_t end = i + 1 < p->nrows ? p->rows[i + 1] : p->ncells;
  *first = p->rows[i];
  return end - p->rows[i];
}

/* The bytes of cell k; *len 0 means N/A. Not NUL-terminated. */
static inline const char *tt_page_cell(const tt_page *p, size_t k, size_t *len)
{
  size_t start = k ? p->ends[k - 1] : 0;
  *len = p->ends[k] - start;
  return p->text + start;
}

/* Numbers are read from the cells here, inline, without strtoll or strtod for the common
 * spellings; anything else goes to the C library (the _slow functions), so the answers are
 * always the library's. */
int tt_page_cell_int_slow(const char *s, size_t n, long long *v);
int tt_page_cell_double_slow(const char *s, size_t n, double *v);

/* A cell read as a whole decimal integer in int64 range (1), or not (0). Up to 18 digits
 * cannot overflow: they are read here. */
static inline int tt_page_cell_int(const char *s, size_t n, long long *v)
{
  size_t i = n && s[0] == '-';
  if (n <= i || n - i > 18) return tt_page_cell_int_slow(s, n, v);
  unsigned long long u = 0;
  for (size_t k = i; k < n; k++) {
    unsigned d = (unsigned)(unsigned char)s[k] - '0';
    if (d > 9) return 0;
    u = 10 * u + d;
  }
  *v = i ? -(long long)u : (long long)u;
  return 1;
}

/* A cell read as a double by strtod, the whole text and nothing around it (1), or not (0).
 * The common decimal (sign, digits, point, digits, exponent) is read here when its digits
 * make an integer m <= 2^53 and its exponent e is within 22 of 0: m and 10^|e| are then
 * exact doubles, and one IEEE multiplication or division rounds m * 10^e correctly, which is
 * what strtod returns too. */
static inline int tt_page_cell_double(const char *s, size_t n, double *v)
{
  static const double tens[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const unsigned long long top = 1ull << 53;
  size_t i = 0;
  int neg = 0, digits = 0, scale = 0;
  if (n && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  unsigned long long m = 0;
  for (; i < n; i++, digits++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9) break;
    if (m > top / 10) return tt_page_cell_double_slow(s, n, v);
    m = 10 * m + d;
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n; i++, digits++, scale--) {
      unsigned d = (unsigned)(unsigned char)s[i] - '0';
      if (d > 9) break;
      if (m > top / 10) return tt_page_cell_double_slow(s, n, v);
      m = 10 * m + d;
    }
  }
  if (!digits || m > top) return tt_page_cell_double_slow(s, n, v);
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int eneg = 0, e = 0, edigits = 0;
    if (++i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    for (; i < n && edigits < 4; i++, edigits++) {
      unsigned d = (unsigned)(unsigned char)s[i] - '0';
      if (d > 9) break;
      e = 10 * e + (int)d;
    }
    if (!edigits) return tt_page_cell_double_slow(s, n, v);
    scale += eneg ? -e : e;
  }
  if (i != n || scale < -22 || scale > 22) return tt_page_cell_double_slow(s, n, v);
  double d = (double)m;
  d = scale < 0 ? d / tens[-scale] : d * tens[scale];
  *v = neg ? -d : d;
  return 1;
}

#endif
