/* The fields of journald's items, found in one pass over a block of bytes.
 *
 * `journalctl -o json` writes one flat JSON object a line; `-o export` one entry of
 * NAME=value lines (or a NAME line, an 8-byte length and raw bytes) ending with an empty
 * line.  wrapfilter.py needs a few fields of every item (the process id, the transport, the
 * host, the time, the priority, the function and the message): where each value lies in
 * the block and what kind of value it is.  Regular expressions over the whole block cost a
 * pass over every byte per search; this walks each item once, field by field (JSON by its
 * quotes, backslashes, line breaks and control bytes, found 64 bytes at a time; export
 * skipping values with memchr), and runs with the GIL released.
 *
 * It reads only the shapes journalctl writes, and a JSON line only where json.loads would read
 * it to the same values.  Anything else (an item that is not one flat object, an array holding
 * strings, an unknown escape, a control byte, an export entry that does not end where its
 * fields do) is counted as odd and flagged; the caller decides what the item is.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { ABSENT = 0, TEXT = 1, ESCAPED = 2, NUL_VALUE = 3, ARRAY = 4, SCALAR = 5, RAW = 6 };

typedef struct {
    Py_ssize_t n, cap, nkeys;
    int64_t nlines;             /* the line breaks in the block (export) */
    int64_t *starts;            /* where each item begins (n + 1: the last is the end) */
    int64_t *lines;             /* the line breaks before each item (n + 1; JSON: i) */
    int64_t *spans;             /* per item and key: value start, value end */
    uint8_t *kinds;             /* per item and key: the value's kind */
    uint32_t *same;             /* per item: bit k, key k's value is its expected value as text */
    int64_t *secs;              /* per item: the sent and the received time's whole seconds, or -1 */
    int32_t *ids;               /* per item: the number of the numbered key's text, or -1 */
    /* the numbered key's distinct texts: where each is first, and a hash table of them */
    Py_ssize_t ndistinct, distinct_cap, table_cap;
    int64_t *distinct;          /* start, end of each */
    int32_t *table;             /* a distinct text's number + 1, 0: empty */
    int oom;                    /* out of memory while numbering */
} Items;

typedef struct {
    Py_ssize_t nkeys;
    const char **key;
    Py_ssize_t *len;
    const char **expect;        /* the value an item of the daemon has, or NULL */
    Py_ssize_t *expect_len;
    int sent, received;         /* the keys of the times */
    int numbered;               /* the key whose distinct texts are numbered, or -1 */
    int digits;                 /* the key whose text should be digits, or -1 */
    uint8_t nlen[64];           /* the keys of each length (under 64 bytes; longer: all) */
    int8_t by_len[64][4];
} Keys;

#define MAX_KEYS 29
/* in Items.same, beside the keys' bits: the item was not read; key `digits` holds text that
 * is not 1 to 18 digits; a key's text holds the escape of a line break, or an array of bytes
 * a line break and after it "error" or "warning" */
#define NOT_READ ((uint32_t)1 << 31)
#define NOT_DIGITS ((uint32_t)1 << 30)
#define NL_ESCAPE ((uint32_t)1 << 29)
/* the flags scan returns for each item */
enum { OWN = 1, UNREAD = 2, ODD_DIGITS = 4, LINE_BREAK_ESCAPE = 8 };

static int grow(Items *it)
{
    Py_ssize_t cap = it->cap ? it->cap * 2 : 4096;
    int64_t *s = realloc(it->starts, (cap + 1) * sizeof(int64_t));
    if (s) it->starts = s;
    int64_t *l = realloc(it->lines, (cap + 1) * sizeof(int64_t));
    if (l) it->lines = l;
    int64_t *sp = realloc(it->spans, cap * it->nkeys * 2 * sizeof(int64_t));
    if (sp) it->spans = sp;
    uint8_t *k = realloc(it->kinds, cap * it->nkeys);
    if (k) it->kinds = k;
    uint32_t *same = realloc(it->same, cap * sizeof(uint32_t));
    if (same) it->same = same;
    int64_t *secs = realloc(it->secs, cap * 2 * sizeof(int64_t));
    if (secs) it->secs = secs;
    int32_t *ids = realloc(it->ids, cap * sizeof(int32_t));
    if (ids) it->ids = ids;
    if (!s || !l || !sp || !k || !same || !secs || !ids) return -1;
    it->cap = cap;
    return 0;
}

/* A new item at offset `at`, every key absent; -1 when out of memory. */
static int new_item(Items *it, int64_t at, int64_t line)
{
    if (it->n == it->cap && grow(it) < 0) return -1;
    it->starts[it->n] = at;
    it->lines[it->n] = line;
    memset(it->kinds + it->n * it->nkeys, ABSENT, it->nkeys);
    memset(it->spans + it->n * it->nkeys * 2, 0, it->nkeys * 2 * sizeof(int64_t));
    it->same[it->n] = 0;
    it->secs[2 * it->n] = it->secs[2 * it->n + 1] = -1;
    it->ids[it->n] = -1;
    it->n++;
    return 0;
}

/* The whole seconds of 16 digits of microseconds; -1 for anything else. */
static int64_t seconds(const char *d, Py_ssize_t len)
{
    if (len != 16) return -1;
    int64_t v = 0;
    for (int j = 0; j < 16; j++) {
        if (d[j] < '0' || d[j] > '9') return -1;
        if (j < 10) v = v * 10 + (d[j] - '0');
    }
    return v;
}

/* FNV-1a of [a, z). */
static uint64_t text_hash(const char *a, const char *z)
{
    uint64_t h = 1469598103934665603ULL;
    for (; a < z; a++) h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    return h;
}

/* The number of text [a, z) among the distinct texts (a new one numbered next); -1 when out
 * of memory.  (A function's name, say: a block holds a few hundred distinct ones, which the
 * caller tests once each instead of once an item.) */
static int32_t number_of(Items *it, const char *base, int64_t a, int64_t z)
{
    uint64_t h = text_hash(base + a, base + z);
    if (2 * (it->ndistinct + 1) > it->table_cap) {
        Py_ssize_t cap = it->table_cap ? it->table_cap * 2 : 1024;
        int32_t *table = calloc(cap, sizeof(int32_t));
        if (!table) return -1;
        for (Py_ssize_t d = 0; d < it->ndistinct; d++) {    /* (rehashed from the texts) */
            Py_ssize_t j = text_hash(base + it->distinct[2 * d], base + it->distinct[2 * d + 1]) & (cap - 1);
            while (table[j]) j = (j + 1) & (cap - 1);
            table[j] = (int32_t)(d + 1);
        }
        free(it->table);
        it->table = table;
        it->table_cap = cap;
    }
    Py_ssize_t j = h & (it->table_cap - 1);
    for (; it->table[j]; j = (j + 1) & (it->table_cap - 1)) {
        int32_t d = it->table[j] - 1;
        int64_t da = it->distinct[2 * d], dz = it->distinct[2 * d + 1];
        if (dz - da == z - a && memcmp(base + da, base + a, z - a) == 0) return d;
    }
    if (it->ndistinct == it->distinct_cap) {
        Py_ssize_t cap = it->distinct_cap ? it->distinct_cap * 2 : 512;
        int64_t *distinct = realloc(it->distinct, cap * 2 * sizeof(int64_t));
        if (!distinct) return -1;
        it->distinct = distinct;
        it->distinct_cap = cap;
    }
    Py_ssize_t d = it->ndistinct++;
    it->distinct[2 * d] = a;
    it->distinct[2 * d + 1] = z;
    it->table[j] = (int32_t)(d + 1);
    return (int32_t)d;
}

/* A field of the current item: a key's value is noted (its span, kind, whether it is the
 * expected value, the time it says) while its bytes are in the cache. */
static inline __attribute__((always_inline)) void put(Items *it, const Keys *keys, const char *base,
                                                      const char *name, Py_ssize_t len, int64_t a, int64_t z,
                                                      uint8_t kind)
{
    int k = -1;
    if (len < 64) {
        /* (most of an item's fields are none of the keys, and their length tells) */
        for (int j = 0; j < keys->nlen[len]; j++) {
            int c = keys->by_len[len][j];
            const char *key = keys->key[c];
            if (key[0] == name[0] && key[len - 1] == name[len - 1] && memcmp(key, name, len) == 0) {
                k = c;
                break;
            }
        }
    } else {
        for (int c = 0; c < keys->nkeys; c++)
            if (keys->len[c] == len && memcmp(keys->key[c], name, len) == 0) {
                k = c;
                break;
            }
    }
    if (k < 0) return;
    Py_ssize_t n = it->n - 1, i = n * it->nkeys + k;
    it->spans[2 * i] = a;        /* (a key given twice: its last value, as json.loads) */
    it->spans[2 * i + 1] = z;
    it->kinds[i] = kind;
    if (keys->expect[k]) {
        uint32_t same = (kind == TEXT || kind == ESCAPED) && z - a == keys->expect_len[k]
                        && memcmp(base + a, keys->expect[k], z - a) == 0;
        it->same[n] = (it->same[n] & ~((uint32_t)1 << k)) | same << k;
    }
    if (k == keys->sent || k == keys->received)
        it->secs[2 * n + (k == keys->received)] = kind == TEXT ? seconds(base + a, z - a) : -1;
    if (k == keys->digits) {
        int ok = kind == TEXT && z - a <= 18;
        for (const char *c = base + a; ok && c < base + z; c++) ok = *c >= '0' && *c <= '9';
        it->same[n] = (it->same[n] & ~NOT_DIGITS) | (ok || (kind == TEXT && z == a) ? 0 : NOT_DIGITS);
    }
    if (k == keys->numbered) {
        int32_t d = kind == TEXT ? number_of(it, base, a, z) : -1;
        if (kind == TEXT && d < 0) it->oom = 1;
        it->ids[n] = d;
    }
}

static const char *skip_blanks(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p;
}

/* JSON lines are read by their quotes, backslashes, line breaks and other control bytes (the
 * tokens), found 64 bytes at a time as bits of a mask (a control byte ends the line's reading): a string's end is its next unescaped quote, a line's end
 * its next line break, with no call per value (memchr's calls on short values were half of
 * the walk's time). */
typedef struct {
    const char *buf;
    Py_ssize_t size;
    Py_ssize_t base;            /* the window of 64 bytes the masks are of */
    uint64_t mask;              /* its tokens not taken yet */
    uint64_t quotes, nls, ctls; /* which of its bytes are quotes, line breaks, other control bytes */
    Py_ssize_t skip;            /* a token not to hand out: the quote or backslash a backslash escapes */
    Py_ssize_t nl;              /* the last line break handed out */
    unsigned high;              /* a byte over 127 in the windows read */
    int simd;
} Tokens;

enum { QUOTE = 0, BACKSLASH = 1, LINE_BREAK = 2, CONTROL = 3 };

static void window_masks(Tokens *t, const char *p);

/* The last window, short of 64 bytes: read from a copy padded with NULs (no token). */
static __attribute__((noinline)) void tail_masks(Tokens *t, Py_ssize_t avail)
{
    char tail[64];
    memset(tail, 0, sizeof tail);
    memcpy(tail, t->buf + t->base, avail);
    window_masks(t, tail);
}

/* The masks of the 64 bytes at p (the window at t->base). */
static inline void window_masks(Tokens *t, const char *p)
{
    uint64_t q = 0, b = 0, n = 0, c = 0;
#ifdef __SSE2__
    if (t->simd) {
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), nl = _mm_set1_epi8('\n');
        const __m128i below_space = _mm_set1_epi8(0x1f);
        for (int i = 0; i < 4; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
            q |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) << (16 * i);
            b |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) << (16 * i);
            n |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) << (16 * i);
            c |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v)) << (16 * i);
            t->high |= _mm_movemask_epi8(v);
        }
    } else
#endif
    {
        for (int i = 0; i < 64; i++) {
            q |= (uint64_t)(p[i] == '"') << i;
            b |= (uint64_t)(p[i] == '\\') << i;
            n |= (uint64_t)(p[i] == '\n') << i;
            c |= (uint64_t)((unsigned char)p[i] < 0x20) << i;
            t->high |= (unsigned char)p[i] & 0x80;
        }
    }
    if (t->size - t->base < 64) c &= ~(uint64_t)0 >> (64 - (t->size - t->base));   /* (not the padding) */
    t->quotes = q;
    t->nls = n;
    t->ctls = c & ~n;
    t->mask = q | b | c;
}

/* The next window's masks; 0 past the block's end. */
static int next_window(Tokens *t)
{
    if (t->base + 64 >= t->size) return 0;
    t->base += 64;
    if (t->size - t->base < 64) tail_masks(t, t->size - t->base);
    else window_masks(t, t->buf + t->base);
    return 1;
}

/* The next token's offset (size at the block's end), *kind what it is. */
static inline __attribute__((always_inline)) Py_ssize_t next_token(Tokens *t, int *kind)
{
    for (;;) {
        while (!t->mask)
            if (!next_window(t)) {
                *kind = -1;
                return t->size;
            }
        int bit = __builtin_ctzll(t->mask);
        t->mask &= t->mask - 1;
        Py_ssize_t at = t->base + bit;
        if (at == t->skip) continue;
        if (t->quotes >> bit & 1) {
            *kind = QUOTE;
        } else if (t->nls >> bit & 1) {
            *kind = LINE_BREAK;
            t->nl = at;
        } else if (t->ctls >> bit & 1) {
            *kind = CONTROL;
        } else {
            *kind = BACKSLASH;
        }
        return at;
    }
}

static int hex4(const char *p)
{
    for (int i = 0; i < 4; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F'))) return 0;
    return 1;
}

/* The closing quote of the string whose opening quote is at q; -1 when q is not the next
 * token, or a line break, a control byte, an escape json.loads refuses (or the block's end)
 * comes first.  *escaped: the text holds a backslash (bit 1), the escape \\n (bit 2). */
static inline __attribute__((always_inline)) Py_ssize_t string_close(Tokens *t, Py_ssize_t q, int *escaped)
{
    int kind;
    *escaped = 0;
    if (next_token(t, &kind) != q) return -1;
    for (;;) {
        Py_ssize_t at = next_token(t, &kind);
        if (kind == QUOTE) return at;
        if (kind != BACKSLASH || at + 1 >= t->size) return -1;
        /* a backslash: the byte after it belongs to its escape */
        char c = t->buf[at + 1];
        *escaped |= c == 'n' ? 3 : 1;
        if (c == '"' || c == '\\') t->skip = at + 1;
        else if (c == 'u') {
            if (t->size - (at + 2) < 4 || !hex4(t->buf + at + 2)) return -1;
        } else if (!(c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't')) return -1;
    }
}

/* Is [p, z) (after an array's '[', before its ']') integers as JSON writes them, separated
 * by commas, blanks around them?  0: no; 1: yes; 3: yes, and as bytes they hold a line break
 * and after it the word "error" or "warning" (where wrapfilter's further-error pattern
 * looks). */
static int integers(const char *p, const char *z)
{
    static const char error[] = "error", warning[] = "warning";
    int out = 1, nl = 0, in_error = 0, in_warning = 0;
    while (p < z && *p == ' ') p++;
    if (p == z) return 1;                       /* [] */
    for (;;) {
        int minus = p < z && *p == '-';
        p += minus;
        if (p == z || *p < '0' || *p > '9') return 0;
        const char *a = p;
        if (*p == '0') p++;                     /* (no leading zeros) */
        else while (p < z && *p >= '0' && *p <= '9') p++;
        int v = minus || p - a > 3 ? -1 : 0;
        for (const char *d = a; v >= 0 && d < p; d++) v = v * 10 + (*d - '0');
        nl |= v == 10;
        in_error = v == error[in_error] ? in_error + 1 : v == 'e';
        in_warning = v == warning[in_warning] ? in_warning + 1 : v == 'w';
        if (nl && (in_error == 5 || in_warning == 7)) {
            out = 3;
            in_error = in_warning = 0;
        }
        while (p < z && *p == ' ') p++;
        if (p == z) return out;
        if (*p != ',') return 0;
        p++;
        while (p < z && *p == ' ') p++;
    }
}

/* The closing bracket of a JSON array of integers that starts at p ('['), or NULL when the
 * line holds anything else before it (an array of strings, a field given twice, is left to
 * the other route).  *more_lines: as bytes, a line break, then "error" or "warning". */
static const char *array_close(const char *p, const char *e, int simd, int *more_lines)
{
    const char *open = ++p;
#ifdef __SSE2__
    if (simd) {
        const __m128i close = _mm_set1_epi8(']'), zero = _mm_set1_epi8('0' - 1), nine = _mm_set1_epi8('9' + 1);
        const __m128i comma = _mm_set1_epi8(','), blank = _mm_set1_epi8(' '), minus = _mm_set1_epi8('-');
        for (; e - p >= 16; p += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            __m128i ok = _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(v, zero), _mm_cmplt_epi8(v, nine)),
                                      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, blank)),
                                                   _mm_cmpeq_epi8(v, minus)));
            unsigned c = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, close));
            unsigned bad = ~(unsigned)_mm_movemask_epi8(ok) & 0xffff;
            if (c) {
                unsigned before = (c & -c) - 1;       /* the bytes before the first ']' */
                if (bad & before) return NULL;
                p += __builtin_ctz(c);
                int r = integers(open, p);
                *more_lines = r == 3;
                return r ? p : NULL;
            }
            if (bad) return NULL;
        }
    }
#endif
    for (; p < e && *p != ']'; p++) {
        char c = *p;
        if (!((c >= '0' && c <= '9') || c == ',' || c == ' ' || c == '-')) return NULL;
    }
    int r = p < e ? integers(open, p) : 0;
    *more_lines = r == 3;
    return r ? p : NULL;
}

/* Is [a, z) true, false or a number's characters (what else json.loads refuses)? */
static int scalar(const char *a, const char *z)
{
    if ((z - a == 4 && memcmp(a, "true", 4) == 0) || (z - a == 5 && memcmp(a, "false", 5) == 0)) return 1;
    /* a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *p = a;
#define DIGITS(p) ((p) < z && *(p) >= '0' && *(p) <= '9')
    if (p < z && *p == '-') p++;
    if (!DIGITS(p)) return 0;
    if (*p == '0') p++;
    else while (DIGITS(p)) p++;
    if (p < z && *p == '.') {
        p++;
        if (!DIGITS(p)) return 0;
        while (DIGITS(p)) p++;
    }
    if (p < z && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < z && (*p == '+' || *p == '-')) p++;
        if (!DIGITS(p)) return 0;
        while (DIGITS(p)) p++;
    }
#undef DIGITS
    return p == z;
}

/* The line starting at p as a flat JSON object: the offset of its end (its line break, or
 * the block's end); -1 when it is not one (the line break not yet handed out). */
static Py_ssize_t json_line(Items *it, const Keys *keys, Tokens *t, const char *p)
{
    const char *base = t->buf, *e = t->buf + t->size;
    int escaped, kind;
    p = skip_blanks(p, e);
    if (p == e || *p != '{') return -1;
    p = skip_blanks(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (p == e || *p != '"') return -1;
            Py_ssize_t name_end = string_close(t, p - base, &escaped);
            /* (a name with escapes may spell a key: json.loads reads it so, this does not) */
            if (name_end < 0 || escaped) return -1;
            const char *name = p + 1;
            Py_ssize_t name_len = base + name_end - name;
            p = skip_blanks(base + name_end + 1, e);
            if (p == e || *p != ':') return -1;
            p = skip_blanks(p + 1, e);
            if (p == e) return -1;
            const char *a, *z;
            uint8_t kind;
            if (*p == '"') {
                a = p + 1;
                Py_ssize_t close = string_close(t, p - base, &escaped);
                if (close < 0) return -1;
                z = base + close;
                kind = escaped ? ESCAPED : TEXT;
                if (escaped & 2) it->same[it->n - 1] |= NL_ESCAPE;
                p = z + 1;
            } else if (*p == '[') {
                /* an array of byte values (a message with control characters) */
                a = p;
                int more_lines;
                p = array_close(p, e, t->simd, &more_lines);
                if (!p) return -1;
                if (more_lines) it->same[it->n - 1] |= NL_ESCAPE;
                z = ++p;
                kind = ARRAY;
            } else if (*p == '{') {
                return -1;
            } else {
                a = p;
                while (p < e && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') p++;
                z = p;
                kind = (z - a == 4 && memcmp(a, "null", 4) == 0) ? NUL_VALUE : SCALAR;
                if (kind == SCALAR && !scalar(a, z)) return -1;
            }
            put(it, keys, base, name, name_len, a - base, z - base, kind);
            p = skip_blanks(p, e);
            if (p == e) return -1;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p != ',') return -1;
            p = skip_blanks(p + 1, e);
        }
    }
    p = skip_blanks(p, e);
    if (p == e) return next_token(t, &kind) == t->size ? t->size : -1;
    if (*p != '\n' || next_token(t, &kind) != p - base) return -1;
    return p - base;
}

static Py_ssize_t json_items(Items *it, const Keys *keys, const char *buf, Py_ssize_t size, int simd,
                             int *ascii)
{
    Py_ssize_t odd = 0;
    Tokens t = {.buf = buf, .size = size, .base = -64, .skip = -1, .nl = -1, .simd = simd};
    int kind;
    Py_ssize_t at = 0;
    while (at < size) {
        if (new_item(it, at, it->n) < 0) return -2;
        Py_ssize_t end = json_line(it, keys, &t, buf + at);
        if (end < 0) {
            odd++;
            it->same[it->n - 1] |= NOT_READ;
            /* the line ends at its line break, handed out already or the next one */
            if (t.nl >= at) {
                end = t.nl;
            } else {
                do end = next_token(&t, &kind);
                while (kind != LINE_BREAK && end < size);
            }
        }
        at = end + 1;
    }
    it->nlines = it->n;
    /* (every window is read by the walk to the last line break; any after it here) */
    while (next_window(&t))
        ;
    *ascii = !t.high;
    return odd;
}

/* -o export entries, one after another, each "__CURSOR=" first and ending with its empty
 * line; -1 at the first thing that is not so (the caller's other route reads the block). */
#define EXPORT_RAW_MAX (16 << 20)

static Py_ssize_t export_items(Items *it, const Keys *keys, const char *buf, Py_ssize_t size)
{
    const char *p = buf, *end = buf + size;
    int64_t line = 0;
    while (p < end) {
        if (end - p < 9 || memcmp(p, "__CURSOR=", 9) != 0) return -1;
        if (new_item(it, p - buf, line) < 0) return -2;
        for (;;) {
            if (p == end) return -1;
            if (*p == '\n') {            /* the entry's empty line */
                p++;
                line++;
                break;
            }
            const char *nl = memchr(p, '\n', end - p);
            if (!nl) return -1;
            const char *eq = memchr(p, '=', nl - p);
            if (eq) {
                put(it, keys, buf, p, eq - p, eq + 1 - buf, nl - buf, TEXT);
                p = nl + 1;
                line++;
                continue;
            }
            if (end - nl < 9) return -1;
            uint64_t n = 0;
            for (int j = 8; j >= 1; j--) n = (n << 8) | (unsigned char)nl[j];
            if (n > EXPORT_RAW_MAX || (uint64_t)(end - (nl + 9)) <= n || nl[9 + n] != '\n') return -1;
            const char *a = nl + 9, *z = a + n;
            put(it, keys, buf, p, nl - p, a - buf, z - buf, RAW);
            line += 2;
            for (const char *q = a; (q = memchr(q, '\n', z - q)) != NULL; q++) line++;
            for (const char *q = nl + 1; q < a; q++) line += (*q == '\n');   /* in the length */
            p = z + 1;
        }
    }
    it->nlines = line;
    return 0;
}

/* Each item's flags (OWN: every expected value there, as text; UNREAD; ODD_DIGITS;
 * LINE_BREAK_ESCAPE) and whole seconds (the time of key `sent`, else of `received`: 16 digits
 * of microseconds as text; else -1). */
static void own_and_seconds(const Items *it, const Keys *keys, uint8_t *own, int64_t *secs)
{
    uint32_t expected = 0;
    for (int k = 0; k < keys->nkeys; k++)
        if (keys->expect[k]) expected |= (uint32_t)1 << k;
    for (Py_ssize_t i = 0; i < it->n; i++) {
        uint32_t same = it->same[i];
        own[i] = same & NOT_READ ? UNREAD
                                 : ((same & expected) == expected ? OWN : 0) | (same & NOT_DIGITS ? ODD_DIGITS : 0)
                                       | (same & NL_ESCAPE ? LINE_BREAK_ESCAPE : 0);
        int sent = keys->sent >= 0 && it->kinds[i * it->nkeys + keys->sent] != ABSENT;
        secs[i] = sent ? it->secs[2 * i] : keys->received >= 0 ? it->secs[2 * i + 1] : -1;
    }
}

static PyObject *bytes_of(const void *data, Py_ssize_t size)
{
    return PyBytes_FromStringAndSize(size ? (const char *)data : "", size);
}

/* scan(buf, keys, expect, export, sent, received[, numbered, digits, simd])
 *   -> (starts, lines, spans, kinds, own, secs, odd, ids, distinct, ascii) */
static PyObject *scan(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *keyseq, *expectseq, *result = NULL;
    int export, sent, received, numbered = -1, digits = -1, simd = 1, ascii = 0;
    if (!PyArg_ParseTuple(args, "y*OOpii|iip", &view, &keyseq, &expectseq, &export, &sent, &received, &numbered,
                          &digits, &simd))
        return NULL;
    PyObject *fast = PySequence_Fast(keyseq, "keys must be a sequence of bytes");
    PyObject *fast_expect = fast ? PySequence_Fast(expectseq, "expect must be a sequence") : NULL;
    Keys keys = {0};
    Items it = {0};
    uint8_t *own = NULL;
    int64_t *secs = NULL;
    if (!fast_expect) goto done;
    keys.nkeys = PySequence_Fast_GET_SIZE(fast);
    if (PySequence_Fast_GET_SIZE(fast_expect) != keys.nkeys || sent >= keys.nkeys || received >= keys.nkeys
        || numbered >= keys.nkeys || digits >= keys.nkeys || keys.nkeys > MAX_KEYS) {
        PyErr_SetString(PyExc_ValueError, "expect must hold a value or None for every key (at most 29); sent, "
                                          "received, numbered and digits keys");
        goto done;
    }
    keys.sent = sent;
    keys.received = received;
    keys.numbered = numbered;
    keys.digits = digits;
    it.nkeys = keys.nkeys > 0 ? keys.nkeys : 1;
    keys.key = PyMem_Calloc(keys.nkeys + 1, sizeof(char *));
    keys.len = PyMem_Calloc(keys.nkeys + 1, sizeof(Py_ssize_t));
    keys.expect = PyMem_Calloc(keys.nkeys + 1, sizeof(char *));
    keys.expect_len = PyMem_Calloc(keys.nkeys + 1, sizeof(Py_ssize_t));
    if (!keys.key || !keys.len || !keys.expect || !keys.expect_len) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < keys.nkeys; k++) {
        PyObject *o = PySequence_Fast_GET_ITEM(fast, k), *v = PySequence_Fast_GET_ITEM(fast_expect, k);
        if (!PyBytes_Check(o) || (v != Py_None && !PyBytes_Check(v))) {
            PyErr_SetString(PyExc_TypeError, "keys and expected values must be bytes");
            goto done;
        }
        keys.key[k] = PyBytes_AS_STRING(o);
        keys.len[k] = PyBytes_GET_SIZE(o);
        Py_ssize_t len = keys.len[k];
        if (len == 0 || (len < 64 && keys.nlen[len] == 4)) {
            PyErr_SetString(PyExc_ValueError, "keys must not be empty, nor more than 4 of one length");
            goto done;
        }
        if (len < 64) keys.by_len[len][keys.nlen[len]++] = (int8_t)k;
        if (v != Py_None) {
            keys.expect[k] = PyBytes_AS_STRING(v);
            keys.expect_len[k] = PyBytes_GET_SIZE(v);
        }
    }
    Py_ssize_t odd;
    Py_BEGIN_ALLOW_THREADS
    odd = export ? export_items(&it, &keys, view.buf, view.len)
                 : json_items(&it, &keys, view.buf, view.len, simd, &ascii);
    if (odd != -2) {
        own = malloc(it.n + 1);
        secs = malloc((it.n + 1) * sizeof(int64_t));
        if (own && secs) own_and_seconds(&it, &keys, own, secs);
        else odd = -2;
    }
    Py_END_ALLOW_THREADS
    if (odd == -2 || it.oom || (it.n == 0 && grow(&it) < 0)) {
        PyErr_NoMemory();
        goto done;
    }
    it.starts[it.n] = view.len;
    it.lines[it.n] = it.nlines;
    result = Py_BuildValue("(NNNNNNnNNO)", bytes_of(it.starts, (it.n + 1) * sizeof(int64_t)),
                           bytes_of(it.lines, (it.n + 1) * sizeof(int64_t)),
                           bytes_of(it.spans, it.n * keys.nkeys * 2 * sizeof(int64_t)),
                           bytes_of(it.kinds, it.n * keys.nkeys), bytes_of(own, it.n),
                           bytes_of(secs, it.n * sizeof(int64_t)), odd, bytes_of(it.ids, it.n * sizeof(int32_t)),
                           bytes_of(it.distinct, it.ndistinct * 2 * sizeof(int64_t)), ascii ? Py_True : Py_False);
done:
    free(it.starts);
    free(it.lines);
    free(it.spans);
    free(it.kinds);
    free(it.same);
    free(it.secs);
    free(it.ids);
    free(it.distinct);
    free(it.table);
    free(own);
    free(secs);
    PyMem_Free(keys.key);
    PyMem_Free(keys.len);
    PyMem_Free(keys.expect);
    PyMem_Free(keys.expect_len);
    Py_XDECREF(fast);
    Py_XDECREF(fast_expect);
    PyBuffer_Release(&view);
    return result;
}

/* entries(buf, spans, kinds, names, items, read) -> a dict of each item's fields, as
 * json.loads (or the export reader) makes them of the keys scan found: text as UTF-8 (invalid
 * bytes replaced), raw bytes the same, null as None, anything else (escaped text, an array, a
 * number) as read(its bytes, quotes included) says.  (A JSON item scan read holds no control
 * byte, which json.loads refuses in a string: such an item is not read.) */
static PyObject *entries(PyObject *self, PyObject *args)
{
    Py_buffer view, spans, kinds;
    PyObject *names, *items, *read, *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*OOO", &view, &spans, &kinds, &names, &items, &read))
        return NULL;
    Py_ssize_t nkeys = PyTuple_Check(names) ? PyTuple_GET_SIZE(names) : -1;
    if (nkeys <= 0 || !PyList_Check(items) || kinds.len % nkeys || spans.len != kinds.len * 16) {
        PyErr_SetString(PyExc_ValueError, "names must be a tuple of the scan's keys, items a list");
        goto done;
    }
    Py_ssize_t n = kinds.len / nkeys, count = PyList_GET_SIZE(items);
    const int64_t *span = spans.buf;
    const uint8_t *kind = kinds.buf;
    const char *buf = view.buf;
    out = PyList_New(count);
    for (Py_ssize_t j = 0; out && j < count; j++) {
        Py_ssize_t i = PyLong_AsSsize_t(PyList_GET_ITEM(items, j));
        if (i < 0 || i >= n) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_IndexError, "item out of range");
            Py_CLEAR(out);
            break;
        }
        PyObject *d = PyDict_New();
        if (!d) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, j, d);
        for (Py_ssize_t k = 0; k < nkeys; k++) {
            uint8_t kd = kind[i * nkeys + k];
            if (kd == ABSENT) continue;
            int64_t a = span[2 * (i * nkeys + k)], z = span[2 * (i * nkeys + k) + 1];
            if (a < 0 || z < a || z > view.len) {
                PyErr_SetString(PyExc_ValueError, "a span outside the buffer");
                Py_CLEAR(out);
                break;
            }
            PyObject *v;
            if (kd == TEXT || kd == RAW) {
                v = PyUnicode_DecodeUTF8(buf + a, z - a, "replace");
            } else if (kd == NUL_VALUE) {
                v = Py_NewRef(Py_None);
            } else {
                int quoted = kd == ESCAPED;
                if (quoted && (a < 1 || z >= view.len)) {
                    PyErr_SetString(PyExc_ValueError, "a span outside the buffer");
                    Py_CLEAR(out);
                    break;
                }
                PyObject *raw = PyBytes_FromStringAndSize(buf + a - quoted, z - a + 2 * quoted);
                v = raw ? PyObject_CallOneArg(read, raw) : NULL;
                Py_XDECREF(raw);
            }
            if (!v || PyDict_SetItem(d, PyTuple_GET_ITEM(names, k), v) < 0) {
                Py_XDECREF(v);
                Py_CLEAR(out);
                break;
            }
            Py_DECREF(v);
        }
    }
done:
    PyBuffer_Release(&view);
    PyBuffer_Release(&spans);
    PyBuffer_Release(&kinds);
    return out;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(buf, keys, expect, export, sent, received[, numbered, digits, simd]) ->\n"
     "(starts, lines, spans, kinds, own, secs, odd, ids, distinct, ascii):\n"
     "each item's start (int64, one more: the end), the line breaks before it (int64, one more: all),\n"
     "each key's value start and end (int64 pairs, item by item) and kind (uint8: 0 absent, 1 text,\n"
     "2 text with escapes, 3 null, 4 array, 5 other scalar, 6 raw bytes); own (uint8 flags: 1, every\n"
     "key's expected value, where expect gives one, is there as text; 2, a JSON item not read; 4, key\n"
     "digits holds text that is not 1 to 18 digits (nor empty); 8, a JSON text holds the escape \\\\n,\n"
     "or an array of bytes a 10 and after it \"error\" or \"warning\"), secs (int64: key sent's value, else\n"
     "received's, 16 digits of microseconds as text, in whole seconds; else -1); and how many items\n"
     "were not read (JSON; export: -1 when the block is not whole entries); ids (int32: the number of\n"
     "key numbered's text among its distinct texts, -1 for none), distinct (int64 pairs: where each\n"
     "distinct text is first), ascii (JSON: no byte over 127 in buf; export: False, not looked at).\n"
     "simd=False finds JSON's quotes, backslashes and line breaks byte by byte (for the tests)."},
    {"entries", entries, METH_VARARGS,
     "entries(buf, spans, kinds, names, items, read) -> [dict]: the fields\n"
     "scan found of each item in items (a list of item numbers), by names (a tuple of str, the\n"
     "scan's keys): text and raw values as UTF-8 (invalid bytes replaced), null as None, any other\n"
     "value as read(its bytes)."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fieldscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fieldscan(void)
{
    return PyModule_Create(&module);
}
