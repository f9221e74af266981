/* The record headers of a block of libvirt's file-format log, found in one pass.
 *
 * A record starts at a line that begins with the grammar's header: DATETIME
 * ('2026-11-25 20:29:53.724+0000: ') or CLOCK ('20:29:53.724: '), an optional TID
 * ('13681: '), a LEVEL word and ' : ' (header.RECORD_START_PATTERN).  prefilter.py needs,
 * per block: every line's start, which lines start a record, and each dated record's time
 * (as values.stamp_times computes it) and whether it is a real date; a thread id of 19
 * digits or more is flagged for Python to read exactly.  Matching the header with RE2 and
 * reading the stamps with NumPy took ~10 ms a 2 MB block; this takes one pass, with the
 * GIL released.  tests/test_headscan.py holds it to the grammar's pattern and to the NumPy
 * reading, line by line.  Given a sieve (correlate/interest.py's SIEVE), the same pass also
 * picks the lines RE2 must read and reads their headers (heads(): the same for chosen records).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "_texthash.h"

static int digits(const unsigned char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

static int num(const unsigned char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
    return v;
}

/* The length of the stamp at p (30 dated, 14 a clock), or 0; the line is [p, e). */
static int stamp(const unsigned char *p, const unsigned char *e)
{
    if (e - p >= 30 && digits(p, 4) && p[4] == '-' && digits(p + 5, 2) && p[7] == '-' && digits(p + 8, 2)
        && p[10] == ' ' && digits(p + 11, 2) && p[13] == ':' && digits(p + 14, 2) && p[16] == ':'
        && digits(p + 17, 2) && p[19] == '.' && digits(p + 20, 3) && (p[23] == '+' || p[23] == '-')
        && digits(p + 24, 4) && p[28] == ':' && p[29] == ' ')
        return 30;
    if (e - p >= 14 && digits(p, 2) && p[2] == ':' && digits(p + 3, 2) && p[5] == ':' && digits(p + 6, 2)
        && p[8] == '.' && digits(p + 9, 3) && p[12] == ':' && p[13] == ' ')
        return 14;
    return 0;
}

static const char *LEVELS[] = {"unknown", "debug", "info", "warning", "error"};

/* Does [p, e) start with a LEVEL word and ' : '? */
static int level(const unsigned char *p, const unsigned char *e)
{
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(LEVELS[i]);
        if ((size_t)(e - p) >= n + 3 && memcmp(p, LEVELS[i], n) == 0 && memcmp(p + n, " : ", 3) == 0) return 1;
    }
    return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    /* (floor division, as NumPy's // in values._days_from_civil) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The time of a dated stamp (values.stamp_times' rule) and whether it is a real one. */
static int stamp_time(const unsigned char *p, double lo, double hi, double *t)
{
    static const int MDAYS[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y = num(p, 4), mon = num(p + 5, 2), day = num(p + 8, 2), h = num(p + 11, 2), mi = num(p + 14, 2),
            s = num(p + 17, 2), ms = num(p + 20, 3), oh = num(p + 24, 2), om = num(p + 26, 2);
    int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    int mdays = MDAYS[mon < 0 ? 0 : mon > 12 ? 12 : mon] + (mon == 2 && leap);
    int ok = y >= 1 && mon >= 1 && mon <= 12 && day >= 1 && day <= mdays && h < 24 && mi < 60 && s < 60
             && oh < 24 && om < 60;
    int64_t secs = days_from_civil(y, mon, day) * 86400 + h * 3600 + mi * 60 + s;
    secs -= (p[23] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    *t = (double)secs + (double)ms / 1000.0;
    return ok && *t >= lo && *t < hi;
}

static int is_name_start(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_name(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* The level whose word starts with c, as its index in records.LEVELS (debug, info, warning,
 * error, unknown; the record start has matched a whole level word there), and its length. */
static int level_index(unsigned char c)
{
    switch (c) {
    case 'd': return 0;
    case 'i': return 1;
    case 'w': return 2;
    case 'e': return 3;
    default: return 4;
    }
}
static const int LEVEL_LEN[] = {5, 4, 7, 5, 7};

/* The grammar's FUNCLOC at `at`, within [at, e): a name, ':', digits, ' :' and an optional blank.
 * 1 with the name's end (its colon), the source line (-1: 19 digits or more, for Python to read
 * exactly) and where the message starts; 0 where there is none. */
static int funcloc(const unsigned char *b, Py_ssize_t at, Py_ssize_t e, Py_ssize_t *colon, int64_t *src,
                   Py_ssize_t *msg_at)
{
    Py_ssize_t q = at;
    if (!(q < e && is_name_start(b[q]))) return 0;
    q++;
    while (q < e && is_name(b[q])) q++;
    if (!(q < e && b[q] == ':')) return 0;
    Py_ssize_t d = q + 1;
    while (d < e && b[d] >= '0' && b[d] <= '9') d++;
    if (!(d > q + 1 && d + 1 < e && b[d] == ' ' && b[d + 1] == ':')) return 0;
    int64_t v = -1;
    if (d - q - 1 < 19)
        for (Py_ssize_t i = q + 1, x = 0; i < d; i++) v = x = x * 10 + (b[i] - '0');
    *colon = q;
    *src = v;
    *msg_at = d + 2 + (d + 2 < e && b[d + 2] == ' ');
    return 1;
}

/* ---- heads(): the header fields of chosen records (prefilter's candidates) ----
 *
 * Per record [at, end) of the block (a record start: its first line begins with a header),
 * six int64: its thread id (-1: none; -2: 19 digits or more, for Python to read exactly), its
 * level (records.LEVELS' index; -1: no header there), where its function name starts and
 * its length (0: no FUNC:LINE follows the level), the source line (-1: 19 digits or more),
 * and where its message starts; places count from the record's start.  The same rules as
 * one_row, on the record's first line only; tests/test_headscan.py holds them to header.HEAD.
 */
static void head_in_line(const unsigned char *b, Py_ssize_t o, Py_ssize_t e, int64_t *out)
{
    out[0] = -1;
    out[1] = -1;
    out[2] = out[3] = out[4] = out[5] = 0;
    int n = stamp(b + o, b + e);
    if (!n) return;
    Py_ssize_t p = o + n, t = p;
    while (t < e && b[t] >= '0' && b[t] <= '9') t++;
    Py_ssize_t lat = p;
    int64_t tid = -1;
    if (t > p) {
        if (!(e - t >= 2 && b[t] == ':' && b[t + 1] == ' ')) return;
        lat = t + 2;
        if (t - p >= 19)
            tid = -2;
        else
            for (tid = 0; p < t; p++) tid = tid * 10 + (b[p] - '0');
    }
    if (!level(b + lat, b + e)) return;
    int lev = level_index(b[lat]);
    Py_ssize_t after = lat + LEVEL_LEN[lev] + 3, colon, msg_at = after;
    int64_t src;
    out[0] = tid;
    out[1] = lev;
    if (funcloc(b, after, e, &colon, &src, &msg_at)) {
        out[2] = after - o;
        out[3] = colon - after;
        out[4] = src;
    }
    out[5] = msg_at - o;
}

static void head_of(const unsigned char *b, Py_ssize_t o, Py_ssize_t nx, int64_t *out)
{
    const unsigned char *nl = memchr(b + o, '\n', nx - o);
    head_in_line(b, o, nl ? nl - b : nx, out);
}

/* ---- the sieve (correlate/interest.py's SIEVE): the lines that can match the reading list ----
 * A line that is no record start and holds "error" or "warning"; a record start at level
 * warning or error, or without FUNC:LINE; one whose function is named (a hash table) or begins
 * with a function prefix; one whose message begins with a message prefix (also read from right
 * after " :", as the pattern's optional blank may leave it). */
typedef struct {
    const unsigned char *p;
    Py_ssize_t n;
} Text;

typedef struct {
    Text *names;                /* the named functions, in a hash table of `slots` (n == 0: empty) */
    Py_ssize_t slots;
    Text *fpre, *mpre;          /* the prefixes */
    Py_ssize_t nfpre, nmpre;
    Text **held;                /* per message prefix, the texts one of which the rest of the line */
    Py_ssize_t *nheld;          /* must hold (none: anything may follow) */
    uint8_t ffirst[256], mfirst[256];     /* first bytes of the named functions and prefixes, of the messages' */
} Sieve;

/* The texts of a list joined by `sep`, as Texts into it (count in *n); NULL: no memory. */
static Text *texts_of(const unsigned char *p, Py_ssize_t len, Py_ssize_t *n, unsigned char sep)
{
    Py_ssize_t k = len > 0;
    for (Py_ssize_t i = 0; i < len; i++) k += p[i] == sep;
    Text *t = malloc((k ? k : 1) * sizeof(Text));
    if (!t) return NULL;
    Py_ssize_t j = 0, at = 0;
    for (Py_ssize_t i = 0; len > 0 && i <= len; i++)
        if (i == len || p[i] == sep) {
            t[j].p = p + at;
            t[j].n = i - at;
            j++;
            at = i + 1;
        }
    *n = k;
    return t;
}

static int sieve_init(Sieve *sv, Py_buffer *funcs, Py_buffer *fpre, Py_buffer *mpre)
{
    memset(sv, 0, sizeof *sv);
    Py_ssize_t nf;
    Text *f = texts_of(funcs->buf, funcs->len, &nf, '\n');
    sv->fpre = texts_of(fpre->buf, fpre->len, &sv->nfpre, '\n');
    sv->mpre = texts_of(mpre->buf, mpre->len, &sv->nmpre, '\n');
    sv->slots = 16;
    while (sv->slots < 4 * nf) sv->slots *= 2;
    sv->names = calloc(sv->slots, sizeof(Text));
    sv->held = calloc(sv->nmpre ? sv->nmpre : 1, sizeof(Text *));
    sv->nheld = calloc(sv->nmpre ? sv->nmpre : 1, sizeof(Py_ssize_t));
    if (!f || !sv->fpre || !sv->mpre || !sv->names || !sv->held || !sv->nheld) {
        free(f);
        return -1;
    }
    /* "prefix\ttext\ttext": the prefix, then the texts one of which must follow it */
    for (Py_ssize_t i = 0; i < sv->nmpre; i++) {
        const unsigned char *tab = memchr(sv->mpre[i].p, '\t', sv->mpre[i].n);
        if (!tab) continue;
        Py_ssize_t rest = sv->mpre[i].p + sv->mpre[i].n - (tab + 1);
        sv->mpre[i].n = tab - sv->mpre[i].p;
        if (!(sv->held[i] = texts_of(tab + 1, rest, &sv->nheld[i], '\t'))) {
            free(f);
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < nf; i++) {
        Py_ssize_t s = text_hash(f[i].p, f[i].n, 0) & (sv->slots - 1);
        while (sv->names[s].n) s = (s + 1) & (sv->slots - 1);
        sv->names[s] = f[i];
    }
    free(f);
    /* (an empty prefix lets every message or function through) */
    for (Py_ssize_t i = 0; i < sv->nmpre; i++)
        if (sv->mpre[i].n) sv->mfirst[sv->mpre[i].p[0]] = 1;
        else memset(sv->mfirst, 1, sizeof sv->mfirst);
    for (Py_ssize_t i = 0; i < sv->nfpre; i++)
        if (sv->fpre[i].n) sv->ffirst[sv->fpre[i].p[0]] = 1;
        else memset(sv->ffirst, 1, sizeof sv->ffirst);
    for (Py_ssize_t i = 0; i < sv->slots; i++)
        if (sv->names[i].n) sv->ffirst[sv->names[i].p[0]] = 1;
    return 0;
}

static void sieve_free(Sieve *sv)
{
    free(sv->names);
    free(sv->fpre);
    for (Py_ssize_t i = 0; sv->held && i < sv->nmpre; i++) free(sv->held[i]);
    free(sv->held);
    free(sv->nheld);
    free(sv->mpre);
}

/* Does [p, p + n) begin with t? */
static int has_prefix(const unsigned char *p, Py_ssize_t n, const Text *t)
{
    return t->n <= n && (t->n == 0 || (t->p[0] == p[0] && memcmp(p, t->p, t->n) == 0));
}

static int begins(const unsigned char *p, Py_ssize_t n, const Text *t, Py_ssize_t nt)
{
    for (Py_ssize_t i = 0; i < nt; i++)
        if (has_prefix(p, n, &t[i])) return 1;
    return 0;
}

/* Does the message [p, p + n) begin with a message prefix (and hold one of its texts after it)? */
static int begins_message(const Sieve *sv, const unsigned char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < sv->nmpre; i++) {
        const Text *t = &sv->mpre[i];
        if (!has_prefix(p, n, t)) continue;
        if (!sv->nheld[i]) return 1;
        for (Py_ssize_t j = 0; j < sv->nheld[i]; j++) {
            const Text *h = &sv->held[i][j];
            if (!h->n || memmem(p + t->n, n - t->n, h->p, h->n)) return 1;
        }
    }
    return 0;
}

static int named(const Sieve *sv, const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t s = text_hash(p, n, 0) & (sv->slots - 1);
    for (; sv->names[s].n; s = (s + 1) & (sv->slots - 1))
        if (sv->names[s].n == n && memcmp(sv->names[s].p, p, n) == 0) return 1;
    return 0;
}

/* Can the record start [o, e) (its first line), its header read into h (head_in_line), match
 * the reading list? */
static int sifted_start(const Sieve *sv, const unsigned char *b, Py_ssize_t o, Py_ssize_t e, const int64_t *h)
{
    if (h[1] < 0 || h[1] == 2 || h[1] == 3 || h[3] == 0) return 1;
    const unsigned char *f = b + o + h[2];
    if (sv->ffirst[f[0]] && (named(sv, f, h[3]) || begins(f, h[3], sv->fpre, sv->nfpre))) return 1;
    Py_ssize_t m = o + h[5];
    if (m < e && sv->mfirst[b[m]] && begins_message(sv, b + m, e - m)) return 1;
    /* (the blank after " :" taken as the message's, as the pattern's optional blank may) */
    m--;
    return b[m] == ' ' && b[m - 1] == ':' && sv->mfirst[' '] && begins_message(sv, b + m, e - m);
}

/* Can the line [o, e), no record start, match the reading list (FOREIGN_ERROR)? */
static int sifted_other(const unsigned char *b, Py_ssize_t o, Py_ssize_t e)
{
    return memmem(b + o, e - o, "error", 5) != NULL || memmem(b + o, e - o, "warning", 7) != NULL;
}

typedef struct {
    int64_t *offsets, *starts;
    double *times;
    uint8_t *dated, *bad, *long_tid;
    /* the lines the sieve lets through (when given one): their numbers, their headers
     * (head_in_line; a line that starts no record: level -1), their bytes and where each starts */
    int64_t *maybe, *maybe_heads, *maybe_off;
    unsigned char *maybe_data;
    Py_ssize_t nlines, nstarts, cap_lines, cap_starts, nmaybe, cap_maybe, cap_maybe_heads, cap_maybe_off,
        maybe_len, cap_maybe_data;
    int ascii;
} Scan;

/* Room for `need` elements of `size` bytes in *p (capacity *cap, doubled as needed). */
static int more(void **p, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    if (need <= *cap) return 0;
    Py_ssize_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * size);
    if (!q) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

/* Room for one more record start in each per-record array (one capacity for them all). */
static int one_more_start(Scan *sc)
{
    Py_ssize_t need = sc->nstarts + 1, cap = sc->cap_starts;
    if (need <= cap) return 0;
    void **arrays[] = {(void **)&sc->starts, (void **)&sc->times, (void **)&sc->dated, (void **)&sc->bad,
                       (void **)&sc->long_tid};
    size_t sizes[] = {sizeof(int64_t), sizeof(double), 1, 1, 1};
    for (int j = 0; j < 5; j++) {
        Py_ssize_t c = sc->cap_starts;
        if (more(arrays[j], &c, need, sizes[j]) < 0) return -1;
        cap = c;
    }
    sc->cap_starts = cap;
    return 0;
}

/* The current line [p, nx) (nx: after its line break), through the sieve, with its header h. */
static int push_maybe(Scan *sc, const unsigned char *p, Py_ssize_t nx, const int64_t *h)
{
    Py_ssize_t k = sc->nmaybe;
    if (more((void **)&sc->maybe, &sc->cap_maybe, k + 1, sizeof(int64_t)) < 0
        || more((void **)&sc->maybe_heads, &sc->cap_maybe_heads, 6 * (k + 1), sizeof(int64_t)) < 0
        || more((void **)&sc->maybe_off, &sc->cap_maybe_off, k + 2, sizeof(int64_t)) < 0
        || more((void **)&sc->maybe_data, &sc->cap_maybe_data, sc->maybe_len + nx, 1) < 0)
        return -1;
    sc->maybe[k] = sc->nlines;
    memcpy(sc->maybe_heads + 6 * k, h, 6 * sizeof(int64_t));
    sc->maybe_off[k] = sc->maybe_len;
    memcpy(sc->maybe_data + sc->maybe_len, p, nx);
    sc->maybe_len += nx;
    sc->maybe_off[k + 1] = sc->maybe_len;
    sc->nmaybe++;
    return 0;
}

static int run(Scan *sc, const unsigned char *buf, Py_ssize_t size, double lo, double hi, const Sieve *sv)
{
    const unsigned char *p = buf, *end = buf + size;
    unsigned char any = 0;
    for (Py_ssize_t i = 0; i < size; i++) any |= buf[i];
    sc->ascii = any < 128;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', end - p);
        const unsigned char *e = nl ? nl : end;
        if (more((void **)&sc->offsets, &sc->cap_lines, sc->nlines + 2, sizeof(int64_t)) < 0) return -1;
        sc->offsets[sc->nlines] = p - buf;
        int n = stamp(p, e), ok = 0;
        if (n) {
            const unsigned char *q = p + n;
            const unsigned char *t = q;
            while (t < e && *t >= '0' && *t <= '9') t++;
            if (t > q)
                ok = e - t >= 2 && t[0] == ':' && t[1] == ' ' && level(t + 2, e);
            else
                ok = level(q, e);
            if (ok) {
                if (sv) {
                    int64_t h[6];
                    head_in_line(buf, p - buf, e - buf, h);
                    if (sifted_start(sv, buf, p - buf, e - buf, h) && push_maybe(sc, p, (nl ? nl + 1 : end) - p, h) < 0)
                        return -1;
                }
                if (one_more_start(sc) < 0) return -1;
                Py_ssize_t k = sc->nstarts;
                sc->starts[k] = sc->nlines;
                double tm = 0.0;
                int real = n == 30 && stamp_time(p, lo, hi, &tm);
                sc->times[k] = real ? tm : 0.0;
                sc->dated[k] = real;
                sc->bad[k] = n == 30 && !real;
                sc->long_tid[k] = t - q >= 19;
                sc->nstarts++;
            }
        }
        if (sv && !ok && sifted_other(buf, p - buf, e - buf)) {
            static const int64_t none[6] = {-1, -1, 0, 0, 0, 0};
            if (push_maybe(sc, p, (nl ? nl + 1 : end) - p, none) < 0) return -1;
        }
        sc->nlines++;
        p = nl ? nl + 1 : end;
    }
    if (more((void **)&sc->offsets, &sc->cap_lines, sc->nlines + 1, sizeof(int64_t)) < 0) return -1;
    sc->offsets[sc->nlines] = size;
    return 0;
}

static PyObject *bytes_of(const void *data, Py_ssize_t size)
{
    return PyBytes_FromStringAndSize(size ? (const char *)data : "", size);
}

/* headers(buf, epoch_min, epoch_max[, funcs, func_prefixes, msg_prefixes])
 *   -> (offsets, starts, times, dated, bad, long_tid, ascii, sifted or None); sifted: the lines
 *   the sieve lets through, (numbers, headers, offsets, bytes) */
static PyObject *headers(PyObject *self, PyObject *args)
{
    Py_buffer view, sieve_parts[3];
    double lo, hi;
    memset(sieve_parts, 0, sizeof sieve_parts);
    if (!PyArg_ParseTuple(args, "y*dd|y*y*y*", &view, &lo, &hi, &sieve_parts[0], &sieve_parts[1], &sieve_parts[2]))
        return NULL;
    int sifting = sieve_parts[2].obj != NULL;
    Sieve sv;
    Scan sc;
    memset(&sc, 0, sizeof sc);
    int rc = sifting ? sieve_init(&sv, &sieve_parts[0], &sieve_parts[1], &sieve_parts[2]) : 0;
    if (rc == 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = run(&sc, view.buf, view.len, lo, hi, sifting ? &sv : NULL);
        Py_END_ALLOW_THREADS
    }
    if (sifting) sieve_free(&sv);
    PyObject *out = NULL;
    if (rc < 0)
        PyErr_NoMemory();
    else
        out = Py_BuildValue("(NNNNNNON)", bytes_of(sc.offsets, (sc.nlines + 1) * sizeof(int64_t)),
                            bytes_of(sc.starts, sc.nstarts * sizeof(int64_t)),
                            bytes_of(sc.times, sc.nstarts * sizeof(double)), bytes_of(sc.dated, sc.nstarts),
                            bytes_of(sc.bad, sc.nstarts), bytes_of(sc.long_tid, sc.nstarts),
                            sc.ascii ? Py_True : Py_False,
                            sifting ? Py_BuildValue("(NNNN)", bytes_of(sc.maybe, sc.nmaybe * sizeof(int64_t)),
                                                    bytes_of(sc.maybe_heads, 6 * sc.nmaybe * sizeof(int64_t)),
                                                    bytes_of(sc.maybe_off, sc.nmaybe ? (sc.nmaybe + 1) * sizeof(int64_t) : 0),
                                                    bytes_of(sc.maybe_data, sc.maybe_len))
                                    : Py_NewRef(Py_None));
    for (int j = 0; j < 3; j++)
        if (sieve_parts[j].obj) PyBuffer_Release(&sieve_parts[j]);
    free(sc.maybe);
    free(sc.maybe_heads);
    free(sc.maybe_off);
    free(sc.maybe_data);
    free(sc.offsets);
    free(sc.starts);
    free(sc.times);
    free(sc.dated);
    free(sc.bad);
    free(sc.long_tid);
    PyBuffer_Release(&view);
    return out;
}

/* ---- rows(): the event table's columns of a block of whole records (blockrows.ScannedBlock) ----
 *
 * Per record, in one pass: where it starts (line and byte), its stamp (dated or a clock; the
 * time in epoch ms and whether it is a real date), its thread id (digits; 19 or more are
 * flagged for Python to read exactly), its level, FUNC:LINE when the grammar's FUNCLOC
 * follows the level ('name:digits :' and an optional blank), and its message (the rest,
 * without the final line end and a CR before it).  The function names and the messages are
 * copied into Arrow string buffers, and the block's distinct keys are numbered (a hash table,
 * seeded by the caller, compared byte by byte; record_key).  blockrows.Block's NumPy route reads
 * the same from the same rules; tests/test_headscan.py holds the two to each other.
 */
typedef struct {
    Py_ssize_t n, cap;
    int64_t *line, *start, *next, *tid_at, *level_at, *ms, *tid, *src;
    int32_t *tid_len, *func_off, *msg_off, *code;
    uint8_t *level, *dated, *time_ok, *located, *long_src, *plain;
    char *func_data, *msg_data;          /* (the bytes objects' own buffers) */
    Py_ssize_t func_len, func_cap, msg_len, msg_cap;
    int32_t *first;           /* the record of each distinct key's first occurrence */
    int32_t *keys_off;        /* the distinct keys (record_key), 0xff before those of records not plain */
    char *keys_data;
    Py_ssize_t keys_len;
    Py_ssize_t ndistinct;
    Py_ssize_t nlines, newlines;
} Rows;

#define ROW_ARRAYS 18
static int rows_more(Rows *r)
{
    if (r->n + 1 < r->cap) return 0;
    Py_ssize_t cap = r->cap ? r->cap * 2 : 4096;
    void **arrays[ROW_ARRAYS] = {(void **)&r->line, (void **)&r->start, (void **)&r->next, (void **)&r->tid_at,
        (void **)&r->level_at, (void **)&r->ms, (void **)&r->tid, (void **)&r->src, (void **)&r->tid_len,
        (void **)&r->func_off, (void **)&r->msg_off, (void **)&r->code, (void **)&r->level, (void **)&r->dated,
        (void **)&r->time_ok, (void **)&r->located, (void **)&r->long_src, (void **)&r->plain};
    size_t sizes[ROW_ARRAYS] = {8, 8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1};
    for (int j = 0; j < ROW_ARRAYS; j++) {
        void *q = realloc(*arrays[j], cap * sizes[j]);
        if (!q) return -1;
        *arrays[j] = q;
    }
    r->cap = cap;
    return 0;
}

/* n bytes at the end of data (of room cap, never outgrown: the names and the messages are
 * disjoint pieces of the block, each buffer as long as the block) */
static int put(char *data, Py_ssize_t *len, Py_ssize_t cap, const unsigned char *p, Py_ssize_t n)
{
    if (*len + n > cap) return -1;
    memcpy(data + *len, p, n);
    *len += n;
    return 0;
}

/* The header's fields and the message of the record [o, nx) starting at line `line`. */
static int one_row(Rows *r, const unsigned char *buf, Py_ssize_t o, Py_ssize_t nx, int stamp_len, Py_ssize_t line,
                   double lo, double hi)
{
    const unsigned char *b = buf;
    if (rows_more(r) < 0) return -1;
    Py_ssize_t k = r->n;
    r->line[k] = line;
    r->start[k] = o;
    r->next[k] = nx;
    Py_ssize_t p = o + stamp_len;
    r->tid_at[k] = p;
    Py_ssize_t t = p;
    while (t < nx && b[t] >= '0' && b[t] <= '9') t++;
    Py_ssize_t tl = t - p;
    r->tid_len[k] = (int32_t)tl;
    int64_t tid = 0;
    if (tl < 19)
        for (Py_ssize_t i = p; i < t; i++) tid = tid * 10 + (b[i] - '0');
    r->tid[k] = tid;
    Py_ssize_t lat = tl ? t + 2 : p;
    r->level_at[k] = lat;
    int lev = level_index(b[lat]);
    r->level[k] = (uint8_t)lev;
    double tm = 0.0;
    int real = stamp_len == 30 && stamp_time(b + o, lo, hi, &tm);
    r->dated[k] = stamp_len == 30;
    r->time_ok[k] = real;
    {
        /* epoch ms: the whole seconds (as stamp_time counts them) and the stamp's milliseconds */
        int64_t secs = (int64_t)tm;
        if ((double)secs > tm) secs--;
        r->ms[k] = real ? secs * 1000 + num(b + o + 20, 3) : 0;
    }
    Py_ssize_t after = lat + LEVEL_LEN[lev] + 3, colon = after, msg_at = after;
    int64_t src = 0;
    int located = funcloc(b, after, nx, &colon, &src, &msg_at);
    r->located[k] = located;
    r->long_src[k] = src < 0;     /* a line number of 19 digits or more: Python reads it exactly */
    r->src[k] = src < 0 ? 0 : src;
    Py_ssize_t end = nx - (b[nx - 1] == '\n');
    if (end > msg_at && b[end - 1] == '\r') end--;
    if (end < msg_at) end = msg_at;
    r->plain[k] = located && lev != 2 && lev != 3 && msg_at < end;
    r->func_off[k] = (int32_t)r->func_len;
    if (located && put(r->func_data, &r->func_len, r->func_cap, b + after, colon - after) < 0) return -1;
    r->msg_off[k] = (int32_t)r->msg_len;
    if (put(r->msg_data, &r->msg_len, r->msg_cap, b + msg_at, end - msg_at) < 0) return -1;
    r->n++;
    return 0;
}

/* The key a record's columns are known by: a plain record's message (its family is the
 * message's), another's text after its thread id without the final line break (its level
 * or missing FUNC:LINE decides). */
static const unsigned char *record_key(const Rows *r, const unsigned char *buf, Py_ssize_t k, Py_ssize_t *len)
{
    if (r->plain[k]) {
        *len = r->msg_off[k + 1] - r->msg_off[k];
        return (const unsigned char *)r->msg_data + r->msg_off[k];
    }
    Py_ssize_t end = r->next[k] - (buf[r->next[k] - 1] == '\n');
    *len = end - r->level_at[k];
    return buf + r->level_at[k];
}

static int rows_run(Rows *r, const unsigned char *buf, Py_ssize_t size, double lo, double hi, uint64_t seed)
{
    const unsigned char *p = buf, *end = buf + size;
    Py_ssize_t line = 0, cur = -1, cur_line = 0;
    int cur_stamp = 0;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', end - p);
        const unsigned char *e = nl ? nl : end;
        int n = stamp(p, e);
        if (n) {
            const unsigned char *q = p + n;
            const unsigned char *t = q;
            while (t < e && *t >= '0' && *t <= '9') t++;
            int ok = t > q ? e - t >= 2 && t[0] == ':' && t[1] == ' ' && level(t + 2, e) : level(q, e);
            if (ok) {
                if (cur >= 0 && one_row(r, buf, cur, p - buf, cur_stamp, cur_line, lo, hi) < 0) return -1;
                cur = p - buf;
                cur_line = line;
                cur_stamp = n;
            }
        }
        if (nl) r->newlines++;
        line++;
        p = nl ? nl + 1 : end;
    }
    r->nlines = line;
    if (cur >= 0 && one_row(r, buf, cur, size, cur_stamp, cur_line, lo, hi) < 0) return -1;
    if (rows_more(r) < 0) return -1;
    r->func_off[r->n] = (int32_t)r->func_len;
    r->msg_off[r->n] = (int32_t)r->msg_len;
    /* number the distinct messages */
    Py_ssize_t cap = 1024;
    while (cap < 2 * r->n) cap *= 2;
    int32_t *slot = malloc(cap * sizeof(int32_t));
    uint64_t *hashes = malloc(r->n ? r->n * sizeof(uint64_t) : 1);
    r->first = malloc(r->n ? r->n * sizeof(int32_t) : 1);
    if (!slot || !hashes || !r->first) {
        free(slot);
        free(hashes);
        return -1;
    }
    memset(slot, 0xff, cap * sizeof(int32_t));
    Py_ssize_t keys_len = 0;
    for (Py_ssize_t k = 0; k < r->n; k++) {
        Py_ssize_t len;
        const unsigned char *m = record_key(r, buf, k, &len);
        uint64_t h = text_hash(m, len, r->plain[k] ? seed : ~seed);
        hashes[k] = h;
        Py_ssize_t s = (Py_ssize_t)(h & (uint64_t)(cap - 1));
        for (;;) {
            int32_t j = slot[s];
            if (j < 0) {
                slot[s] = (int32_t)k;
                r->code[k] = (int32_t)r->ndistinct;
                r->first[r->ndistinct++] = (int32_t)k;
                keys_len += len + !r->plain[k];
                break;
            }
            Py_ssize_t len_j;
            const unsigned char *mj = record_key(r, buf, j, &len_j);
            if (hashes[j] == h && r->plain[j] == r->plain[k] && len_j == len && memcmp(mj, m, len) == 0) {
                r->code[k] = r->code[j];
                break;
            }
            s = (s + 1) & (cap - 1);
        }
    }
    free(slot);
    free(hashes);
    /* the distinct keys: a plain record's message; the others' text after the thread id behind
     * a byte UTF-8 never holds (0xff), so that no message can be taken for one */
    r->keys_off = malloc((r->ndistinct + 1) * sizeof(int32_t));
    r->keys_data = malloc(keys_len ? keys_len : 1);
    if (!r->keys_off || !r->keys_data) return -1;
    Py_ssize_t at = 0;
    for (Py_ssize_t d = 0; d < r->ndistinct; d++) {
        Py_ssize_t k = r->first[d], len;
        const unsigned char *m = record_key(r, buf, k, &len);
        r->keys_off[d] = (int32_t)at;
        if (!r->plain[k]) r->keys_data[at++] = (char)0xff;
        memcpy(r->keys_data + at, m, len);
        at += len;
    }
    r->keys_off[r->ndistinct] = (int32_t)at;
    r->keys_len = at;
    return 0;
}

/* rows(buf, epoch_min, epoch_max, seed) -> a dict of the block's columns (see Rows) */
static PyObject *rows(PyObject *self, PyObject *args)
{
    Py_buffer view;
    double lo, hi;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "y*ddK", &view, &lo, &hi, &seed)) return NULL;
    if (view.len >= INT32_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "rows: a block of 2 GiB or more");
        return NULL;
    }
    Rows r;
    memset(&r, 0, sizeof r);
    /* the names' and the messages' text written straight into the bytes handed back */
    PyObject *func = PyBytes_FromStringAndSize(NULL, view.len), *msg = PyBytes_FromStringAndSize(NULL, view.len);
    int rc = -1;
    if (func && msg) {
        r.func_data = PyBytes_AS_STRING(func);
        r.msg_data = PyBytes_AS_STRING(msg);
        r.func_cap = r.msg_cap = view.len;
        Py_BEGIN_ALLOW_THREADS
        rc = rows_run(&r, view.buf, view.len, lo, hi, (uint64_t)seed);
        Py_END_ALLOW_THREADS
    }
    if (rc == 0 && (_PyBytes_Resize(&func, r.func_len) < 0 || _PyBytes_Resize(&msg, r.msg_len) < 0)) rc = -2;
    PyObject *out = NULL;
    if (rc < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        Py_XDECREF(func);
        Py_XDECREF(msg);
    } else {
        Py_ssize_t n = r.n;
        out = Py_BuildValue(
            "{s:n,s:n,s:n,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N}",
            "n", n, "nlines", r.nlines, "newlines", r.newlines,
            "line", bytes_of(r.line, n * 8), "start", bytes_of(r.start, n * 8), "next", bytes_of(r.next, n * 8),
            "tid_at", bytes_of(r.tid_at, n * 8), "level_at", bytes_of(r.level_at, n * 8),
            "ms", bytes_of(r.ms, n * 8), "tid", bytes_of(r.tid, n * 8), "src", bytes_of(r.src, n * 8),
            "tid_len", bytes_of(r.tid_len, n * 4), "func_off", bytes_of(r.func_off, (n + 1) * 4),
            "msg_off", bytes_of(r.msg_off, (n + 1) * 4), "code", bytes_of(r.code, n * 4),
            "level", bytes_of(r.level, n), "dated", bytes_of(r.dated, n), "time_ok", bytes_of(r.time_ok, n),
            "located", bytes_of(r.located, n), "long_src", bytes_of(r.long_src, n), "plain", bytes_of(r.plain, n),
            "func_data", func, "msg_data", msg,
            "first", bytes_of(r.first, r.ndistinct * 4), "keys_off", bytes_of(r.keys_off, (r.ndistinct + 1) * 4),
            "keys_data", bytes_of(r.keys_data, r.keys_len));
    }
    void *arrays[] = {r.line, r.start, r.next, r.tid_at, r.level_at, r.ms, r.tid, r.src, r.tid_len, r.func_off,
                      r.msg_off, r.code, r.level, r.dated, r.time_ok, r.located, r.long_src, r.plain, r.first,
                      r.keys_off, r.keys_data};
    for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++) free(arrays[j]);
    PyBuffer_Release(&view);
    return out;
}

/* heads(buf, at, end) -> bytes: six int64 per record (see head_of); at and end: int64 places */
static PyObject *heads(PyObject *self, PyObject *args)
{
    Py_buffer view, at_v, end_v;
    if (!PyArg_ParseTuple(args, "y*y*y*", &view, &at_v, &end_v)) return NULL;
    PyObject *out = NULL;
    Py_ssize_t n = at_v.len / 8;
    const int64_t *at = at_v.buf, *end = end_v.buf;
    int ok = at_v.len % 8 == 0 && end_v.len == at_v.len;
    for (Py_ssize_t k = 0; ok && k < n; k++)
        ok = 0 <= at[k] && at[k] <= end[k] && end[k] <= view.len;
    if (!ok)
        PyErr_SetString(PyExc_ValueError, "heads: places outside the block");
    else if ((out = PyBytes_FromStringAndSize(NULL, n * 6 * 8)) != NULL) {
        int64_t *o = (int64_t *)PyBytes_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t k = 0; k < n; k++) head_of(view.buf, at[k], end[k], o + 6 * k);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&view);
    PyBuffer_Release(&at_v);
    PyBuffer_Release(&end_v);
    return out;
}

static PyMethodDef methods[] = {
    {"headers", headers, METH_VARARGS,
     "headers(buf, epoch_min, epoch_max[, funcs, func_prefixes, msg_prefixes]) -> (offsets, starts,\n"
     "times, dated, bad, long_tid, ascii, maybe):\n"
     "every line's start (int64, one more: the end); the lines that start a record (int64); per\n"
     "record: its time (float64 seconds, a real dated stamp only), dated (uint8: a real dated\n"
     "stamp), bad (a dated stamp that is no real date), long_tid (a thread id of 19 digits or\n"
     "more); whether every byte is ASCII; with a sieve (three line-break-joined lists: named\n"
     "functions, function prefixes, message prefixes), the lines that can match the reading list:\n"
     "(their numbers, six int64 each as heads() reads them (level -1: no record start), their\n"
     "int64 offsets (one more) into their bytes, their bytes), else None."},
    {"heads", heads, METH_VARARGS,
     "heads(buf, at, end) -> bytes: per record [at, end) (int64 places), six int64: thread id (-1\n"
     "none, -2 too long), level (-1: no header), function name's start and length (0: no\n"
     "FUNC:LINE), source line (-1: too long), message start; places from the record's start."},
    {"rows", rows, METH_VARARGS,
     "rows(buf, epoch_min, epoch_max, seed) -> dict: the event table's columns of a block of whole\n"
     "records (the header's fields, FUNC:LINE, the message, the block's distinct keys numbered)."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_headscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__headscan(void)
{
    return PyModule_Create(&module);
}
