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
 * reading, line by line.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

typedef struct {
    int64_t *offsets, *starts;
    double *times;
    uint8_t *dated, *bad, *long_tid;
    Py_ssize_t nlines, nstarts, cap_lines, cap_starts;
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

static int run(Scan *sc, const unsigned char *buf, Py_ssize_t size, double lo, double hi)
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
        int n = stamp(p, e);
        if (n) {
            const unsigned char *q = p + n;
            const unsigned char *t = q;
            while (t < e && *t >= '0' && *t <= '9') t++;
            int ok;
            if (t > q)
                ok = e - t >= 2 && t[0] == ':' && t[1] == ' ' && level(t + 2, e);
            else
                ok = level(q, e);
            if (ok) {
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

/* headers(buf, epoch_min, epoch_max) -> (offsets, starts, times, dated, bad, long_tid, ascii) */
static PyObject *headers(PyObject *self, PyObject *args)
{
    Py_buffer view;
    double lo, hi;
    if (!PyArg_ParseTuple(args, "y*dd", &view, &lo, &hi)) return NULL;
    Scan sc;
    memset(&sc, 0, sizeof sc);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = run(&sc, view.buf, view.len, lo, hi);
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (rc < 0)
        PyErr_NoMemory();
    else
        out = Py_BuildValue("(NNNNNNO)", bytes_of(sc.offsets, (sc.nlines + 1) * sizeof(int64_t)),
                            bytes_of(sc.starts, sc.nstarts * sizeof(int64_t)),
                            bytes_of(sc.times, sc.nstarts * sizeof(double)), bytes_of(sc.dated, sc.nstarts),
                            bytes_of(sc.bad, sc.nstarts), bytes_of(sc.long_tid, sc.nstarts),
                            sc.ascii ? Py_True : Py_False);
    free(sc.offsets);
    free(sc.starts);
    free(sc.times);
    free(sc.dated);
    free(sc.bad);
    free(sc.long_tid);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef methods[] = {
    {"headers", headers, METH_VARARGS,
     "headers(buf, epoch_min, epoch_max) -> (offsets, starts, times, dated, bad, long_tid, ascii):\n"
     "every line's start (int64, one more: the end); the lines that start a record (int64); per\n"
     "record: its time (float64 seconds, a real dated stamp only), dated (uint8: a real dated\n"
     "stamp), bad (a dated stamp that is no real date), long_tid (a thread id of 19 digits or\n"
     "more); whether every byte is ASCII."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_headscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__headscan(void)
{
    return PyModule_Create(&module);
}
