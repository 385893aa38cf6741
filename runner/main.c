/*
 * main.c - the qns command: subcommands run, verify, pack and report, each
 * with its own GOptionContext and --help. What they do lives in run.c,
 * verify.c and report.c.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char commands_text[] =
    "Commands:\n"
    "  run FILE [-o DIR]     run a scenario file; outputs, a copy of the scenario and\n"
    "                        manifest.json go to DIR (default results/NAME-TIMESTAMP)\n"
    "  verify DIR|PACKAGE    re-run the scenario recorded in DIR (or a package from\n"
    "                        pack) and compare every output's SHA-256 with\n"
    "                        DIR/manifest.json, naming what differs in the environment\n"
    "  pack DIR [--with-qemu] [--force]\n"
    "                        write DIR.tar.zst: scenario, manifest, outputs, the\n"
    "                        guests' boot files, README.txt (and QEMU with firmware);\n"
    "                        an existing DIR.tar.zst only with --force\n"
    "  guest list            the default guest images in the cache (key, kernel, date)\n"
    "  guest import PACKAGE  copy a package's guest image into the cache\n"
    "  snapshot list         the snapshots in the cache (boot = snapshot): key, date,\n"
    "                        sizes, machine\n"
    "  report DIR            per-flow packets, bytes, throughput and RTT from DIR's\n"
    "                        pcaps; PNG plots in DIR/report/\n"
    "\n"
    "Run 'qns COMMAND --help' for a command's options.\n"
    "Exit status: 0 success, 1 the run failed or verify found a difference, 2 bad\n"
    "command line or scenario file, 128+N stopped by signal N (130 for Ctrl-C).";

/* Parses a subcommand's options; exactly `want` positional arguments. */
static int parse(const char *usage, const char *summary, GOptionEntry *entries, int *argc,
                 char ***argv, int want)
{
    GOptionContext *ctx = g_option_context_new(usage);
    g_option_context_set_summary(ctx, summary);
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *ge = NULL;
    int ok = g_option_context_parse(ctx, argc, argv, &ge);
    if (!ok) {
        rn_error("%s", ge->message);
        g_error_free(ge);
    } else if (*argc != want + 1) {
        rn_error("expected %s", usage);
        char *help = g_option_context_get_help(ctx, TRUE, NULL);
        fputs(help, stderr);
        g_free(help);
        ok = 0;
    }
    g_option_context_free(ctx);
    return ok ? 0 : -1;
}

static int cmd_run(int argc, char **argv)
{
    char *out = NULL;
    gboolean quiet = FALSE;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "Write outputs to DIR, new or empty (default results/NAME-YYYYmmdd-HHMMSS)", "DIR"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress display", NULL},
        G_OPTION_ENTRY_NULL};
    if (parse("FILE - run a scenario file",
              "Builds the simulation FILE describes, runs it on one virtual clock and writes\n"
              "pcaps, guest consoles, a copy of FILE (scenario.ini) and manifest.json into DIR.\n"
              "Progress: one live line on a terminal, a line every 5 s otherwise. Ctrl-C,\n"
              "SIGTERM or SIGHUP stops the run within 100 ms, whatever the guests do\n"
              "(captures complete, manifest written, exit 130/143/129). A guest that fails\n"
              "(set-up error, panic, command status, cut off by the duration) fails the\n"
              "run: exit 1.",
              entries, &argc, &argv, 1) < 0) {
        g_free(out);
        return RN_EXIT_USAGE;
    }
    rn_run_options opt = {.scenario_path = argv[1], .out_dir = out, .quiet = quiet};
    int status = rn_run(&opt);
    g_free(opt.out_dir_used);
    g_free(out);
    return status;
}

static int cmd_verify(int argc, char **argv)
{
    char *out = NULL;
    gboolean trust = FALSE;
    GOptionEntry entries[] = {{"output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
                               "Re-run into DIR (default RUNDIR/verify-YYYYmmdd-HHMMSS)", "DIR"},
                              {"trust-package", 0, 0, G_OPTION_ARG_NONE, &trust,
                               "Run the programs the scenario names (program =); refused without",
                               NULL},
                              G_OPTION_ENTRY_NULL};
    if (parse("RUNDIR|PACKAGE - re-run a finished run and compare its outputs",
              "Names what differs between the environment RUNDIR/manifest.json recorded and\n"
              "this one, runs RUNDIR/scenario.ini again and compares the SHA-256 of every\n"
              "output file with the manifest (and with the files kept in RUNDIR). Prints one\n"
              "line per file; exits 0 only when every file matches. A PACKAGE from qns pack\n"
              "is unpacked beside it first; packed guest images, inputs and QEMU are checked\n"
              "against the manifest and run instead of the installed ones. A scenario whose\n"
              "guests run programs of their own (program =) is refused: a run folder or a\n"
              "package may be a stranger's, and its programs would run as you; with\n"
              "--trust-package they run, each named first.",
              entries, &argc, &argv, 1) < 0) {
        g_free(out);
        return RN_EXIT_USAGE;
    }
    int status = rn_verify(argv[1], out, trust);
    g_free(out);
    return status;
}

static int cmd_pack(int argc, char **argv)
{
    gboolean with_qemu = FALSE, force = FALSE;
    GOptionEntry entries[] = {{"with-qemu", 0, 0, G_OPTION_ARG_NONE, &with_qemu,
                               "Also pack the patched qemu-system-x86_64 and the firmware it "
                               "loads",
                               NULL},
                              {"force", 'f', 0, G_OPTION_ARG_NONE, &force,
                               "Replace RUNDIR.tar.zst when it exists (else pack refuses)", NULL},
                              G_OPTION_ENTRY_NULL};
    if (parse("RUNDIR - make RUNDIR.tar.zst of a run",
              "Packs the scenario, the manifest, every output file, the files the guests\n"
              "booted from (the default guest image's GUEST-INFO, kernel and initramfs; own\n"
              "kernels, initrds and disks, with every backing file of a qcow2 disk) and a\n"
              "README.txt on how to verify it into RUNDIR.tar.zst. Every packed file must\n"
              "still have its manifest SHA-256, and a backing file must be named by a path\n"
              "relative to its image that stays in the scenario's folder. An existing\n"
              "RUNDIR.tar.zst is left alone (exit 2) unless --force is given.",
              entries, &argc, &argv, 1) < 0) {
        return RN_EXIT_USAGE;
    }
    return rn_pack(argv[1], with_qemu, force);
}

static int cmd_guest(int argc, char **argv)
{
    GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
    const char *sub = argc >= 2 ? argv[1] : "";
    if (strcmp(sub, "list") == 0) {
        if (parse("list - the default guest images in the cache",
                  "Lists every guest image of the qns cache (QNS_CACHE_DIR, else ~/.cache/qns):\n"
                  "its key, kernel release and build date; marks the one the build uses.",
                  entries, &argc, &argv, 1) < 0) {
            return RN_EXIT_USAGE;
        }
        return rn_guest_list();
    }
    if (strcmp(sub, "import") == 0) {
        if (parse("import PACKAGE - copy a package's guest image into the cache",
                  "Copies the default guest image a package from qns pack carries into the\n"
                  "cache as guest/KEY, after checking its files against the package's manifest.",
                  entries, &argc, &argv, 2) < 0) {
            return RN_EXIT_USAGE;
        }
        return rn_guest_import(argv[2]);
    }
    rn_error("expected 'qns guest list' or 'qns guest import PACKAGE'%s%s%s", *sub ? ", got '" : "",
             sub, *sub ? "'" : "");
    return RN_EXIT_USAGE;
}

static int cmd_snapshot(int argc, char **argv)
{
    GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
    const char *sub = argc >= 2 ? argv[1] : "";
    if (strcmp(sub, "list") == 0) {
        if (parse("list - the snapshots in the cache",
                  "Lists every snapshot of the default guest in the qns cache (QNS_CACHE_DIR,\n"
                  "else ~/.cache/qns), made by qns run for guests with boot = snapshot: its key,\n"
                  "when it was made, its RAM file's and stream's sizes on disk and the machine\n"
                  "it is of (memory, NICs).",
                  entries, &argc, &argv, 1) < 0) {
            return RN_EXIT_USAGE;
        }
        return rn_snapshot_list();
    }
    rn_error("expected 'qns snapshot list'%s%s%s", *sub ? ", got '" : "", sub, *sub ? "'" : "");
    return RN_EXIT_USAGE;
}

static int cmd_report(int argc, char **argv)
{
    gboolean no_plots = FALSE;
    GOptionEntry entries[] = {
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &no_plots, "Print the tables only, no gnuplot", NULL},
        G_OPTION_ENTRY_NULL};
    if (parse("DIR - flows, throughput and RTT from a run's captures",
              "Reads every DIR/*.pcap and prints, per capture, each IPv4 flow (protocol,\n"
              "addresses, ports) with packets, IP bytes, throughput over the flow's span and\n"
              "RTT statistics (ICMP echo request to reply; TCP data to its ACK, retransmitted\n"
              "segments excluded). Plots throughput and RTT over virtual time into\n"
              "DIR/report/*.png with gnuplot.",
              entries, &argc, &argv, 1) < 0) {
        return RN_EXIT_USAGE;
    }
    return rn_report(argv[1], !no_plots);
}

static int dispatch(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", cmd_run},
                {"verify", cmd_verify},
                {"pack", cmd_pack},
                {"report", cmd_report},
                {"guest", cmd_guest},
                {"snapshot", cmd_snapshot}};
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
            if (strcmp(argv[1], cmds[i].name) == 0) {
                /* "qns run ..." parses as program "qns run" with the rest. */
                char *prog = g_strdup_printf("qns %s", argv[1]);
                g_set_prgname(prog);
                argv[1] = prog;
                int status = cmds[i].fn(argc - 1, argv + 1);
                g_free(prog);
                return status;
            }
        }
        char *word = rn_quote(argv[1]);
        rn_error("unknown command '%s'; run 'qns --help'", word);
        g_free(word);
        return RN_EXIT_USAGE;
    }
    gboolean version = FALSE;
    GOptionEntry entries[] = {
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the qns version", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("COMMAND [ARGS...] - QEMU guests inside ns-3");
    g_option_context_set_summary(ctx, "Runs scenarios of QEMU guests and ns-3 nodes on one "
                                      "virtual clock, and checks that re-runs are identical.");
    g_option_context_set_description(ctx, commands_text);
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *ge = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &ge)) {
        rn_error("%s", ge->message);
        g_error_free(ge);
        g_option_context_free(ctx);
        return RN_EXIT_USAGE;
    }
    int status = RN_EXIT_OK;
    if (version) {
        printf("qns %s\n", QNS_VERSION);
    } else {
        char *help = g_option_context_get_help(ctx, TRUE, NULL);
        fputs(help, argc > 1 ? stdout : stderr);
        g_free(help);
        status = argc > 1 ? RN_EXIT_OK : RN_EXIT_USAGE;
    }
    g_option_context_free(ctx);
    return status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Under mpirun -np N: one rank of a split run (run.c). */
    char e[QNS_ERRBUF_SIZE];
    int ranks = qns_ranks_start(&argc, &argv, e);
    if (ranks < 0) {
        rn_error("%s", e);
        return RN_EXIT_USAGE;
    }
    int status;
    if (ranks > 1 && (argc < 2 || strcmp(argv[1], "run") != 0)) {
        if (qns_rank() == 0) {
            rn_error("only 'qns run' runs across MPI ranks (mpirun started %d processes)", ranks);
        }
        status = RN_EXIT_USAGE;
    } else {
        status = dispatch(argc, argv);
    }
    qns_ranks_end();
    return status;
}
