/*
 * qns_console.h - what a guest's console file shows, read once for
 * everyone who judges or prints it: the default guest's and the qns agent's
 * markers (QNS-GUEST: ready / error: TEXT, QNS-CMD-BEGIN, QNS-CMD-END
 * status=N), a kernel panic, and the lines of the command's own output.
 * Plain C.
 */
#ifndef QNS_CONSOLE_H
#define QNS_CONSOLE_H

#ifdef __cplusplus
extern "C"
{
#endif

#define QNS_CONSOLE_READY "QNS-GUEST: ready"
#define QNS_CONSOLE_ERROR "QNS-GUEST: error"
#define QNS_CONSOLE_CMD_BEGIN "QNS-CMD-BEGIN"
#define QNS_CONSOLE_CMD_END "QNS-CMD-END"
#define QNS_CONSOLE_PANIC "Kernel panic - "

    typedef struct qns_console {
        int ready;          /* "QNS-GUEST: ready", outside the command's output */
        char *setup_error;  /* the text after the first "QNS-GUEST: error: " outside
                               the command's output (what a command prints is its
                               own, not the guest's word); NULL: none */
        char *panic;        /* the first line's text from "Kernel panic - " on; NULL */
        int command_status; /* QNS-CMD-END status=N; -1: none */
        /* The lines a reader is shown, NULL-terminated, raw (escape them before
         * printing): the command's output (between QNS-CMD-BEGIN and
         * QNS-CMD-END) and every "QNS-GUEST: error" line. */
        char **shown;
    } qns_console;

    /* Reads the console file at path into out: 0, or -1 when it cannot be read
     * (out then shows nothing: command_status -1). qns_console_clear frees it. */
    int qns_console_read(const char *path, qns_console *out);
    void qns_console_clear(qns_console *console);

#ifdef __cplusplus
}
#endif

#endif
