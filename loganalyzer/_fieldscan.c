/* The fields of journald's items, found in one pass over a block of bytes.
 *
 * `journalctl -o json` writes one flat JSON object a line; `-o export` one entry of
 * NAME=value lines (or a NAME line, an 8-byte length and raw bytes) ending with an empty
 * line.  wrapfilter.py needs a few fields of every item (the process id, the transport, the
 * host, the time, the priority, the function and the message): where each value lies in
 * the block and what kind of value it is.  Regular expressions over the whole block cost a
 * pass over every byte per search; this walks each item once, field by field, skipping
 * values with memchr, and runs with the GIL released.
 *
 * It reads only the shapes journalctl writes.  Anything else (an item that is not one flat
 * object, an array holding strings, an export entry that does not end where its fields do)
 * is counted as odd, and the caller reads that block by its other route.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { ABSENT = 0, TEXT = 1, ESCAPED = 2, NUL_VALUE = 3, ARRAY = 4, SCALAR = 5, RAW = 6 };

typedef struct {
    Py_ssize_t n, cap, nkeys;
    int64_t nlines;             /* the line breaks in the block (export) */
    int64_t *starts;            /* where each item begins (n + 1: the last is the end) */
    int64_t *lines;             /* the line breaks before each item (n + 1; JSON: i) */
    int64_t *spans;             /* per item and key: value start, value end */
    uint8_t *kinds;             /* per item and key: the value's kind */
} Items;

typedef struct {
    Py_ssize_t nkeys;
    const char **key;
    Py_ssize_t *len;
    const char **expect;        /* the value an item of the daemon has, or NULL */
    Py_ssize_t *expect_len;
    uint64_t lengths;           /* bit L set: a key of L bytes (L < 64) */
} Keys;

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
    if (!s || !l || !sp || !k) return -1;
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
    it->n++;
    return 0;
}

static void put(Items *it, const Keys *keys, const char *name, Py_ssize_t len,
                int64_t a, int64_t z, uint8_t kind)
{
    /* (most of an item's fields are none of the keys, and their length tells) */
    if (len < 64 && !(keys->lengths >> len & 1)) return;
    for (Py_ssize_t k = 0; k < keys->nkeys; k++) {
        if (keys->len[k] == len && memcmp(keys->key[k], name, len) == 0) {
            Py_ssize_t i = (it->n - 1) * it->nkeys + k;
            it->spans[2 * i] = a;        /* (a key given twice: its last value, as json.loads) */
            it->spans[2 * i + 1] = z;
            it->kinds[i] = kind;
            return;
        }
    }
}

static const char *skip_blanks(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p;
}

/* The closing quote of the string whose text starts at p; NULL if the line has none.
 * *escaped: whether the text holds a backslash (looked for only in a line that has one). */
static const char *string_end(const char *p, const char *e, int line_escapes, int *escaped)
{
    const char *q = p;
    *escaped = 0;
    for (;;) {
        const char *r = memchr(q, '"', e - q);
        if (!r) return NULL;
        if (!line_escapes) return r;
        const char *b = r;
        while (b > p && b[-1] == '\\') b--;
        if (memchr(q, '\\', r - q)) *escaped = 1;
        if (((r - b) & 1) == 0) return r;
        q = r + 1;
    }
}

/* Is [a, z) true, false or a number's characters (what else json.loads refuses)? */
static int scalar(const char *a, const char *z)
{
    if ((z - a == 4 && memcmp(a, "true", 4) == 0) || (z - a == 5 && memcmp(a, "false", 5) == 0)) return 1;
    if (a == z) return 0;
    for (; a < z; a++)
        if (!((*a >= '0' && *a <= '9') || *a == '-' || *a == '+' || *a == '.' || *a == 'e' || *a == 'E')) return 0;
    return 1;
}

/* One line [p, e) as a flat JSON object; 0 when read, -1 when it is not one. */
static int json_line(Items *it, const Keys *keys, const char *base, const char *p, const char *e)
{
    int escaped, line_escapes = memchr(p, '\\', e - p) != NULL;
    p = skip_blanks(p, e);
    if (p == e || *p != '{') return -1;
    p = skip_blanks(p + 1, e);
    if (p < e && *p == '}') return skip_blanks(p + 1, e) == e ? 0 : -1;
    for (;;) {
        if (p == e || *p != '"') return -1;
        const char *name = p + 1, *name_end = string_end(name, e, line_escapes, &escaped);
        if (!name_end) return -1;
        int name_escaped = escaped;
        p = skip_blanks(name_end + 1, e);
        if (p == e || *p != ':') return -1;
        p = skip_blanks(p + 1, e);
        if (p == e) return -1;
        const char *a, *z;
        uint8_t kind;
        if (*p == '"') {
            a = p + 1;
            z = string_end(a, e, line_escapes, &escaped);
            if (!z) return -1;
            kind = escaped ? ESCAPED : TEXT;
            p = z + 1;
        } else if (*p == '[') {
            /* an array of byte values (a message with control characters); an array of
             * strings (a field given twice) is left to the other route */
            a = p;
            for (p++; p < e && *p != ']'; p++) {
                char c = *p;
                if (!((c >= '0' && c <= '9') || c == ',' || c == ' ' || c == '-')) return -1;
            }
            if (p == e) return -1;
            z = ++p;
            kind = ARRAY;
        } else if (*p == '{') {
            return -1;
        } else {
            a = p;
            while (p < e && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\r') p++;
            z = p;
            kind = (z - a == 4 && memcmp(a, "null", 4) == 0) ? NUL_VALUE : SCALAR;
            if (kind == SCALAR && !scalar(a, z)) return -1;
        }
        /* (a name with escapes may spell a key: json.loads reads it so, this does not) */
        if (name_escaped) return -1;
        put(it, keys, name, name_end - name, a - base, z - base, kind);
        p = skip_blanks(p, e);
        if (p == e) return -1;
        if (*p == '}') return skip_blanks(p + 1, e) == e ? 0 : -1;
        if (*p != ',') return -1;
        p = skip_blanks(p + 1, e);
    }
}

static Py_ssize_t json_items(Items *it, const Keys *keys, const char *buf, Py_ssize_t size)
{
    Py_ssize_t odd = 0;
    const char *p = buf, *end = buf + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end;
        if (new_item(it, p - buf, it->n) < 0) return -2;
        if (json_line(it, keys, buf, p, e) < 0) odd++;
        p = nl ? nl + 1 : end;
    }
    it->nlines = it->n;
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
                put(it, keys, p, eq - p, eq + 1 - buf, nl - buf, TEXT);
                p = nl + 1;
                line++;
                continue;
            }
            if (end - nl < 9) return -1;
            uint64_t n = 0;
            for (int j = 8; j >= 1; j--) n = (n << 8) | (unsigned char)nl[j];
            if (n > EXPORT_RAW_MAX || (uint64_t)(end - (nl + 9)) <= n || nl[9 + n] != '\n') return -1;
            const char *a = nl + 9, *z = a + n;
            put(it, keys, p, nl - p, a - buf, z - buf, RAW);
            line += 2;
            for (const char *q = a; (q = memchr(q, '\n', z - q)) != NULL; q++) line++;
            for (const char *q = nl + 1; q < a; q++) line += (*q == '\n');   /* in the length */
            p = z + 1;
        }
    }
    it->nlines = line;
    return 0;
}

/* Each item's own flag (every expected value there, as text) and whole seconds (the time
 * of key `sent`, else of `received`: 16 digits of microseconds as text; else -1). */
static void own_and_seconds(const Items *it, const Keys *keys, const char *buf, int sent, int received,
                            uint8_t *own, int64_t *secs)
{
    for (Py_ssize_t i = 0; i < it->n; i++) {
        const uint8_t *kind = it->kinds + i * it->nkeys;
        const int64_t *span = it->spans + i * it->nkeys * 2;
        uint8_t ok = 1;
        for (Py_ssize_t k = 0; k < keys->nkeys && ok; k++) {
            if (!keys->expect[k]) continue;
            ok = (kind[k] == TEXT || kind[k] == ESCAPED) && span[2 * k + 1] - span[2 * k] == keys->expect_len[k]
                 && memcmp(buf + span[2 * k], keys->expect[k], keys->expect_len[k]) == 0;
        }
        own[i] = ok;
        int k = (sent >= 0 && kind[sent] != ABSENT) ? sent : received;
        int64_t v = -1;
        if (k >= 0 && kind[k] == TEXT && span[2 * k + 1] - span[2 * k] == 16) {
            const char *d = buf + span[2 * k];
            v = 0;
            for (int j = 0; j < 16; j++) {
                if (d[j] < '0' || d[j] > '9') {
                    v = -1;
                    break;
                }
                if (j < 10) v = v * 10 + (d[j] - '0');
            }
        }
        secs[i] = v;
    }
}

static PyObject *bytes_of(const void *data, Py_ssize_t size)
{
    return PyBytes_FromStringAndSize(size ? (const char *)data : "", size);
}

/* scan(buf, keys, expect, export, sent, received) -> (starts, lines, spans, kinds, own, secs, odd) */
static PyObject *scan(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *keyseq, *expectseq, *result = NULL;
    int export, sent, received;
    if (!PyArg_ParseTuple(args, "y*OOpii", &view, &keyseq, &expectseq, &export, &sent, &received)) return NULL;
    PyObject *fast = PySequence_Fast(keyseq, "keys must be a sequence of bytes");
    PyObject *fast_expect = fast ? PySequence_Fast(expectseq, "expect must be a sequence") : NULL;
    Keys keys = {0};
    Items it = {0};
    uint8_t *own = NULL;
    int64_t *secs = NULL;
    if (!fast_expect) goto done;
    keys.nkeys = PySequence_Fast_GET_SIZE(fast);
    if (PySequence_Fast_GET_SIZE(fast_expect) != keys.nkeys || sent >= keys.nkeys || received >= keys.nkeys) {
        PyErr_SetString(PyExc_ValueError, "expect must hold a value or None for every key; sent and received keys");
        goto done;
    }
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
        keys.lengths |= keys.len[k] < 64 ? (uint64_t)1 << keys.len[k] : 0;
        if (v != Py_None) {
            keys.expect[k] = PyBytes_AS_STRING(v);
            keys.expect_len[k] = PyBytes_GET_SIZE(v);
        }
    }
    Py_ssize_t odd;
    Py_BEGIN_ALLOW_THREADS
    odd = export ? export_items(&it, &keys, view.buf, view.len)
                 : json_items(&it, &keys, view.buf, view.len);
    if (odd != -2) {
        own = malloc(it.n + 1);
        secs = malloc((it.n + 1) * sizeof(int64_t));
        if (own && secs) own_and_seconds(&it, &keys, view.buf, sent, received, own, secs);
        else odd = -2;
    }
    Py_END_ALLOW_THREADS
    if (odd == -2 || (it.n == 0 && grow(&it) < 0)) {
        PyErr_NoMemory();
        goto done;
    }
    it.starts[it.n] = view.len;
    it.lines[it.n] = it.nlines;
    result = Py_BuildValue("(NNNNNNn)", bytes_of(it.starts, (it.n + 1) * sizeof(int64_t)),
                           bytes_of(it.lines, (it.n + 1) * sizeof(int64_t)),
                           bytes_of(it.spans, it.n * keys.nkeys * 2 * sizeof(int64_t)),
                           bytes_of(it.kinds, it.n * keys.nkeys), bytes_of(own, it.n),
                           bytes_of(secs, it.n * sizeof(int64_t)), odd);
done:
    free(it.starts);
    free(it.lines);
    free(it.spans);
    free(it.kinds);
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

/* Does [a, z) hold a control byte (which json.loads refuses inside a string)? */
static int controls(const char *a, const char *z)
{
    for (; a < z; a++)
        if ((unsigned char)*a < 0x20 && *a != '\n') return 1;
    return 0;
}

/* entries(buf, starts, spans, kinds, names, items, read, strict) -> a dict of each item's
 * fields, as json.loads (or the export reader) makes them of the keys scan found: text as
 * UTF-8 (invalid bytes replaced), raw bytes the same, null as None, anything else (escaped
 * text, an array, a number) as read(its bytes, quotes included) says.  strict: an item
 * holding a control byte gives None (json.loads refuses a string with one; the caller reads
 * it so). */
static PyObject *entries(PyObject *self, PyObject *args)
{
    Py_buffer view, starts, spans, kinds;
    PyObject *names, *items, *read, *out = NULL;
    int strict;
    if (!PyArg_ParseTuple(args, "y*y*y*y*OOOp", &view, &starts, &spans, &kinds, &names, &items, &read, &strict))
        return NULL;
    Py_ssize_t nkeys = PyTuple_Check(names) ? PyTuple_GET_SIZE(names) : -1;
    if (nkeys <= 0 || !PyList_Check(items) || kinds.len % nkeys || spans.len != kinds.len * 16
        || starts.len != (kinds.len / nkeys + 1) * 8) {
        PyErr_SetString(PyExc_ValueError, "names must be a tuple of the scan's keys, items a list");
        goto done;
    }
    Py_ssize_t n = kinds.len / nkeys, count = PyList_GET_SIZE(items);
    const int64_t *span = spans.buf, *start = starts.buf;
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
        if (strict && (start[i] < 0 || start[i + 1] > view.len || controls(buf + start[i], buf + start[i + 1]))) {
            PyList_SET_ITEM(out, j, Py_NewRef(Py_None));
            continue;
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
    PyBuffer_Release(&starts);
    PyBuffer_Release(&spans);
    PyBuffer_Release(&kinds);
    return out;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(buf, keys, expect, export, sent, received) -> (starts, lines, spans, kinds, own, secs, odd):\n"
     "each item's start (int64, one more: the end), the line breaks before it (int64, one more: all),\n"
     "each key's value start and end (int64 pairs, item by item) and kind (uint8: 0 absent, 1 text,\n"
     "2 text with escapes, 3 null, 4 array, 5 other scalar, 6 raw bytes); own (uint8: every key's\n"
     "expected value, where expect gives one, is there as text), secs (int64: key sent's value, else\n"
     "received's, 16 digits of microseconds as text, in whole seconds; else -1); and how many items\n"
     "were not read (JSON; export: -1 when the block is not whole entries)."},
    {"entries", entries, METH_VARARGS,
     "entries(buf, starts, spans, kinds, names, items, read, strict) -> [dict or None]: the fields\n"
     "scan found of each item in items (a list of item numbers), by names (a tuple of str, the\n"
     "scan's keys): text and raw values as UTF-8 (invalid bytes replaced), null as None, any other\n"
     "value as read(its bytes); strict: None for an item holding a control byte."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fieldscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fieldscan(void)
{
    return PyModule_Create(&module);
}
