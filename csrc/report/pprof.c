/*
 * pprof.c - the pprof export: profile.proto, gzipped, as
 * `go tool pprof` and Grafana Pyroscope read it.
 *
 * Owns: the protobuf encoding (by hand: a handful of varint and
 * length-delimited fields), the choice of sample types in the style of Go
 * heap profiles (alloc_* from the "allocated" snapshot, inuse_* from the
 * chosen one), and the gzip wrapper (zlib).
 * Must never: invent values (every sample is one call-tree node's own bytes
 * and count as stored), or leave out that sampled values are estimates (the
 * profile's comments say so, as the text reports do).
 */
#include "report/report.h"
#include "common/intern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* profile.proto field numbers (github.com/google/pprof/proto/profile.proto). */
enum {
    PROFILE_SAMPLE_TYPE = 1,
    PROFILE_SAMPLE = 2,
    PROFILE_MAPPING = 3,
    PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5,
    PROFILE_STRING_TABLE = 6,
    PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11,
    PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1,
    VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1,
    SAMPLE_VALUE = 2,
    MAPPING_ID = 1,
    MAPPING_FILENAME = 5,
    MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1,
    LOCATION_MAPPING_ID = 2,
    LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1,
    LINE_LINE = 2,
    FUNCTION_ID = 1,
    FUNCTION_NAME = 2,
    FUNCTION_FILENAME = 4,
};
enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void varint(hm_buf *b, uint64_t v)
{
    char bytes[10];
    size_t n = 0;
    do {
        bytes[n] = (char)(v & 0x7f);
        v >>= 7;
        if (v)
            bytes[n] |= (char)0x80;
        n++;
    } while (v);
    hm_buf_putn(b, bytes, n);
}

static void field_varint(hm_buf *b, unsigned field, uint64_t v)
{
    varint(b, (uint64_t)field << 3 | WIRE_VARINT);
    varint(b, v);
}

static void field_bytes(hm_buf *b, unsigned field, const char *data, size_t len)
{
    varint(b, (uint64_t)field << 3 | WIRE_LEN);
    varint(b, len);
    hm_buf_putn(b, data ? data : "", len);
}

/* A nested message, built in msg and then emitted into b. */
static void field_message(hm_buf *b, unsigned field, hm_buf *msg)
{
    field_bytes(b, field, msg->data, msg->len);
    b->failed |= msg->failed;
    msg->len = 0;
}

typedef struct {
    hm_intern strings;
    bool failed;
} string_table;

static int64_t str(string_table *t, const char *s)
{
    uint32_t id = hm_intern_text(&t->strings, s, NULL);
    if (id == UINT32_MAX) {
        t->failed = true;
        return 0;
    }
    return id;
}

static void value_type(hm_buf *b, unsigned field, hm_buf *msg, string_table *t, const char *type,
                       const char *unit)
{
    field_varint(msg, VALUE_TYPE_TYPE, (uint64_t)str(t, type));
    field_varint(msg, VALUE_TYPE_UNIT, (uint64_t)str(t, unit));
    field_message(b, field, msg);
}

static void comment(hm_buf *b, string_table *t, const char *text)
{
    field_varint(b, PROFILE_COMMENT, (uint64_t)str(t, text));
}

static void comments(hm_buf *b, hm_buf *scratch, string_table *t, const hm_profile *p, int snapshot)
{
    scratch->len = 0;
    hm_buf_printf(scratch, "heapmark %s export of %s", HM_VERSION, p->path);
    comment(b, t, scratch->data ? scratch->data : "");
    scratch->len = 0;
    hm_buf_printf(scratch, "command: %s", hm_profile_meta(p, "command"));
    comment(b, t, scratch->data ? scratch->data : "");
    if (snapshot != HM_SNAP_ALLOCATED) {
        scratch->len = 0;
        hm_buf_printf(scratch, "inuse_space, inuse_objects: memory held at the %s (",
                      hm_snapshot_name(snapshot));
        hm_buf_bytes(scratch, p->snapshot_total[snapshot - 1]);
        hm_buf_puts(scratch, p->nprocesses > 1 && snapshot != HM_SNAP_JOB_PEAK
                                 ? " tracked, each process at its own); "
                                 : " tracked); ");
        hm_buf_puts(scratch, "alloc_space, alloc_objects: everything allocated during the run");
        comment(b, t, scratch->data ? scratch->data : "");
    } else {
        comment(b, t, "alloc_space, alloc_objects: everything allocated during the run");
    }
    scratch->len = 0;
    if (hm_profile_is_exact(p)) {
        hm_buf_puts(scratch, "exact: every allocation recorded");
    } else {
        hm_buf_puts(scratch, "sampled: per-line values are unbiased estimates from samples every ");
        hm_buf_bytes(scratch, hm_profile_meta_int(p, "sample_rate"));
        hm_buf_puts(scratch, " allocated (totals are exact)");
    }
    comment(b, t, scratch->data ? scratch->data : "");
}

/* The uncompressed profile.proto message. */
static bool encode(const hm_profile *p, int snapshot, hm_buf *b, char *err, size_t errlen)
{
    string_table t = {{0}, false};
    hm_buf msg = {0}, scratch = {0};
    hm_intern functions = {0};
    uint32_t *function_of = malloc((p->nframes + 1) * sizeof *function_of);
    bool ok = function_of != NULL;
    str(&t, ""); /* index 0 is the empty string, as the format requires */

    bool with_inuse = snapshot != HM_SNAP_ALLOCATED;
    value_type(b, PROFILE_SAMPLE_TYPE, &msg, &t, "alloc_objects", "count");
    value_type(b, PROFILE_SAMPLE_TYPE, &msg, &t, "alloc_space", "bytes");
    if (with_inuse) {
        value_type(b, PROFILE_SAMPLE_TYPE, &msg, &t, "inuse_objects", "count");
        value_type(b, PROFILE_SAMPLE_TYPE, &msg, &t, "inuse_space", "bytes");
    }

    /* Samples: one per node that holds anything of its own; locations leaf
     * first (a value on the root itself would be a sample with none). */
    const hm_value *alloc = p->self[HM_SNAP_ALLOCATED - 1];
    const hm_value *inuse = p->self[snapshot - 1];
    for (size_t n = 0; ok && n < p->nnodes; n++) {
        if (alloc[n].bytes == 0 && alloc[n].count == 0 && inuse[n].bytes == 0 &&
            inuse[n].count == 0)
            continue;
        scratch.len = 0;
        for (uint32_t k = (uint32_t)n; k != 0; k = p->nodes[k].parent)
            varint(&scratch, (uint64_t)p->nodes[k].frame + 1);
        field_bytes(&msg, SAMPLE_LOCATION_ID, scratch.data, scratch.len);
        scratch.len = 0;
        varint(&scratch, (uint64_t)alloc[n].count);
        varint(&scratch, (uint64_t)alloc[n].bytes);
        if (with_inuse) {
            varint(&scratch, (uint64_t)inuse[n].count);
            varint(&scratch, (uint64_t)inuse[n].bytes);
        }
        field_bytes(&msg, SAMPLE_VALUE, scratch.data, scratch.len);
        field_message(b, PROFILE_SAMPLE, &msg);
    }

    /* One mapping that says symbols are already there, so pprof does not
     * go looking for a binary to symbolize. */
    field_varint(&msg, MAPPING_ID, 1);
    field_varint(&msg, MAPPING_FILENAME, (uint64_t)str(&t, "python"));
    field_varint(&msg, MAPPING_HAS_FUNCTIONS, 1);
    field_varint(&msg, MAPPING_HAS_FILENAMES, 1);
    field_varint(&msg, MAPPING_HAS_LINE_NUMBERS, 1);
    field_message(b, PROFILE_MAPPING, &msg);

    /* A location per frame (id = frame + 1); a function per (name, file). */
    for (size_t f = 0; ok && f < p->nframes; f++) {
        const hm_pframe *fr = &p->frames[f];
        scratch.len = 0;
        hm_buf_puts(&scratch, fr->function);
        hm_buf_putn(&scratch, "", 1);
        hm_buf_puts(&scratch, fr->file);
        /* With its terminating NUL, so that both halves read back as strings. */
        function_of[f] = hm_intern_put(&functions, scratch.data ? scratch.data : "",
                                       scratch.data ? scratch.len + 1 : 0, NULL);
        ok = function_of[f] != UINT32_MAX && !scratch.failed;
        field_varint(&msg, LOCATION_ID, f + 1);
        field_varint(&msg, LOCATION_MAPPING_ID, 1);
        scratch.len = 0;
        field_varint(&scratch, LINE_FUNCTION_ID, (uint64_t)function_of[f] + 1);
        field_varint(&scratch, LINE_LINE, (uint64_t)(int64_t)fr->line);
        field_message(&msg, LOCATION_LINE, &scratch);
        field_message(b, PROFILE_LOCATION, &msg);
    }
    for (uint32_t id = 0; ok && id < functions.count; id++) {
        size_t len;
        const char *name = hm_intern_key(&functions, id, &len);
        const char *file = name + strlen(name) + 1;
        field_varint(&msg, FUNCTION_ID, (uint64_t)id + 1);
        /* No system_name: pprof would "demangle" a name equal to it, and
         * take "<module>" for C++ template parameters. */
        field_varint(&msg, FUNCTION_NAME, (uint64_t)str(&t, name));
        field_varint(&msg, FUNCTION_FILENAME, (uint64_t)str(&t, file));
        field_message(b, PROFILE_FUNCTION, &msg);
    }

    double start = hm_profile_meta_real(p, "start_unix");
    double duration = hm_profile_meta_real(p, "duration_s");
    field_varint(b, PROFILE_TIME_NANOS, (uint64_t)(int64_t)(start * 1e9));
    field_varint(b, PROFILE_DURATION_NANOS, (uint64_t)(int64_t)(duration * 1e9));
    value_type(b, PROFILE_PERIOD_TYPE, &msg, &t, "space", "bytes");
    field_varint(b, PROFILE_PERIOD, (uint64_t)hm_profile_meta_int(p, "sample_rate"));
    comments(b, &scratch, &t, p, snapshot);
    field_varint(b, PROFILE_DEFAULT_SAMPLE_TYPE,
                 (uint64_t)str(&t, with_inuse ? "inuse_space" : "alloc_space"));

    /* The string table last: everything above has interned its strings. */
    for (uint32_t id = 0; ok && id < t.strings.count; id++) {
        size_t len;
        const char *s = hm_intern_key(&t.strings, id, &len);
        field_bytes(b, PROFILE_STRING_TABLE, s, len);
    }
    ok = ok && !t.failed && !msg.failed && !scratch.failed && !b->failed;
    if (!ok)
        snprintf(err, errlen, "out of memory while encoding the pprof profile");
    hm_intern_free(&t.strings);
    hm_intern_free(&functions);
    hm_buf_free(&msg);
    hm_buf_free(&scratch);
    free(function_of);
    return ok;
}

/* gzip (RFC 1952) of in, appended to out. */
static bool gzip(const hm_buf *in, hm_buf *out, char *err, size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        snprintf(err, errlen, "cannot compress the pprof profile: %s", z.msg ? z.msg : "zlib");
        return false;
    }
    z.next_in = (Bytef *)(in->data ? in->data : "");
    z.avail_in = (uInt)in->len;
    char chunk[65536];
    int rc;
    do {
        z.next_out = (Bytef *)chunk;
        z.avail_out = sizeof chunk;
        rc = deflate(&z, Z_FINISH);
        hm_buf_putn(out, chunk, sizeof chunk - z.avail_out);
    } while (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0));
    deflateEnd(&z);
    if (rc != Z_STREAM_END || out->failed) {
        snprintf(err, errlen, "cannot compress the pprof profile%s",
                 out->failed ? ": out of memory" : "");
        return false;
    }
    return true;
}

bool hm_render_pprof(const hm_profile *p, int snapshot, hm_buf *out, char *err, size_t errlen)
{
    hm_buf raw = {0};
    bool ok = encode(p, snapshot, &raw, err, errlen);
    if (ok && raw.len > UINT32_MAX) {
        snprintf(err, errlen, "the pprof profile is larger than 4 GiB");
        ok = false;
    }
    ok = ok && gzip(&raw, out, err, errlen);
    hm_buf_free(&raw);
    return ok;
}
