/*
 * test_strbuf.c - the string buffer of the reports (common/strbuf.c): growth,
 * the escapes (XML, JSON, base64), the number formats, and writing a file
 * through a temporary name.
 */
#include "check.h"
#include "common/strbuf.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EQ_TEXT(buf, text)                                                            \
    do {                                                                              \
        CHECK((buf).len == strlen(text) && memcmp((buf).data, text, (buf).len) == 0); \
        if ((buf).len != strlen(text) || memcmp((buf).data, text, (buf).len) != 0)    \
            fprintf(stderr, "  got \"%.*s\", wanted \"%s\"\n", (int)(buf).len,        \
                    (buf).data ? (buf).data : "", text);                              \
    } while (0)

static void growth(void)
{
    hm_buf b = {0};
    for (int i = 0; i < 100000; i++)
        hm_buf_printf(&b, "%d,", i % 10);
    CHECK(!b.failed);
    CHECK_EQ_I64(b.len, 200000);
    int bad = 0;
    for (int i = 0; i < 100000; i++)
        bad += b.data[2 * i] != '0' + i % 10 || b.data[2 * i + 1] != ',';
    CHECK_EQ_I64(bad, 0);
    hm_buf_free(&b);
}

static void escapes(void)
{
    hm_buf b = {0};
    hm_buf_xml(&b, "a<b>&\"c'\x01");
    EQ_TEXT(b, "a&lt;b&gt;&amp;&quot;c&#39;");
    b.len = 0;
    hm_buf_xml(&b, "tab\there\nnext line, kept whole");
    EQ_TEXT(b, "tab\there&#10;next line, kept whole");
    b.len = 0;
    hm_buf_json(&b, "plain text, one run");
    EQ_TEXT(b, "\"plain text, one run\"");
    b.len = 0;
    hm_buf_json(&b, "q\"\\\n<\x01\xc3\xa9");
    /* Control characters as \u escapes, '<' too (safe inside <script>). */
    EQ_TEXT(b, "\"q\\\"\\\\\\u000a\\u003c\\u0001\xc3\xa9\"");
    b.len = 0;
    hm_buf_base64(&b, "Man", 3);
    EQ_TEXT(b, "TWFu");
    b.len = 0;
    hm_buf_base64(&b, "Ma", 2);
    EQ_TEXT(b, "TWE=");
    b.len = 0;
    hm_buf_base64(&b, "M", 1);
    EQ_TEXT(b, "TQ==");
    hm_buf_free(&b);
}

static void numbers(void)
{
    hm_buf b = {0};
    hm_buf_int(&b, 0);
    hm_buf_putn(&b, " ", 1);
    hm_buf_int(&b, -42);
    hm_buf_putn(&b, " ", 1);
    hm_buf_int(&b, INT64_MIN);
    hm_buf_putn(&b, " ", 1);
    hm_buf_int(&b, INT64_MAX);
    EQ_TEXT(b, "0 -42 -9223372036854775808 9223372036854775807");
    b.len = 0;
    hm_buf_fixed2(&b, 12.345678);
    hm_buf_putn(&b, " ", 1);
    hm_buf_fixed2(&b, -0.25);
    hm_buf_putn(&b, " ", 1);
    hm_buf_fixed2(&b, 7);
    hm_buf_putn(&b, " ", 1);
    hm_buf_fixed2(&b, 0.004);
    EQ_TEXT(b, "12.35 -0.25 7.00 0.00");
    b.len = 0;
    hm_buf_fixed(&b, 3.14159, 4); /* a timeline's seconds */
    hm_buf_putn(&b, " ", 1);
    hm_buf_fixed(&b, 0.0000004, 6);
    hm_buf_putn(&b, " ", 1);
    hm_buf_fixed(&b, -1234.56789, 1);
    hm_buf_putn(&b, " ", 1);
    hm_buf_fixed(&b, 100.0 * 6945499 / 15623097, 2); /* a flame graph's share */
    EQ_TEXT(b, "3.1416 0.000000 -1234.6 44.46");
    /* Away from the one-in-a-million ties, printf's digits, for many values. */
    char want[64], got[64];
    int same = 1;
    for (int i = 0; i < 20000 && same; i++) {
        double v = (double)(check_random() >> 11) / 9007199254740992.0 * 20000 - 10000;
        for (int digits = 1; digits <= 6; digits++) {
            b.len = 0;
            hm_buf_fixed(&b, v, digits);
            snprintf(got, sizeof got, "%.*s", (int)b.len, b.data);
            snprintf(want, sizeof want, "%.*f", digits, v);
            if (strcmp(got, want) != 0) {
                fprintf(stderr, "hm_buf_fixed(%.17g, %d): %s, printf: %s\n", v, digits, got, want);
                same = 0;
            }
        }
    }
    CHECK(same);
    b.len = 0;
    hm_buf_grouped(&b, 12345678);
    EQ_TEXT(b, "12,345,678");
    b.len = 0;
    hm_buf_grouped(&b, 999);
    EQ_TEXT(b, "999");
    b.len = 0;
    hm_buf_grouped(&b, -1234);
    EQ_TEXT(b, "-1,234");
    b.len = 0;
    hm_buf_bytes(&b, 812);
    EQ_TEXT(b, "812 B");
    b.len = 0;
    hm_buf_bytes(&b, 3 << 19);
    EQ_TEXT(b, "1.5 MiB");
    hm_buf_free(&b);
    CHECK_EQ_I64(hm_text_width("h\xc3\xa9llo"), 5);
}

static int files_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void write_file(void)
{
    char dir[] = "/tmp/hm-strbuf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    hm_buf b = {0};
    for (int i = 0; i < 50000; i++)
        hm_buf_puts(&b, "line\n");
    CHECK(hm_buf_write_file(&b, path, err, sizeof err));
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 250000);
    CHECK_EQ_I64(files_in(dir), 1); /* no temporary file left */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/out.txt", dir);
    err[0] = '\0';
    CHECK(!hm_buf_write_file(&b, missing, err, sizeof err));
    CHECK(err[0] != '\0' && strstr(err, "no/such/dir") != NULL);
    hm_buf_free(&b);
    unlink(path);
    rmdir(dir);
}

static void utf8(void)
{
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"a"), 1);
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xc3\xa9"), 2);
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xe2\x82\xac"), 3);
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xed\xa0\x80"), 0);     /* surrogate */
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xc0\xaf"), 0);         /* overlong */
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xf4\x90\x80\x80"), 0); /* > U+10FFFF */
    CHECK_EQ_I64(hm_utf8_sequence((const unsigned char *)"\xe2\x82"), 0);         /* cut short */
    char *copy = hm_valid_text_copy((const unsigned char *)"ok\xed\xa0\x80!\xc3\xa9");
    CHECK(copy && strcmp(copy, "ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!\xc3\xa9") == 0);
    free(copy);
    copy = hm_valid_text_copy(NULL);
    CHECK(copy && copy[0] == '\0');
    free(copy);
}

int main(int argc, char **argv)
{
    (void)argc;
    growth();
    escapes();
    numbers();
    utf8();
    write_file();
    return check_summary(argv[0]);
}
