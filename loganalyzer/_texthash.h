/* The hash of a text for the compiled scans' hash tables (_headscan's distinct messages of a
 * block, _tablescan's known messages of a file): 8 bytes a step, seeded by the caller with
 * random bits so that a log cannot be written to collide (the tables compare the texts too). */
#ifndef LOGANALYZER_TEXTHASH_H
#define LOGANALYZER_TEXTHASH_H
#include <stdint.h>
#include <string.h>

static uint64_t text_hash(const unsigned char *p, Py_ssize_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x94D049BB133111EBULL;
    h ^= h >> 29;
    return h;
}
#endif
