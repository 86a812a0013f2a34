/* test_text.c - bytes from servers become valid UTF-8, cut on boundaries. */
#include <string.h>

#include "check_run.h"
#include "text.h"

START_TEST(text_invalid_bytes_become_replacement_characters)
{
    char out[64];
    const char in[] = "a\xff" "b\xc3\xa9" "\xed\xa0\x80" "\xc0\xaf";
    size_t n = pf_utf8_clean(in, sizeof in - 1, out, sizeof out);
    ck_assert_str_eq(out, "a\xEF\xBF\xBD" "b\xc3\xa9"
                          "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "\xEF\xBF\xBD\xEF\xBF\xBD");
    ck_assert_uint_eq(n, strlen(out));
}
END_TEST

START_TEST(text_never_splits_a_character_at_the_cap)
{
    char out[4];
    /* "aé" needs 4 bytes with the NUL: fits; "aaé" does not, é is dropped whole. */
    pf_utf8_clean("a\xc3\xa9", 3, out, sizeof out);
    ck_assert_str_eq(out, "a\xc3\xa9");
    pf_utf8_clean("aa\xc3\xa9", 4, out, sizeof out);
    ck_assert_str_eq(out, "aa");
}
END_TEST

START_TEST(text_tail_starts_on_a_boundary)
{
    const char s[] = "x\xc3\xa9y";
    ck_assert_uint_eq(pf_utf8_boundary(s, 4, 2), 3);
    ck_assert_uint_eq(pf_utf8_boundary(s, 4, 1), 1);
}
END_TEST

START_TEST(text_nul_is_replaced)
{
    char out[16];
    pf_utf8_clean("a\0b", 3, out, sizeof out);
    ck_assert_str_eq(out, "a\xEF\xBF\xBD" "b");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, text_invalid_bytes_become_replacement_characters);
    tcase_add_test(tc, text_never_splits_a_character_at_the_cap);
    tcase_add_test(tc, text_tail_starts_on_a_boundary);
    tcase_add_test(tc, text_nul_is_replaced);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
