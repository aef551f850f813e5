/* page: growable cell arena for the rows of a reply. */
#include "page.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The memory of the last page freed on this thread, for the next page to reuse: a pull frees
 * a page and builds the next of about the same size, and fresh memory costs a page fault per
 * 4 KB (a third of the CPU time of a live pull, measured). At most SPARE_MAX is kept. */
#define SPARE_MAX ((size_t)64 << 20)
static _Thread_local tt_page spare;

static void release(tt_page *p)
{
  free(p->text);
  free(p->ends);
  free(p->rows);
  memset(p, 0, sizeof *p);
}

void tt_page_free(tt_page *p)
{
  if (!p) return;
  size_t bytes = p->cap + (p->cellcap + p->rowcap) * sizeof(size_t);
  if (p != &spare && bytes <= SPARE_MAX && p->cap >= spare.cap) {
    release(&spare);
    spare = *p;
    spare.len = spare.ncells = spare.nrows = 0;
    spare.open_row = 0;
    memset(p, 0, sizeof *p);
    return;
  }
  release(p);
}

/* Start an empty page on the spare memory, if any. */
static void adopt(tt_page *p)
{
  if (p->text || p->ends || p->rows || !spare.cap) return;
  *p = spare;
  memset(&spare, 0, sizeof spare);
}

void tt_page_clear(tt_page *p)
{
  p->len = p->ncells = p->nrows = 0;
  p->open_row = 0;
}

/* Grow an array to at least `need` elements of `size` bytes, doubling: the new array, or
 * NULL with the old one untouched. */
static void *grow(void *ptr, size_t *cap, size_t need, size_t size, size_t least)
{
  size_t n = *cap ? *cap : least;
  while (n < need) {
    if (n > ((size_t)-1 / 2) / size) return NULL;
    n *= 2;
  }
  void *q = realloc(ptr, n * size);
  if (q) *cap = n;
  return q;
}

int tt_page_reserve(tt_page *p, size_t rows, size_t cells, size_t bytes)
{
  adopt(p);
  if (rows > p->rowcap) {
    size_t *q = realloc(p->rows, rows * sizeof *q);
    if (!q) return TT_E_NOMEM;
    p->rows = q;
    p->rowcap = rows;
  }
  if (cells > p->cellcap) {
    size_t *q = realloc(p->ends, cells * sizeof *q);
    if (!q) return TT_E_NOMEM;
    p->ends = q;
    p->cellcap = cells;
  }
  if (bytes > p->cap) {
    char *q = realloc(p->text, bytes);
    if (!q) return TT_E_NOMEM;
    p->text = q;
    p->cap = bytes;
  }
  return 0;
}

int tt_page_begin_row(tt_page *p)
{
  if (!p->rowcap) adopt(p);
  if (p->nrows == p->rowcap) {
    size_t *q = grow(p->rows, &p->rowcap, p->nrows + 1, sizeof *p->rows, 1024);
    if (!q) return TT_E_NOMEM;
    p->rows = q;
  }
  p->rows[p->nrows++] = p->ncells;
  p->open_row = 1;
  return 0;
}

int tt_page_add_text(tt_page *p, const char *s, size_t n)
{
  if (!n) return 0;
  if (n > p->cap - p->len) {
    if (n > (size_t)-1 - p->len) return TT_E_NOMEM;
    char *q = grow(p->text, &p->cap, p->len + n, 1, 65536);
    if (!q) return TT_E_NOMEM;
    p->text = q;
  }
  memcpy(p->text + p->len, s, n);
  p->len += n;
  return 0;
}

int tt_page_end_cell(tt_page *p)
{
  if (p->ncells == p->cellcap) {
    size_t *q = grow(p->ends, &p->cellcap, p->ncells + 1, sizeof *p->ends, 4096);
    if (!q) return TT_E_NOMEM;
    p->ends = q;
  }
  p->ends[p->ncells++] = p->len;
  return 0;
}

size_t tt_page_open_len(const tt_page *p)
{
  return p->len - (p->ncells ? p->ends[p->ncells - 1] : 0);
}

void tt_page_trim_open(tt_page *p, size_t n)
{
  size_t open = tt_page_open_len(p);
  p->len -= n < open ? n : open;
}

/* The slow halves of tt_page_cell_int and tt_page_cell_double (page.h): the C library on a
 * NUL-terminated copy. */
int tt_page_cell_int_slow(const char *s, size_t n, long long *v)
{
  char tmp[32];
  if (n == 0 || n >= sizeof tmp) return 0;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == n) return 0;
  for (size_t k = i; k < n; k++)
    if (s[k] < '0' || s[k] > '9') return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  errno = 0;
  *v = strtoll(tmp, NULL, 10);
  return errno == 0;
}

int tt_page_cell_double_slow(const char *s, size_t n, double *v)
{
  char tmp[64];
  if (n == 0 || n >= sizeof tmp || isspace((unsigned char)s[0])) return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end;
  *v = strtod(tmp, &end);
  return *end == '\0';
}
