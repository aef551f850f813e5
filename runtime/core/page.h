/* page: the rows of one reply, stored compactly: every cell's bytes back to back in one
 * arena, one end offset per cell, one first-cell index per row. No per-cell allocation. */
#ifndef TT_PAGE_H
#define TT_PAGE_H

#include <stddef.h>

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

/* A cell read as a whole decimal integer in int64 range (1), or not (0). */
int tt_page_cell_int(const char *s, size_t n, long long *v);
/* A cell read as a double by strtod, the whole text and nothing around it (1), or not (0). */
int tt_page_cell_double(const char *s, size_t n, double *v);

#endif
