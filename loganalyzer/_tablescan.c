/* The event table's key=value columns, read in one pass over a list of messages, and the
 * index of the messages a file has said (MessageIndex, below).
 *
 * blockrows.read_families reads the new messages of a block: each one's route (text; an
 * "easy" probe or key=value message, read here: printable ASCII with line ends, no bracketed
 * key, no first key with 'current '; or families.py's), as blockrows.routes decides with RE2,
 * and beyond it what RE2 cannot read (a quote after '=', which makes no key, and job lines);
 * of the easy ones the probe's name as the kind ("kv" without one, "job"), the value of each
 * common field (client, ka, ...) and the other fields as JSON in their order, as families.py's
 * key=value reader cuts them: an item ends where a separator (',' or the first of a run of
 * white space, then the run) is followed by a key ('current '? a name, '=' and no quote) or a
 * (VM: name=..., uuid=...) group, and of a key given twice the first value counts.  fields()
 * gives the same as a dict, for families.located.  The Arrow route made ~40 calls a block;
 * this is one pass, with the GIL released.  tests/test_tablescan.py holds the routes and
 * families.py to each other.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "_texthash.h"

#define MAX_COMMON 16

typedef struct {
    char *data;
    int32_t *off;
    uint8_t *valid;           /* one byte per row (packed by the caller) */
    Py_ssize_t len, cap, rows, rows_cap, nulls;
} Column;

/* Room for `need` bytes in *data (of *cap; doubling from `first`). */
static int bytes_room(char **data, Py_ssize_t *cap, Py_ssize_t need, Py_ssize_t first)
{
    if (need > *cap) {
        Py_ssize_t to = *cap ? *cap : first;
        while (to < need) to *= 2;
        char *q = realloc(*data, to);
        if (!q) return -1;
        *data = q;
        *cap = to;
    }
    return 0;
}

static int col_room(Column *c, Py_ssize_t more)
{
    return bytes_room(&c->data, &c->cap, c->len + more, 1 << 12);
}

static int col_put(Column *c, const char *p, Py_ssize_t n)
{
    if (col_room(c, n) < 0) return -1;
    memcpy(c->data + c->len, p, n);
    c->len += n;
    return 0;
}

/* Ends the current row (valid or null). */
static int col_row(Column *c, int valid)
{
    if (c->rows + 2 > c->rows_cap) {
        Py_ssize_t cap = c->rows_cap ? c->rows_cap * 2 : 1024;
        int32_t *o = realloc(c->off, cap * sizeof(int32_t));
        if (!o) return -1;
        c->off = o;
        uint8_t *v = realloc(c->valid, cap);
        if (!v) return -1;
        c->valid = v;
        c->rows_cap = cap;
        if (c->rows == 0) c->off[0] = 0;
    }
    c->valid[c->rows] = (uint8_t)valid;
    c->nulls += !valid;
    c->rows++;
    c->off[c->rows] = (int32_t)c->len;
    return 0;
}

static void col_free(Column *c)
{
    free(c->data);
    free(c->off);
    free(c->valid);
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
static int is_name_start(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_key_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Whether q (inside [., e)) is a key's '=': not followed by a quote (the grammar's KEY). */
static int key_end(const unsigned char *q, const unsigned char *e)
{
    return q < e && *q == '=' && !(q + 1 < e && (q[1] == '\'' || q[1] == '"'));
}

/* The length of the key at p ('current '? [A-Za-z_][\w.-]* '=' and no quote after it), 0 if
 * none starts there. */
static Py_ssize_t key_at(const unsigned char *p, const unsigned char *e)
{
    const unsigned char *q = p;
    if (e - q > 8 && memcmp(q, "current ", 8) == 0 && is_name_start(q[8])) {
        const unsigned char *r = q + 9;
        while (r < e && is_key_char(*r)) r++;
        if (key_end(r, e)) return r + 1 - p;
    }
    if (q < e && is_name_start(*q)) {
        q++;
        while (q < e && is_key_char(*q)) q++;
        if (key_end(q, e)) return q + 1 - p;
    }
    return 0;
}

/* The length of a probe's name at the start of [p, e) ([A-Z][A-Z0-9]*(_[A-Z0-9]+)+ and ': '
 * after it), 0 if there is none. */
static Py_ssize_t probe_name(const unsigned char *p, const unsigned char *e)
{
    if (p >= e || !(*p >= 'A' && *p <= 'Z')) return 0;
    const unsigned char *q = p + 1;
    int groups = 0, last_underscore = 0;
    while (q < e && ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_')) {
        if (*q == '_') {
            if (last_underscore) return 0;
            groups++;
            last_underscore = 1;
        } else {
            last_underscore = 0;
        }
        q++;
    }
    if (!groups || last_underscore || e - q < 2 || q[0] != ':' || q[1] != ' ') return 0;
    return q - p;
}

typedef struct {
    const unsigned char *key, *value;
    Py_ssize_t key_len, value_len;
    int use;
} Item;

static int is_hex_or_dash(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
}

/* The length of the (VM: ...) group at p (the grammar's VMREF: '(VM: name=', the shortest text
 * without a line break up to ', uuid=' whose rest is [0-9a-fA-F-]* and ')'), 0 if none;
 * *uuid: where its ', uuid=' is. */
static Py_ssize_t vm_group(const unsigned char *p, const unsigned char *e, const unsigned char **uuid)
{
    if (e - p < 10 || memcmp(p, "(VM: name=", 10) != 0) return 0;
    for (const unsigned char *q = p + 10; q < e && *q != '\n'; q++) {
        if (*q != ',' || e - q < 7 || memcmp(q, ", uuid=", 7) != 0) continue;
        const unsigned char *h = q + 7;
        while (h < e && is_hex_or_dash(*h)) h++;
        if (h < e && *h == ')') {
            *uuid = q;
            return h + 1 - p;
        }
    }
    return 0;
}

/* Where the item after a separator at p starts (the grammar's SEP: ',' or the first of a run
 * of white space, the run, then a key, or with `groups` a (VM: ...) group), or NULL. */
static const unsigned char *separator_here(const unsigned char *p, const unsigned char *e, int groups)
{
    const unsigned char *j = p + (p < e && *p == ',');
    if (j >= e || !is_space(*j)) return NULL;
    while (j < e && is_space(*j)) j++;
    const unsigned char *uuid;
    return key_at(j, e) || (groups && vm_group(j, e, &uuid)) ? j : NULL;
}

/* The end of a value that starts at p: the first separator, or e (*next: the next item, or NULL). */
static const unsigned char *separator(const unsigned char *p, const unsigned char *e, const unsigned char **next)
{
    const unsigned char *i = p;
    while (i < e) {
        if (*i == ',' || is_space(*i)) {
            const unsigned char *k = separator_here(i, e, 1);
            if (k) {
                *next = k;
                return i;
            }
            /* (none starts inside the white space at or after i either) */
            i += *i == ',';
            while (i < e && is_space(*i)) i++;
            continue;
        }
        i++;
    }
    *next = NULL;
    return e;
}

/* The JSON text of a value (printable ASCII and line ends: backslash, quote, CR, LF escaped). */
static int put_escaped(Column *c, const unsigned char *p, Py_ssize_t n)
{
    if (col_room(c, 2 * n) < 0) return -1;
    char *o = c->data + c->len;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if (ch == '\\' || ch == '"') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (ch == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else {
            *o++ = (char)ch;
        }
    }
    c->len = o - c->data;
    return 0;
}

typedef struct {
    Py_ssize_t ncommon;
    const char *common[MAX_COMMON];
    Py_ssize_t common_len[MAX_COMMON];
    Column kind, fields, cols[MAX_COMMON];
    Item *items;
    Py_ssize_t items_cap;
} Easy;

static int same_key(const Item *a, const Item *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static int by_key_then_place(const void *x, const void *y)
{
    const Item *a = *(const Item *const *)x, *b = *(const Item *const *)y;
    Py_ssize_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c) return c;
    if (a->key_len != b->key_len) return a->key_len < b->key_len ? -1 : 1;
    return a < b ? -1 : a > b;                      /* (their places in the message) */
}

/* A message's route (blockrows.routes' rules): TEXT, no family's head can start it; EASY, a
 * probe or key=value message this file reads; PYTHON, the others (families.py reads them). */
enum { TEXT = 0, EASY = 1, PYTHON = 2 };

static int starts_with(const unsigned char *p, const unsigned char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - p) >= n && memcmp(p, word, n) == 0;
}

/* '(?:current )?[A-Za-z_]\S*?[=\[]' at p: a name's first character, then '=' or '[' before
 * any white space (RE2's \s: \t \n \f \r and the blank). */
static int word_with_key(const unsigned char *p, const unsigned char *e)
{
    if (starts_with(p, e, "current ")) p += 8;
    if (p >= e || !is_name_start(*p)) return 0;
    for (p++; p < e && !is_space(*p); p++)
        if (*p == '=' || *p == '[') return 1;
    return 0;
}

static int route(const unsigned char *m, const unsigned char *e)
{
    Py_ssize_t name = probe_name(m, e);
    int maybe = name || starts_with(m, e, "Thread ") || starts_with(m, e, "Starting phase '")
                || starts_with(m, e, "Setting '") || starts_with(m, e, "(VM: ") || word_with_key(m, e);
    if (!maybe) {
        static const char *verbs[] = {"Starting", "Started", "Stopping", "Waiting for"};
        static const char *kinds[] = {"", " async", " agent", " nested"};
        for (int v = 0; v < 4 && !maybe; v++) {
            if (!starts_with(m, e, verbs[v])) continue;
            const unsigned char *q = m + strlen(verbs[v]);
            for (int k = 0; k < 4 && !maybe; k++)
                maybe = starts_with(q, e, kinds[k]) && starts_with(q + strlen(kinds[k]), e, " job");
        }
    }
    if (!maybe) return TEXT;
    /* a key (with its first value not quoted) right after the probe's name or at the start */
    const unsigned char *body = m + (name ? name + 2 : 0);
    Py_ssize_t k = key_at(body, e);
    if (!k || (body + k < e && (body[k] == '\'' || body[k] == '"')) || starts_with(body, e, "current ")) return PYTHON;
    for (const unsigned char *q = m; q < e; q++) {
        unsigned char c = *q;
        if ((c < 0x20 || c > 0x7e) && c != '\r' && c != '\n') return PYTHON;
        if (c == '[' && q + 1 < e && q[1] == '"') return PYTHON;
    }
    return EASY;
}

/* Room for two more items after n. */
static int item_room(Easy *E, Py_ssize_t n)
{
    if (n + 2 > E->items_cap) {
        Py_ssize_t cap = E->items_cap ? E->items_cap * 2 : 64;
        Item *q = realloc(E->items, cap * sizeof(Item));
        if (!q) return -1;
        E->items = q;
        E->items_cap = cap;
    }
    return 0;
}

static int first_of_each_key(Easy *E, Py_ssize_t n);

/* The items of one message, the first of each key marked `use`, in E->items: their number;
 * *name: the probe's name's length (0: none); *whole: 0 when the message is no key=value
 * list after all (text); -1 when out of memory. */
static Py_ssize_t message_items(Easy *E, const unsigned char *m, Py_ssize_t len, Py_ssize_t *name_len, int *whole)
{
    const unsigned char *e = m + len, *body = m;
    Py_ssize_t name = probe_name(m, e);
    if (name) body = m + name + 2;
    *name_len = name;
    /* the items, each a key and its value (up to the next separator) or a (VM: ...) group */
    Py_ssize_t n = 0;
    *whole = 1;
    const unsigned char *p = body;
    while (1) {
        if (item_room(E, n) < 0) return -1;
        Py_ssize_t klen = key_at(p, e);
        if (klen) {
            const unsigned char *next = NULL, *stop = separator(p + klen, e, &next);
            Item *it = &E->items[n++];
            *it = (Item){p, p + klen, klen - 1, stop - (p + klen), 1};
            if (!next) break;
            p = next;
            continue;
        }
        const unsigned char *uuid;
        Py_ssize_t vlen = vm_group(p, e, &uuid);
        if (!vlen) {            /* (not a key=value list: text) */
            *whole = 0;
            return n;
        }
        E->items[n++] = (Item){(const unsigned char *)"domain", p + 10, 6, uuid - (p + 10), 1};
        E->items[n++] = (Item){(const unsigned char *)"uuid", uuid + 7, 4, p + vlen - 1 - (uuid + 7), 1};
        p += vlen;
        if (p >= e) break;
        const unsigned char *next = separator_here(p, e, 1);
        if (!next) {
            *whole = 0;
            return n;
        }
        p = next;
    }
    return first_of_each_key(E, n) < 0 ? -1 : n;
}

/* Of a key given twice among the n items the first counts (the others' `use` cleared; sorted
 * by key and place when there are many). */
static int first_of_each_key(Easy *E, Py_ssize_t n)
{
    if (n <= 32) {
        for (Py_ssize_t a = 1; a < n; a++)
            for (Py_ssize_t b = 0; b < a; b++)
                if (same_key(&E->items[a], &E->items[b])) {
                    E->items[a].use = 0;
                    break;
                }
    } else {
        Item **order = malloc(n * sizeof(Item *));
        if (!order) return -1;
        for (Py_ssize_t a = 0; a < n; a++) order[a] = &E->items[a];
        qsort(order, n, sizeof(Item *), by_key_then_place);
        for (Py_ssize_t a = 1; a < n; a++)
            if (same_key(order[a], order[a - 1])) order[a]->use = 0;
        free(order);
    }
    return 0;
}

/* ---- job lines: 'Starting job: API=... (vm=0x..., name=..., current job=...)' ----
 *
 * families._job_fields reads them by the grammar's JOB_VERB, HVALUE, JOB_NAME, JOB_OPEN and
 * JVALUE; here the same for a line of printable ASCII without a bracketed key (any other goes to
 * families.py, as does every line that is not a whole job line: Python decides what it is). */
enum { ITEMS_PYTHON = -2 };

static const char *const JOB_VERBS[] = {"Starting", "Started", "Stopping", "Waiting for"};
static const char *const JOB_KINDS[] = {" async", " agent", " nested", ""};

/* Where the job verb's match ends (JOB_VERB: a verb, a kind, ' job', then ': ' or ' ' not
 * before '(', or nothing before ' ('), or NULL. */
static const unsigned char *job_verb(const unsigned char *m, const unsigned char *e)
{
    for (int v = 0; v < 4; v++) {
        if (!starts_with(m, e, JOB_VERBS[v])) continue;
        const unsigned char *q = m + strlen(JOB_VERBS[v]);
        for (int k = 0; k < 4; k++) {
            const unsigned char *j = q + strlen(JOB_KINDS[k]);
            if (!starts_with(q, e, JOB_KINDS[k]) || !starts_with(j, e, " job")) continue;
            j += 4;
            if (starts_with(j, e, ": ") && !(j + 2 < e && j[2] == '(')) return j + 2;
            if (starts_with(j, e, " ") && !(j + 1 < e && j[1] == '(')) return j + 1;
            if (starts_with(j, e, " (")) return j;
            return NULL;
        }
        return NULL;
    }
    return NULL;
}

/* '(vm=' or '(async=' at p */
static int job_open_key(const unsigned char *p, const unsigned char *e)
{
    return starts_with(p, e, "(vm=") || starts_with(p, e, "(async=");
}

/* A value from p, after its key's '=' (HVALUE, head: up to a separator before a key or a
 * blank before '(vm=' or '(async='; JVALUE, in the brackets: up to a separator before a key or
 * the last ')'): where it stops; *next: the key after the separator, or NULL.  (A separator
 * starts at ',' or at a blank not after another: SEP's lookbehind.) */
static const unsigned char *job_value(const unsigned char *p, const unsigned char *e, int head,
                                      const unsigned char **next)
{
    const unsigned char *i = p;
    *next = NULL;
    for (; i < e; i++) {
        if (*i == ',' || (is_space(*i) && !is_space(i[-1]))) {
            const unsigned char *k = separator_here(i, e, 0);
            if (k) {
                *next = k;
                return i;
            }
        }
        if (head ? is_space(*i) && job_open_key(i + 1, e) : *i == ')' && i + 1 == e) return i;
    }
    return e;
}

/* The key=value items from the key at p (of klen bytes) as long as a separator before a key
 * follows a value, appended to E->items after *n: where the last value stops, or NULL (no
 * memory). */
static const unsigned char *job_keys(Easy *E, Py_ssize_t *n, const unsigned char *p, Py_ssize_t klen,
                                     const unsigned char *e, int head)
{
    for (;;) {
        if (item_room(E, *n) < 0) return NULL;
        const unsigned char *next, *stop = job_value(p + klen, e, head, &next);
        E->items[(*n)++] = (Item){p, p + klen, klen - 1, stop - (p + klen), 1};
        if (!next) return stop;
        p = next;
        klen = key_at(p, e);
    }
}

/* The items of a job line (action, the head's keys or the job's name, the keys in brackets;
 * the first of each key marked `use`): their number, or ITEMS_PYTHON, or -1 (no memory). */
static Py_ssize_t job_items(Easy *E, const unsigned char *m, Py_ssize_t len)
{
    const unsigned char *e = m + len;
    const unsigned char *p = job_verb(m, e);
    if (!p || e[-1] != ')') return ITEMS_PYTHON;
    for (const unsigned char *q = m; q < e; q++)
        if (*q < 0x20 || *q > 0x7e || (*q == '[' && q + 1 < e && q[1] == '"')) return ITEMS_PYTHON;
    /* (JOB_VERB's lookahead: '(vm=' or '(async=' ahead, the line ending with ')') */
    int ahead = 0;
    for (const unsigned char *q = p; q < e && !ahead; q++)
        ahead = *q == '(' && job_open_key(q, e) && q + (q[1] == 'v' ? 4 : 7) < e;
    if (!ahead) return ITEMS_PYTHON;
    Py_ssize_t n = 0;
    const unsigned char *act = p;
    while (act > m && (act[-1] == ':' || act[-1] == ' ')) act--;
    if (item_room(E, n) < 0) return -1;
    E->items[n++] = (Item){(const unsigned char *)"action", m, 6, act - m, 1};
    Py_ssize_t klen = key_at(p, e);
    if (klen) {
        if (!(p = job_keys(E, &n, p, klen, e, 1))) return -1;
    } else {
        /* JOB_NAME: the shortest text without '(' or '=' before ' (' */
        for (const unsigned char *q = p; q < e; q++) {
            if (q > p && *q == ' ' && q + 1 < e && q[1] == '(') {
                if (item_room(E, n) < 0) return -1;
                E->items[n++] = (Item){(const unsigned char *)"job", p, 3, q - p, 1};
                p = q;
                break;
            }
            if (*q == '(' || *q == '=') break;
        }
    }
    if (!(starts_with(p, e, " (") && job_open_key(p + 1, e))) return ITEMS_PYTHON;
    p += 2;
    if (!(klen = key_at(p, e))) return ITEMS_PYTHON;
    if (!(p = job_keys(E, &n, p, klen, e, 0))) return -1;
    if (p != e - 1) return ITEMS_PYTHON;
    return first_of_each_key(E, n) < 0 ? -1 : n;
}

/* A text row: kind 'text', every field null. */
static int text_row(Easy *E)
{
    if (col_put(&E->kind, "text", 4) < 0 || col_row(&E->kind, 1) < 0 || col_row(&E->fields, 0) < 0) return -1;
    for (Py_ssize_t c = 0; c < E->ncommon; c++)
        if (col_row(&E->cols[c], 0) < 0) return -1;
    return 0;
}

static int items_row(Easy *E, const char *kind, Py_ssize_t kind_len, Py_ssize_t n);

/* One message's row of every column. */
static int one_message(Easy *E, const unsigned char *m, Py_ssize_t len)
{
    Py_ssize_t name;
    int whole;
    Py_ssize_t n = message_items(E, m, len, &name, &whole);
    if (n < 0) return -1;
    if (!whole) return text_row(E);
    return items_row(E, name ? (const char *)m : "kv", name ? name : 2, n);
}

/* The row of n items of E->items: kind, the common fields, the others as JSON. */
static int items_row(Easy *E, const char *kind, Py_ssize_t kind_len, Py_ssize_t n)
{
    if (col_put(&E->kind, kind, kind_len) < 0 || col_row(&E->kind, 1) < 0) return -1;
    /* the common fields */
    for (Py_ssize_t c = 0; c < E->ncommon; c++) {
        Item *found = NULL;
        for (Py_ssize_t a = 0; a < n && !found; a++)
            if (E->items[a].use && E->items[a].key_len == E->common_len[c]
                && memcmp(E->items[a].key, E->common[c], E->common_len[c]) == 0)
                found = &E->items[a];
        if (found) {
            found->use = 0;
            if (col_put(&E->cols[c], (const char *)found->value, found->value_len) < 0) return -1;
        }
        if (col_row(&E->cols[c], found != NULL) < 0) return -1;
    }
    /* the others as JSON, json.dumps' spacing */
    int any = 0;
    for (Py_ssize_t a = 0; a < n; a++) {
        Item *it = &E->items[a];
        if (!it->use) continue;
        if (col_put(&E->fields, any ? ", \"" : "{\"", any ? 3 : 2) < 0
            || col_put(&E->fields, (const char *)it->key, it->key_len) < 0 || col_put(&E->fields, "\": \"", 4) < 0
            || put_escaped(&E->fields, it->value, it->value_len) < 0 || col_put(&E->fields, "\"", 1) < 0)
            return -1;
        any = 1;
    }
    if (any && col_put(&E->fields, "}", 1) < 0) return -1;
    return col_row(&E->fields, any);
}

static PyObject *bytes_of(const void *data, Py_ssize_t size)
{
    return PyBytes_FromStringAndSize(size ? (const char *)data : "", size);
}

static PyObject *column_tuple(Column *c)
{
    int32_t zero = 0;
    return Py_BuildValue("(NNNn)", c->rows ? bytes_of(c->off, (c->rows + 1) * 4) : bytes_of(&zero, 4),
                         bytes_of(c->data, c->len), bytes_of(c->valid, c->rows), c->nulls);
}

/* easy(offsets, data, first, n, common) -> (routes, kind, fields, [common columns]), each
 * column (int32 offsets, data, one validity byte a row, nulls); each message's route by
 * blockrows.routes' rules */
static PyObject *easy(PyObject *self, PyObject *args)
{
    Py_buffer offs, data;
    Py_ssize_t first, n;
    PyObject *common;
    if (!PyArg_ParseTuple(args, "y*y*nnO!", &offs, &data, &first, &n, &PyTuple_Type, &common)) return NULL;
    Easy E;
    memset(&E, 0, sizeof E);
    PyObject *out = NULL;
    E.ncommon = PyTuple_GET_SIZE(common);
    if (E.ncommon > MAX_COMMON || first < 0 || n < 0 || (first + n + 1) * 4 > offs.len) {
        PyErr_SetString(PyExc_ValueError, "easy: bad arguments");
        goto done;
    }
    for (Py_ssize_t c = 0; c < E.ncommon; c++) {
        PyObject *k = PyTuple_GET_ITEM(common, c);
        if (!PyBytes_Check(k)) {
            PyErr_SetString(PyExc_TypeError, "easy: the common keys are bytes");
            goto done;
        }
        E.common[c] = PyBytes_AS_STRING(k);
        E.common_len[c] = PyBytes_GET_SIZE(k);
    }
    const int32_t *off = (const int32_t *)offs.buf + first;
    for (Py_ssize_t r = 0; r <= n; r++)
        if (off[r] < 0 || off[r] > data.len || (r && off[r] < off[r - 1])) {
            PyErr_SetString(PyExc_ValueError, "easy: offsets outside the data");
            goto done;
        }
    PyObject *routes = PyBytes_FromStringAndSize(NULL, n);
    if (!routes) goto done;
    uint8_t *way = (uint8_t *)PyBytes_AS_STRING(routes);
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n && rc == 0; r++) {
        const unsigned char *m = (const unsigned char *)data.buf + off[r], *e = m + (off[r + 1] - off[r]);
        way[r] = (uint8_t)route(m, e);
        if (way[r] == EASY) {
            rc = one_message(&E, m, e - m);
            continue;
        }
        if (way[r] == PYTHON) {
            Py_ssize_t k = job_items(&E, m, e - m);
            if (k == -1) {
                rc = -1;
                continue;
            }
            if (k >= 0) {
                way[r] = EASY;
                rc = items_row(&E, "job", 3, k);
                continue;
            }
        }
        /* text: kind 'text' and no fields; Python's: nothing yet */
        if (way[r] == TEXT) rc = col_put(&E.kind, "text", 4);
        rc = rc < 0 ? rc : col_row(&E.kind, way[r] == TEXT) < 0 ? -1 : col_row(&E.fields, 0);
        for (Py_ssize_t c = 0; c < E.ncommon && rc == 0; c++) rc = col_row(&E.cols[c], 0);
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        Py_DECREF(routes);
        PyErr_NoMemory();
        goto done;
    }
    PyObject *cols = PyList_New(E.ncommon);
    if (!cols) {
        Py_DECREF(routes);
        goto done;
    }
    for (Py_ssize_t c = 0; c < E.ncommon; c++) PyList_SET_ITEM(cols, c, column_tuple(&E.cols[c]));
    out = Py_BuildValue("(NNNN)", routes, column_tuple(&E.kind), column_tuple(&E.fields), cols);
done:
    col_free(&E.kind);
    col_free(&E.fields);
    for (Py_ssize_t c = 0; c < MAX_COMMON; c++) col_free(&E.cols[c]);
    free(E.items);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return out;
}

/* ---- MessageIndex: the known messages of a file (rows.FileTables) ----
 *
 * A message's row in rows.FileTables' store of the columns read from it, kept across blocks:
 * find() looks up a block's distinct messages, add() appends the new ones, keep() forgets
 * rows (renumbering the others).  A hash table (seeded by the caller) over copies of the
 * messages, compared byte by byte; a Python dict of bytes did the same through ~10^5 bytes
 * objects a block.
 */
typedef struct {
    PyObject_HEAD
    uint64_t seed;
    Py_ssize_t rows, rows_cap, len, cap, slots;
    int64_t *off;             /* rows + 1 */
    uint64_t *hash;           /* per row */
    char *data;
    int32_t *slot;            /* row, or -1 */
} MessageIndex;

static Py_ssize_t index_find(MessageIndex *x, const unsigned char *m, Py_ssize_t n, uint64_t h)
{
    if (!x->slots) return -1;
    Py_ssize_t s = (Py_ssize_t)(h & (uint64_t)(x->slots - 1));
    for (;;) {
        int32_t r = x->slot[s];
        if (r < 0) return -1;
        if (x->hash[r] == h && x->off[r + 1] - x->off[r] == n && memcmp(x->data + x->off[r], m, n) == 0) return r;
        s = (s + 1) & (x->slots - 1);
    }
}

/* The table rebuilt for `rows` rows at most (half full). */
static int index_rehash(MessageIndex *x, Py_ssize_t rows)
{
    Py_ssize_t slots = 1024;
    while (slots < 2 * rows) slots *= 2;
    if (slots != x->slots) {
        int32_t *t = realloc(x->slot, slots * sizeof(int32_t));
        if (!t) return -1;
        x->slot = t;
        x->slots = slots;
    }
    memset(x->slot, 0xff, slots * sizeof(int32_t));
    for (Py_ssize_t r = 0; r < x->rows; r++) {
        Py_ssize_t s = (Py_ssize_t)(x->hash[r] & (uint64_t)(slots - 1));
        while (x->slot[s] >= 0) s = (s + 1) & (slots - 1);
        x->slot[s] = (int32_t)r;
    }
    return 0;
}

static int index_add(MessageIndex *x, const unsigned char *m, Py_ssize_t n, uint64_t h)
{
    if (x->rows + 2 > x->rows_cap) {
        Py_ssize_t cap = x->rows_cap ? x->rows_cap * 2 : 4096;
        int64_t *o = realloc(x->off, cap * sizeof(int64_t));
        if (!o) return -1;
        x->off = o;
        uint64_t *hh = realloc(x->hash, cap * sizeof(uint64_t));
        if (!hh) return -1;
        x->hash = hh;
        if (x->rows_cap == 0) x->off[0] = 0;
        x->rows_cap = cap;
    }
    if (bytes_room(&x->data, &x->cap, x->len + n, 1 << 16) < 0) return -1;
    memcpy(x->data + x->len, m, n);
    x->len += n;
    x->hash[x->rows] = h;
    x->rows++;
    x->off[x->rows] = x->len;
    if (2 * x->rows > x->slots) return index_rehash(x, x->rows);
    Py_ssize_t s = (Py_ssize_t)(h & (uint64_t)(x->slots - 1));
    while (x->slot[s] >= 0) s = (s + 1) & (x->slots - 1);
    x->slot[s] = (int32_t)(x->rows - 1);
    return 0;
}

static int strings_arg(PyObject *args, Py_buffer *offs, Py_buffer *data, Py_ssize_t *first, Py_ssize_t *n,
                       Py_buffer *extra)
{
    if (extra ? !PyArg_ParseTuple(args, "y*y*nny*", offs, data, first, n, extra)
              : !PyArg_ParseTuple(args, "y*y*nn", offs, data, first, n))
        return -1;
    const int32_t *off = (const int32_t *)offs->buf + *first;
    int ok = *first >= 0 && *n >= 0 && (*first + *n + 1) * 4 <= offs->len;
    for (Py_ssize_t r = 0; ok && r <= *n; r++)
        ok = off[r] >= 0 && off[r] <= data->len && (r == 0 || off[r] >= off[r - 1]);
    if (!ok) {
        PyBuffer_Release(offs);
        PyBuffer_Release(data);
        if (extra) PyBuffer_Release(extra);
        PyErr_SetString(PyExc_ValueError, "MessageIndex: offsets outside the data");
        return -1;
    }
    return 0;
}

/* find(offsets, data, first, n) -> int64 rows (-1: not known) of an Arrow string array's texts */
static PyObject *index_find_py(MessageIndex *x, PyObject *args)
{
    Py_buffer offs, data;
    Py_ssize_t first, n;
    if (strings_arg(args, &offs, &data, &first, &n, NULL) < 0) return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 8);
    if (out) {
        int64_t *rows = (int64_t *)PyBytes_AS_STRING(out);
        const int32_t *off = (const int32_t *)offs.buf + first;
        const unsigned char *d = data.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t r = 0; r < n; r++) {
            Py_ssize_t len = off[r + 1] - off[r];
            rows[r] = index_find(x, d + off[r], len, text_hash(d + off[r], len, x->seed));
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    return out;
}

/* add(offsets, data, first, n, which) -> None: the texts at `which` (int64) are the next rows */
static PyObject *index_add_py(MessageIndex *x, PyObject *args)
{
    Py_buffer offs, data, which;
    Py_ssize_t first, n;
    if (strings_arg(args, &offs, &data, &first, &n, &which) < 0) return NULL;
    const int32_t *off = (const int32_t *)offs.buf + first;
    const int64_t *w = which.buf;
    Py_ssize_t k = which.len / 8;
    int rc = 0;
    for (Py_ssize_t i = 0; i < k && rc == 0; i++) {
        if (w[i] < 0 || w[i] >= n) {
            PyErr_SetString(PyExc_IndexError, "MessageIndex.add: a text outside the array");
            rc = -2;
            break;
        }
        const unsigned char *m = (const unsigned char *)data.buf + off[w[i]];
        Py_ssize_t len = off[w[i] + 1] - off[w[i]];
        rc = index_add(x, m, len, text_hash(m, len, x->seed));
    }
    PyBuffer_Release(&offs);
    PyBuffer_Release(&data);
    PyBuffer_Release(&which);
    if (rc == -1) return PyErr_NoMemory();
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

/* keep(new_rows) -> None: row r becomes new_rows[r] (int64, -1: forgotten; the kept rows in
 * their order, numbered from 0) */
static PyObject *index_keep_py(MessageIndex *x, PyObject *args)
{
    Py_buffer keep;
    if (!PyArg_ParseTuple(args, "y*", &keep)) return NULL;
    const int64_t *to = keep.buf;
    if (keep.len / 8 != x->rows) {
        PyBuffer_Release(&keep);
        PyErr_SetString(PyExc_ValueError, "MessageIndex.keep: one new row for each row");
        return NULL;
    }
    Py_ssize_t kept = 0, len = 0;
    for (Py_ssize_t r = 0; r < x->rows; r++) {
        if (to[r] < 0) continue;
        if (to[r] != kept) {
            PyBuffer_Release(&keep);
            PyErr_SetString(PyExc_ValueError, "MessageIndex.keep: the kept rows are numbered in order");
            return NULL;
        }
        Py_ssize_t n = x->off[r + 1] - x->off[r];
        memmove(x->data + len, x->data + x->off[r], n);
        x->hash[kept] = x->hash[r];
        x->off[kept] = len;
        len += n;
        kept++;
    }
    PyBuffer_Release(&keep);
    x->rows = kept;
    x->len = len;
    if (x->off) x->off[kept] = len;
    if (index_rehash(x, kept) < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static Py_ssize_t index_len(MessageIndex *x) { return x->rows; }

static PyObject *index_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "K", &seed)) return NULL;
    MessageIndex *x = (MessageIndex *)type->tp_alloc(type, 0);
    if (x) x->seed = seed;
    return (PyObject *)x;
}

static void index_dealloc(MessageIndex *x)
{
    free(x->off);
    free(x->hash);
    free(x->data);
    free(x->slot);
    Py_TYPE(x)->tp_free((PyObject *)x);
}

static PyMethodDef index_methods[] = {
    {"find", (PyCFunction)index_find_py, METH_VARARGS,
     "find(offsets, data, first, n) -> int64 rows of the texts of an Arrow string array (-1: unknown)"},
    {"add", (PyCFunction)index_add_py, METH_VARARGS,
     "add(offsets, data, first, n, which) -> None: the texts at `which` (int64) become the next rows"},
    {"keep", (PyCFunction)index_keep_py, METH_VARARGS,
     "keep(new_rows) -> None: row r becomes new_rows[r] (int64; -1: forgotten; kept rows in order)"},
    {NULL, NULL, 0, NULL}
};

static PySequenceMethods index_sequence = {.sq_length = (lenfunc)index_len};

static PyTypeObject MessageIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loganalyzer._tablescan.MessageIndex",
    .tp_basicsize = sizeof(MessageIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "MessageIndex(seed): the rows of known texts (see find, add, keep)",
    .tp_new = index_new,
    .tp_dealloc = (destructor)index_dealloc,
    .tp_methods = index_methods,
    .tp_as_sequence = &index_sequence,
};

/* ---- gather: the known messages' columns spread over a block's records (rows.FileTables) ----
 *
 * For each column (int32 offsets, data, one validity byte a row, rows) of the store, the
 * values at `at` (int64 rows, each record's) as an Arrow string column's buffers: (int32
 * offsets, data, validity bitmap or None, nulls), or None for a column null at every record.
 * One pass a column instead of an Arrow take of each (which also checks and copies the
 * store's validity bitmap, packed again after each block's new messages).
 */
typedef struct {
    Py_buffer off, data, valid;
    Py_ssize_t rows;
    int held;
} StoreColumn;

static PyObject *gather_one(const StoreColumn *c, const int64_t *at, Py_ssize_t n)
{
    const int32_t *off = c->off.buf;
    const uint8_t *valid = c->valid.buf;
    const char *data = c->data.buf;
    Py_ssize_t total = 0, nulls = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = at[i];
        if (valid[r]) total += off[r + 1] - off[r];
        else nulls++;
    }
    if (nulls == n) Py_RETURN_NONE;
    if (total >= INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "gather: a string column of 2 GiB");
        return NULL;
    }
    PyObject *offs = PyBytes_FromStringAndSize(NULL, (n + 1) * 4);
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    PyObject *bits = nulls ? PyBytes_FromStringAndSize(NULL, (n + 7) / 8) : (Py_INCREF(Py_None), Py_None);
    if (!offs || !out || !bits) {
        Py_XDECREF(offs);
        Py_XDECREF(out);
        Py_XDECREF(bits);
        return NULL;
    }
    int32_t *o = (int32_t *)PyBytes_AS_STRING(offs);
    char *d = PyBytes_AS_STRING(out);
    uint8_t *b = nulls ? (uint8_t *)PyBytes_AS_STRING(bits) : NULL;
    if (b) memset(b, 0, (n + 7) / 8);
    Py_ssize_t at_byte = 0;
    o[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = at[i];
        if (valid[r]) {
            Py_ssize_t len = off[r + 1] - off[r];
            memcpy(d + at_byte, data + off[r], len);
            at_byte += len;
            if (b) b[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        o[i + 1] = (int32_t)at_byte;
    }
    return Py_BuildValue("(NNNn)", offs, out, bits, nulls);
}

/* gather(at, columns) -> [(offsets, data, bitmap or None, nulls) or None per column] */
static PyObject *gather(PyObject *self, PyObject *args)
{
    Py_buffer at;
    PyObject *columns;
    if (!PyArg_ParseTuple(args, "y*O!", &at, &PyList_Type, &columns)) return NULL;
    Py_ssize_t ncol = PyList_GET_SIZE(columns), n = at.len / 8;
    StoreColumn *cols = calloc(ncol ? ncol : 1, sizeof(StoreColumn));
    PyObject *out = NULL;
    if (!cols) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t c = 0; c < ncol; c++) {
        StoreColumn *s = &cols[c];
        if (!PyArg_ParseTuple(PyList_GET_ITEM(columns, c), "y*y*y*n", &s->off, &s->data, &s->valid, &s->rows))
            goto done;
        s->held = 1;
        /* the store's texts must lie inside its data, its offsets rising */
        const int32_t *off = s->off.buf;
        int ok = s->rows >= 0 && (s->rows + 1) * 4 <= s->off.len && s->rows <= s->valid.len;
        for (Py_ssize_t r = 0; ok && r < s->rows; r++)
            ok = off[r] >= 0 && off[r] <= off[r + 1] && off[r + 1] <= s->data.len;
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "gather: a column's offsets outside its data");
            goto done;
        }
    }
    Py_ssize_t least = PY_SSIZE_T_MAX;
    for (Py_ssize_t c = 0; c < ncol; c++) least = cols[c].rows < least ? cols[c].rows : least;
    const int64_t *rows = at.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (rows[i] < 0 || rows[i] >= least) {
            PyErr_SetString(PyExc_IndexError, "gather: a row outside a column");
            goto done;
        }
    }
    out = PyList_New(ncol);
    if (!out) goto done;
    for (Py_ssize_t c = 0; c < ncol; c++) {
        PyObject *col = gather_one(&cols[c], rows, n);
        if (!col) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, c, col);
    }
done:
    if (cols) {
        for (Py_ssize_t c = 0; c < ncol; c++) {
            if (!cols[c].held) continue;
            PyBuffer_Release(&cols[c].off);
            PyBuffer_Release(&cols[c].data);
            PyBuffer_Release(&cols[c].valid);
        }
        free(cols);
    }
    PyBuffer_Release(&at);
    return out;
}

/* fields(message) -> (kind, fields) as families.classify reads a message of a located debug
 * or info record, or None when it is none of the messages this file reads (a thread, job or
 * phase line, a quoted or bracketed value, bytes beyond ASCII: families.py's).  Text is
 * ('text', {}). */
static PyObject *read_message(const unsigned char *u, Py_ssize_t len, int *python);

static PyObject *fields(PyObject *self, PyObject *arg)
{
    Py_ssize_t len;
    const char *m = PyUnicode_AsUTF8AndSize(arg, &len);
    if (!m) return NULL;
    int python;
    PyObject *out = read_message((const unsigned char *)m, len, &python);
    if (!out && python) Py_RETURN_NONE;
    return out;
}

/* fields()'s answer for the message [u, u + len): NULL with *python set when families.py
 * must read it, NULL alone on an error. */
static PyObject *read_message(const unsigned char *u, Py_ssize_t len, int *python)
{
    const char *m = (const char *)u;
    *python = 0;
    int way = len ? route(u, u + len) : PYTHON;
    int job = way == PYTHON;        /* (a job line, or families.py's: job_items tells) */
    if (way == TEXT) return Py_BuildValue("(sN)", "text", PyDict_New());
    Easy E;
    memset(&E, 0, sizeof E);
    Py_ssize_t name = 0;
    int whole = 1;
    Py_ssize_t n = job ? job_items(&E, u, len) : message_items(&E, u, len, &name, &whole);
    PyObject *out = NULL, *dict = NULL;
    if (n == ITEMS_PYTHON) {
        free(E.items);
        *python = 1;
        return NULL;
    }
    if (n < 0) {
        PyErr_NoMemory();
        goto done;
    }
    dict = PyDict_New();
    if (!dict) goto done;
    if (!whole) {
        out = Py_BuildValue("(sO)", "text", dict);
        goto done;
    }
    for (Py_ssize_t a = 0; a < n; a++) {
        Item *it = &E.items[a];
        if (!it->use) continue;
        PyObject *k = PyUnicode_DecodeASCII((const char *)it->key, it->key_len, NULL);
        PyObject *v = k ? PyUnicode_DecodeASCII((const char *)it->value, it->value_len, NULL) : NULL;
        int rc = v ? PyDict_SetItem(dict, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc < 0) goto done;
    }
    PyObject *kind = name ? PyUnicode_DecodeASCII(m, name, NULL) : PyUnicode_FromString(job ? "job" : "kv");
    if (kind) out = Py_BuildValue("(NO)", kind, dict);
done:
    Py_XDECREF(dict);
    free(E.items);
    return out;
}

/* ---- records(): the Records analyze's correlator reads, from the headers the scan read ----
 *
 * Per record [at, end) of an ASCII block with its header read by _headscan.heads (six int64:
 * thread id, level, function start and length, source line, message start), its stamp's time
 * (NaN: none), its line number and whether Python must read it anyway (slow: a stamp that is
 * no date): a records.Record as fastpath.build_record builds it from the same parts, or None
 * where prefilter reads it with parse_record (slow, a header that is not plain, a warning or
 * error, an empty message, a message families.py reads, other than ASCII). */
static PyObject *ascii_text(const unsigned char *p, Py_ssize_t n)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s) memcpy(PyUnicode_DATA(s), p, n);
    return s;
}

static PyObject *one_record(const unsigned char *b, Py_ssize_t o, Py_ssize_t nx, const int64_t *h, double stamp,
                            int64_t line, PyObject *path, PyObject *cls, PyObject *levels)
{
    /* Python's: no header, a warning or error, no FUNC:LINE, a thread id or source line of 19
     * digits or more (and places outside the record) */
    if (h[0] < -1 || h[1] < 0 || h[1] > 4 || h[1] == 2 || h[1] == 3 || h[3] <= 0 || h[2] < 0
        || h[2] + h[3] > nx - o || h[4] < 0)
        Py_RETURN_NONE;
    unsigned char any = 0;
    for (Py_ssize_t i = o; i < nx; i++) any |= b[i];
    if (any >= 128) Py_RETURN_NONE;
    /* the text: without the final line break and a CR before it (prefilter's rule) */
    Py_ssize_t te = nx;
    if (te > o && b[te - 1] == '\n') {
        te--;
        if (te > o && b[te - 1] == '\r') te--;
    }
    Py_ssize_t ms = h[5] < 0 ? te : o + h[5];
    if (ms >= te) Py_RETURN_NONE;
    int python;
    PyObject *kf = read_message(b + ms, te - ms, &python);
    if (!kf) {
        if (python) Py_RETURN_NONE;
        return NULL;
    }
    PyObject *raw = ascii_text(b + o, nx - o), *body = ascii_text(b + ms, te - ms),
             *func = ascii_text(b + o + h[2], h[3]), *num = PyLong_FromLongLong(line),
             *time = stamp == stamp ? PyFloat_FromDouble(stamp) : Py_NewRef(Py_None),
             *tid = h[0] < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(h[0]), *src = PyLong_FromLongLong(h[4]);
    PyObject *rec = NULL;
    if (raw && body && func && num && time && tid && src) {
        PyObject *argv[12] = {path, num, time, tid, PyTuple_GET_ITEM(levels, h[1]), func, src,
                              PyTuple_GET_ITEM(kf, 0), body, raw, PyTuple_GET_ITEM(kf, 1), Py_None};
        rec = PyObject_Vectorcall(cls, argv, 12, NULL);
    }
    Py_DECREF(kf);
    Py_XDECREF(raw);
    Py_XDECREF(body);
    Py_XDECREF(func);
    Py_XDECREF(num);
    Py_XDECREF(time);
    Py_XDECREF(tid);
    Py_XDECREF(src);
    return rec;
}

/* records(buf, at, end, heads, stamps, lines, slow, path, Record, levels) -> list */
static PyObject *records(PyObject *self, PyObject *args)
{
    Py_buffer bv, atv, endv, hv, sv, lv, slv;
    PyObject *path, *cls, *levels, *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*OOO", &bv, &atv, &endv, &hv, &sv, &lv, &slv, &path, &cls, &levels))
        return NULL;
    Py_ssize_t n = atv.len / 8;
    const int64_t *at = atv.buf, *end = endv.buf, *h = hv.buf, *line = lv.buf;
    const double *stamp = sv.buf;
    const uint8_t *slow = slv.buf;
    int ok = atv.len % 8 == 0 && endv.len == atv.len && hv.len == 6 * atv.len && sv.len == atv.len
             && lv.len == atv.len && slv.len == n && PyTuple_Check(levels) && PyTuple_GET_SIZE(levels) == 5;
    for (Py_ssize_t k = 0; ok && k < n; k++)
        ok = 0 <= at[k] && at[k] <= end[k] && end[k] <= bv.len;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "records: places outside the block, or columns of other lengths");
        goto done;
    }
    out = PyList_New(n);
    for (Py_ssize_t k = 0; out && k < n; k++) {
        PyObject *rec = slow[k] ? Py_NewRef(Py_None)
                                : one_record(bv.buf, at[k], end[k], h + 6 * k, stamp[k], line[k], path, cls, levels);
        if (!rec)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, k, rec);
    }
done:
    PyBuffer_Release(&bv);
    PyBuffer_Release(&atv);
    PyBuffer_Release(&endv);
    PyBuffer_Release(&hv);
    PyBuffer_Release(&sv);
    PyBuffer_Release(&lv);
    PyBuffer_Release(&slv);
    return out;
}

static PyMethodDef methods[] = {
    {"easy", easy, METH_VARARGS,
     "easy(offsets, data, first, n, common) -> (routes, kind, fields, [common columns]): the columns\n"
     "of n messages (an Arrow string array's int32 offsets from `first`, and its data), each one's\n"
     "route (0 text, 1 read here, 2 Python's: null kind) as blockrows.routes decides; each column is\n"
     "(int32 offsets, data, one validity byte a row, nulls)."},
    {"gather", gather, METH_VARARGS,
     "gather(at, columns) -> per column (int32 offsets, data, validity bitmap or None, nulls), or None\n"
     "where every value is null: the values at `at` (int64 rows) of columns given as (int32 offsets,\n"
     "data, one validity byte a row, rows)."},
    {"records", records, METH_VARARGS,
     "records(buf, at, end, heads, stamps, lines, slow, path, Record, levels) -> list: per record of an\n"
     "ASCII block whose header _headscan.heads read, its Record (as fastpath.build_record builds it),\n"
     "or None where prefilter must read it with parse_record."},
    {"fields", fields, METH_O,
     "fields(message) -> (kind, fields) of a located debug or info record's message as families.classify\n"
     "reads it, or None when families.py must read it (text: ('text', {}))."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tablescan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tablescan(void)
{
    if (PyType_Ready(&MessageIndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&MessageIndexType);
    if (PyModule_AddObject(m, "MessageIndex", (PyObject *)&MessageIndexType) < 0) {
        Py_DECREF(&MessageIndexType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
