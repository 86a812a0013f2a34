/* check_run.h - runs one Check suite the same way in every unit test:
 * CK_NORMAL output, exit status EXIT_FAILURE if any check failed. */
#ifndef PF_CHECK_RUN_H
#define PF_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int pf_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
