/* The ordered pcap writer when the file cannot grow: with RLIMIT_FSIZE
 * (SIGXFSZ ignored) a write past the limit fails with EFBIG, as on a full
 * disk. The first failure is reported with the file's name and strerror,
 * and every later call says the same. Run in a child: the limit would hold
 * for the whole test process. */
#define _GNU_SOURCE
#include "qns_capture.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* In the child: 0 when every expectation held, else the failed step. */
static int write_past_the_limit(const char *path)
{
    char e[QNS_ERRBUF_SIZE], want[QNS_ERRBUF_SIZE];
    struct rlimit rl = {4096, 4096};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0) {
        return 1;
    }
    qns_capture *c = qns_capture_open(path, e);
    if (c == NULL) {
        return 2;
    }
    uint8_t frame[1000];
    memset(frame, 0xab, sizeof(frame));
    snprintf(want, sizeof(want), "capture %s: write failed: File too large", path);
    int failed_at = -1;
    for (int i = 0; i < 20 && failed_at < 0; i++) {
        if (qns_capture_add(c, (uint64_t)i * 1000, frame, sizeof(frame), e) < 0) {
            return 3;
        }
        if (qns_capture_flush_before(c, (uint64_t)i * 1000 + 1, e) < 0) {
            failed_at = i;
        }
    }
    /* 24 bytes of header and 16 + 1000 per frame: four fit (4088 bytes), the
     * fifth crosses 4096. */
    if (failed_at != 4 || strcmp(e, want) != 0) {
        fprintf(stderr, "failed at frame %d: %s\n", failed_at, e);
        return 4;
    }
    e[0] = '\0';
    if (qns_capture_add(c, 99000, frame, sizeof(frame), e) != -1 || strcmp(e, want) != 0) {
        return 5;
    }
    e[0] = '\0';
    if (qns_capture_close(c, e) != -1 || strcmp(e, want) != 0) {
        return 6;
    }
    return 0;
}

static void the_first_write_error_is_reported_and_kept(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "capture-efbig-%d.pcap", getpid());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(write_past_the_limit(path));
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 4096); /* as far as the limit let it */
    unlink(path);
}

/* Without a limit the same frames are written whole. */
static void frames_within_the_limit_are_written(void **state)
{
    (void)state;
    char path[64], e[QNS_ERRBUF_SIZE];
    snprintf(path, sizeof(path), "capture-ok-%d.pcap", getpid());
    qns_capture *c = qns_capture_open(path, e);
    assert_non_null(c);
    uint8_t frame[1000] = {0};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(qns_capture_add(c, (uint64_t)i * 1000, frame, sizeof(frame), e), 0);
    }
    assert_int_equal(qns_capture_close(c, e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 24 + 20 * (16 + 1000));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_first_write_error_is_reported_and_kept),
        cmocka_unit_test(frames_within_the_limit_are_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
